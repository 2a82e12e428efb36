-- wrk script: POST /v1/recommendations with fixed 5-item histories of ML-1M movies (original
-- MovieLens ids, all in ML-1M), cycling so every run sends the same requests.
dofile("bench/wrk/common.lua")
local histories = {
  '["1", "2355", "3114", "588", "595"]',        -- Toy Story, A Bug's Life, Toy Story 2, Aladdin, Beauty and the Beast
  '["260", "1196", "1210", "2571", "1240"]',    -- Star Wars IV-VI, The Matrix, The Terminator
  '["858", "1221", "1213", "296", "593"]',      -- Godfather I-II, Goodfellas, Pulp Fiction, Silence of the Lambs
  '["2858", "2959", "2997", "1704", "3578"]',   -- American Beauty, Fight Club, Being John Malkovich, Good Will Hunting, Gladiator
  '["318", "356", "527", "110", "2028"]',       -- Shawshank, Forrest Gump, Schindler's List, Braveheart, Saving Private Ryan
}
local bodies = {}
for i, h in ipairs(histories) do bodies[i] = '{"history": ' .. h .. ', "k": 10}' end
local counter = 0

request = function()
  counter = counter + 1
  return wrk.format("POST", "/v1/recommendations", { ["Content-Type"] = "application/json" }, bodies[(counter % #bodies) + 1])
end
