-- wrk script: JSON password login.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"username":"bench@example.com","password":"benchmark password"}'
