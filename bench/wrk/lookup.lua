-- GET /Users?filter=userName eq "<an existing user, chosen at random>".
function init(args)
  token = os.getenv("TOKEN")
  max = tonumber(os.getenv("MAX") or "1000")
  math.randomseed(os.time())
end
request = function()
  local n = math.random(1, max)
  local path = string.format("/scim/v2/Users?filter=userName%%20eq%%20%%22%s-t0-u%d@bench.example%%22", os.getenv("RUN") or "r", n)
  return wrk.format("GET", path, {["Authorization"] = "Bearer " .. token})
end
