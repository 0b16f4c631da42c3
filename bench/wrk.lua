-- wrk script: rotates through the credentials in the file given after `--`,
-- one `Authorization: Bearer` per request, and prints a JSON summary.
-- The second argument is the status every response should have (default 200);
-- `unexpected` counts the others. For 200 it is wrk's own count of statuses
-- above 399 (no per-response callback, which would slow wrk down); for any
-- other status a response() callback counts them.
local threads = {}
local requests = {}
local i = 0
expected = 200
unexpected = 0

function setup(thread)
  threads[#threads + 1] = thread
end

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then
      requests[#requests + 1] = wrk.format("GET", wrk.path, { ["Authorization"] = "Bearer " .. line })
    end
  end
  expected = tonumber(args[2] or "200")
  if expected ~= 200 then
    response = function(status, _, _)
      if status ~= expected then unexpected = unexpected + 1 end
    end
  end
end

function request()
  i = i % #requests + 1
  return requests[i]
end

function done(summary, latency, _)
  local e = summary.errors
  local wrong = 0
  local counted = false
  for _, thread in ipairs(threads) do
    if thread:get("expected") ~= 200 then
      counted = true
      wrong = wrong + thread:get("unexpected")
    end
  end
  if not counted then wrong = e.status end
  io.write(string.format(
    'BENCHJSON {"requests":%d,"durationUs":%d,"unexpected":%d,"socketErrors":%d,"p50Us":%d,"p99Us":%d,"meanUs":%.1f}\n',
    summary.requests, summary.duration, wrong, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
