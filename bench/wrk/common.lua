-- Shared helpers for the wrk scripts in bench/wrk (loaded with dofile by the others).
-- Each wrk thread runs its own Lua state: setup() numbers the threads, response() tallies
-- status codes per thread, and done() sums them and prints one machine-readable RESULT line
-- that the bench scripts parse (latencies in milliseconds).

local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("id", next_id)
  table.insert(threads, thread)
end

ok2xx = 0          -- per-thread globals, read back in done() with thread:get
other = 0
codes = ""         -- "status:count" pairs of non-2xx answers, e.g. "503:4,"
local code_counts = {}

function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok2xx = ok2xx + 1
  else
    other = other + 1
    code_counts[status] = (code_counts[status] or 0) + 1
    local parts = {}
    for c, n in pairs(code_counts) do parts[#parts + 1] = c .. ":" .. n end
    codes = table.concat(parts, ",")
  end
end

function done(summary, latency, requests)
  local ok, bad, merged = 0, 0, {}
  for _, t in ipairs(threads) do
    ok = ok + t:get("ok2xx")
    bad = bad + t:get("other")
    for c, n in string.gmatch(t:get("codes"), "(%d+):(%d+)") do
      merged[c] = (merged[c] or 0) + tonumber(n)
    end
  end
  local list = {}
  for c, n in pairs(merged) do list[#list + 1] = c .. "=" .. n end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d ok2xx=%d non2xx=%d seconds=%.3f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f " ..
    "connect_err=%d read_err=%d write_err=%d timeout_err=%d codes=%s\n",
    summary.requests, ok, bad, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.connect, e.read, e.write, e.timeout, (#list > 0) and table.concat(list, ",") or "none"))
end

-- The 200 most-rated movieIds of MovieLens ml-latest-small (all in the bundled catalog).
items = {
  1,2,6,10,16,19,21,32,34,39,47,50,95,104,110,111,141,150,153,161,165,185,208,223,231,253,260,
  288,292,293,296,316,318,329,339,344,349,356,357,364,367,377,380,410,434,454,457,480,500,527,
  539,541,551,586,587,588,589,590,592,593,595,597,608,648,733,736,750,778,780,788,858,904,912,
  919,924,1036,1073,1080,1089,1097,1101,1136,1193,1196,1197,1198,1200,1206,1208,1210,1213,1214,
  1219,1220,1221,1222,1240,1246,1258,1259,1265,1270,1291,1307,1356,1387,1391,1393,1517,1527,
  1580,1584,1610,1617,1653,1682,1704,1721,1732,1784,1917,1923,1961,1968,2011,2012,2028,2115,
  2174,2324,2329,2355,2396,2502,2571,2617,2628,2683,2706,2716,2762,2791,2797,2858,2916,2918,
  2959,2987,2997,3114,3147,3578,3793,3897,3948,3949,3996,4011,4022,4027,4226,4306,4878,4886,
  4896,4963,4973,4993,4995,5218,5349,5378,5418,5445,5618,5816,5952,5989,6365,6377,6539,6874,
  7153,7361,7438,8360,8368,8961,32587,33794,44191,48516,48780,58559,59315,60069,68157,68954,
  72998,79132,
}

kinds = { "view", "click", "like", "watch", "favourite", "purchase" }
