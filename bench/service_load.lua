-- wrk script for bench/service_load.sh: each connection cycles through the paths in
-- $BENCH_PATHS (comma-separated, e.g. "/v1/runs/1,/v1/runs/1/exceptions?kind=no_account"),
-- with "Authorization: Bearer $BENCH_TOKEN", and the run counts the answers by status.
-- Each wrk thread takes the next path for each request it sends, so the mix is even throughout.
-- At the end it prints one line per status, "status CODE COUNT", which service_load.sh reads.

local paths = {}
for path in string.gmatch(os.getenv("BENCH_PATHS") or "/v1/runs/1", "[^,]+") do
  paths[#paths + 1] = path
end
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_TOKEN") or "")
wrk.headers["Accept"] = "application/json"

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  threads[#threads + 1] = thread
end

function init(args)
  counter = id or 0
  statuses = {}
end

function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses")
    for status, count in pairs(counts or {}) do
      total[status] = (total[status] or 0) + count
    end
  end
  for status, count in pairs(total) do
    io.write(string.format("status %d %d\n", status, count))
  end
end
