-- wrk script: POST /credits/charges, one photo, a fresh Idempotency-Key per request. Arguments (after `--`): a tag
-- that makes this run's keys unique, then one access token per account, used in turn.
local counter = 0
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

function init(args)
  tag = args[1]
  tokens = {}
  for i = 2, #args do
    tokens[#tokens + 1] = "Bearer " .. args[i]
  end
end

function request()
  counter = counter + 1
  local headers = {
    ["Authorization"] = tokens[(counter % #tokens) + 1],
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = tag .. "-" .. thread_id .. "-" .. counter,
  }
  return wrk.format("POST", nil, headers, '{"unit":"photo","quantity":1}')
end
