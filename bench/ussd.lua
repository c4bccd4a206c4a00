-- wrk script: each wrk thread is one simulated phone at a time, dialling the USSD code and walking through
-- registration and the demo poll hop by hop (a thread waits for each screen before the next hop).
-- Set by the benchmark: BENCH_RUN (keeps session ids apart between runs) and BENCH_PHONES_FROM (the first
-- phone number's digits after +2547: runs that must not meet each other's registered phones differ).
local hops = {"", "1", "98", "98", "2007", "1", "47", "1", "98", "98", "1", "2", "1", "2", "15", "more lights"}
local run = os.getenv("BENCH_RUN") or "0"
local phones_from = tonumber(os.getenv("BENCH_PHONES_FROM") or "20000000")
local threads = {}
local counter = 0

setup = function(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

local function urlencode(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local session, step, path = 0, 1, ""
ends, invalid, bad = 0, 0, 0  -- globals: done() reads them from each thread

request = function()
  local phone = string.format("+2547%08d", phones_from + tid * 10000 + session % 10000)
  local body = "sessionId=bench-" .. run .. "-" .. tid .. "-" .. session
    .. "&serviceCode=%2A384%2A123%23&networkCode=63902&phoneNumber=" .. urlencode(phone)
    .. "&text=" .. urlencode(path)
  return wrk.format("POST", nil, {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end

response = function(status, headers, body)
  if status ~= 200 or not (body:sub(1, 4) == "CON " or body:sub(1, 4) == "END ") then bad = bad + 1 end
  if body:find("Invalid choice", 1, true) then invalid = invalid + 1 end
  step = step + 1
  if body:sub(1, 4) == "END " or step > #hops then
    if body:sub(1, 4) == "END " then ends = ends + 1 end
    session, step, path = session + 1, 1, ""
  elseif step == 2 then
    path = hops[2]
  else
    path = path .. "*" .. hops[step]
  end
end

done = function(summary, latency, requests)
  local e, i, b = 0, 0, 0
  for _, thread in ipairs(threads) do
    e, i, b = e + thread:get("ends"), i + thread:get("invalid"), b + thread:get("bad")
  end
  io.write(string.format(
    "RESULT requests=%d seconds=%.6f p50=%.3f p95=%.3f p99=%.3f errors=%d ends=%d invalid=%d bad=%d\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout, e, i, b))
end
