-- wrk script: POST /v1/recommendations with favourites lists of 3 to 5 MovieLens items, cycling
-- through a fixed set so every run sends the same requests. Non-2xx answers are counted as errors.
local histories = {
  '["1", "2355", "3114"]',                    -- Toy Story, A Bug's Life, Toy Story 2
  '["260", "1196", "1210", "2571"]',          -- Star Wars IV-VI, The Matrix
  '["858", "1221", "1213", "296", "593"]',    -- Godfather I-II, Goodfellas, Pulp Fiction, Silence of the Lambs
  '["4973", "2959", "7361"]',                 -- Amélie, Fight Club, Eternal Sunshine
  '["318", "356", "527", "110"]',             -- Shawshank, Forrest Gump, Schindler's List, Braveheart
}
local bodies = {}
for i, h in ipairs(histories) do bodies[i] = '{"history": ' .. h .. ', "k": 10}' end
local counter = 0
local non2xx = 0

request = function()
  counter = counter + 1
  return wrk.format("POST", "/v1/recommendations", { ["Content-Type"] = "application/json" }, bodies[(counter % #bodies) + 1])
end

response = function(status, headers, body)
  if status < 200 or status >= 300 then non2xx = non2xx + 1 end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("requests: %d in %.2fs = %.0f req/s\n", summary.requests, summary.duration / 1e6,
    summary.requests / (summary.duration / 1e6)))
  io.write(string.format("latency p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
  io.write(string.format("socket errors: connect %d, read %d, write %d, timeout %d; non-2xx: see 'Non-2xx' above\n",
    e.connect, e.read, e.write, e.timeout))
end
