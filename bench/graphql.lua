-- wrk script: POST GraphQL requests and count the ones that failed.
--   BODY: a file with one JSON request body, sent every time; or
--   QUERY + IDS (+ OFFSET): a GraphQL document taking $id, sent once per line of the IDS file
--   (from line OFFSET on), so that every request is a new one (enrollments).
--   KEY: an API key sent as a bearer token.
-- Prints: RESULT rps=... p50_ms=... p99_ms=... failed=... requests=...
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local key = os.getenv("KEY")
if key and key ~= "" then wrk.headers["Authorization"] = "Bearer " .. key end

local body_file = os.getenv("BODY")
local ids, next_id, query = {}, 1, os.getenv("QUERY")
if body_file then
  local f = assert(io.open(body_file, "r"))
  wrk.body = f:read("*a")
  f:close()
else
  for line in io.lines(os.getenv("IDS")) do ids[#ids + 1] = line end
  next_id = tonumber(os.getenv("OFFSET") or "0") + 1
end

request = function()
  if body_file then return wrk.format() end
  local id = ids[next_id] or ids[#ids]
  next_id = next_id + 1
  local body = string.format('{"query": "%s", "variables": {"id": "%s"}}', query, id)
  return wrk.format(nil, nil, nil, body)
end

-- Counted in each thread's state (a global, so that `done` can read it through the thread).
failed = 0
local threads = {}
setup = function(thread) table.insert(threads, thread) end

response = function(status, headers, body)
  if status ~= 200 or body:find('"errors"', 1, true) then
    failed = failed + 1
    if failed <= 3 then io.stderr:write("failed: " .. status .. " " .. body:sub(1, 300) .. "\n") end
  end
end

done = function(summary, latency, requests)
  local failures = summary.errors.status or 0
  for _, thread in ipairs(threads) do failures = failures + (thread:get("failed") or 0) end
  io.write(string.format("RESULT rps=%.1f p50_ms=%.2f p99_ms=%.2f failed=%d requests=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    failures, summary.requests))
end
