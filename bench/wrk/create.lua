-- POST /Users with a unique, realistic Entra-shaped user per request.
local counter = 0
local thread_id = 0
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function init(args)
  token = os.getenv("TOKEN")
end
request = function()
  counter = counter + 1
  local name = string.format("%s-t%d-u%d@bench.example", os.getenv("RUN") or "r", tid, counter)
  local body = string.format([[{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"externalId":"x-%s","userName":"%s","active":true,"emails":[{"primary":true,"type":"work","value":"%s"}],"name":{"formatted":"Ann Lee","familyName":"Lee","givenName":"Ann"},"title":"Cashier","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Retail","employeeNumber":"%d"},"urn:ietf:params:scim:schemas:extension:mobietrain:2.0:User":{"storeRefId":"S1","storeName":"Gent","storeCountryCallingCode":"32"}}]], name, name, name, counter)
  return wrk.format("POST", "/scim/v2/Users", {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/scim+json"}, body)
end
