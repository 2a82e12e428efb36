-- wrk script: GET /v1/users/{id}/recommendations?k=10 for MovieLens users 1..610 in a
-- pseudo-random order (seeded per thread, so runs repeat).
-- Usage: wrk ... -s bench/wrk/recommendations-get.lua URL
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "common.lua")

function init(args)
  math.randomseed(1000 + id)
end

function request()
  return wrk.format("GET", "/v1/users/" .. math.random(1, 610) .. "/recommendations?k=10")
end
