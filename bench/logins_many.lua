-- wrk script: JSON password logins spread over ACCOUNTS accounts (bench1@example.com … benchN@example.com, all with
-- the benchmark password), one picked at random per request.
local accounts = tonumber(os.getenv("ACCOUNTS") or "64")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

request = function()
  local body = string.format('{"username":"bench%d@example.com","password":"benchmark password"}',
    math.random(accounts))
  return wrk.format(nil, nil, nil, body)
end
