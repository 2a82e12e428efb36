-- wrk script: POST /v1/feedback, BATCH events per request (1 = one JSON object, otherwise an array).
-- Usage: wrk ... -s bench/wrk/feedback.lua URL -- API_KEY [BATCH] [USER_PREFIX]
-- Users are PREFIX<thread>-<n> with n cycling over 5,000 per thread; items cycle over the 200
-- most-rated movieIds (common.lua) with a stride, kinds over view/click/like/watch/favourite/purchase.
-- Every request is new (users and items keep changing); wrk's "Non-2xx" and the RESULT line
-- count rejected ones.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "common.lua")

local headers, batch, prefix, counter = nil, 1, "b", 0

function init(args)
  headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. (args[1] or "") }
  batch = tonumber(args[2] or "1")
  prefix = args[3] or "b"
end

local function event()
  counter = counter + 1
  return string.format('{"user":"%s%d-%d","item":"%d","kind":"%s"}', prefix, id, counter % 5000,
    items[(counter * 7) % #items + 1], kinds[counter % #kinds + 1])
end

function request()
  if batch == 1 then return wrk.format("POST", "/v1/feedback", headers, event()) end
  local parts = {}
  for i = 1, batch do parts[i] = event() end
  return wrk.format("POST", "/v1/feedback", headers, "[" .. table.concat(parts, ",") .. "]")
end
