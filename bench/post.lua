-- wrk: POST the file named by BODY (an environment variable) to every request, with the
-- headers of the file named by HEADERS (optional, one "Name: value" a line): a provider's
-- signature or credentials, and its Content-Type.
local f = assert(io.open(os.getenv("BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
wrk.headers["Content-Type"] = "application/json"
f:close()
local headers = os.getenv("HEADERS")
if headers and headers ~= "" then
  for line in io.lines(headers) do
    local name, value = line:match("^([^:]+):%s*(.*)$")
    if name then wrk.headers[name] = value end
  end
end
