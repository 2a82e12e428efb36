-- wrk script for scripts/fleet-demo.sh: POST /v1/feedback with one event per request, each
-- for a user never used before ("fleet-<thread>-<counter>"), so the store's count of
-- user_id LIKE 'fleet-%' can be compared with the acknowledged (2xx) requests.
-- Usage: wrk ... -s bench/wrk/fleet-write.lua URL -- API_KEY
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "common.lua")

local headers, counter = nil, 0

function init(args)
  headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. (args[1] or "") }
end

function request()
  counter = counter + 1
  local body = string.format('{"user":"fleet-%d-%d","item":"%d","kind":"like"}', id, counter,
    items[counter % #items + 1])
  return wrk.format("POST", "/v1/feedback", headers, body)
end
