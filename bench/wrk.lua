-- wrk script: rotates through the credentials in the file given after `--`,
-- one `Authorization: Bearer` per request, and prints a JSON summary.
local requests = {}
local i = 0

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then
      requests[#requests + 1] = wrk.format("GET", wrk.path, { ["Authorization"] = "Bearer " .. line })
    end
  end
end

function request()
  i = i % #requests + 1
  return requests[i]
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"durationUs":%d,"non2xx":%d,"socketErrors":%d,"p50Us":%d,"p99Us":%d,"meanUs":%.1f}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
