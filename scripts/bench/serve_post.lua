-- wrk script for scripts/bench/serve_load.sh: POST the CSV file named by BODY to /predict
-- on every request, and report p50/p99 latency and the errors (status: answers >= 400).
local path = os.getenv("BODY")
local file = assert(io.open(path, "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "text/csv"

-- No `response` callback: wrk counts answers with a status of 400 and above itself
-- (`errors.status` below), and a callback makes wrk copy every answer's headers and body
-- into Lua (measured: about 1 of wrk's 14-15 µs of CPU per request).

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  io.write(string.format("requests %d in %.1f s: %.0f requests/s\n",
    summary.requests, seconds, summary.requests / seconds))
  io.write(string.format("latency p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, max %.3f ms\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
  local e = summary.errors
  io.write(string.format("errors: connect %d, read %d, write %d, timeout %d, status %d\n",
    e.connect, e.read, e.write, e.timeout, e.status))
end
