-- GET of one fixed path (PATH_TO_GET), e.g. /scim/v2/Users/<id>.
function init(args) token = os.getenv("TOKEN") end
request = function()
  return wrk.format("GET", os.getenv("PATH_TO_GET"), {["Authorization"] = "Bearer " .. token})
end
