-- wrk script: N inbound-SMS callbacks from P phones, each phone walking through ANSWERS in order,
-- from answer BENCH_FIRST on (0: JOIN; 5: the first poll answer, for phones registered beforehand).
-- Set by the benchmark through environment variables: BENCH_MESSAGES, BENCH_PHONES, BENCH_RUN, BENCH_FIRST.
-- After BENCH_MESSAGES requests it sends repeats of earlier ones (same gateway id: answered 200, ignored)
-- until the benchmark stops it; the trivial endpoint runs for a fixed time instead.
local answers = {"JOIN", "2007", "1", "47", "1", "1", "2", "yes", "no", "15", "more street lights"}
local total = tonumber(os.getenv("BENCH_MESSAGES") or "5000")
local phones = tonumber(os.getenv("BENCH_PHONES") or "1000")
local run = os.getenv("BENCH_RUN") or "0"
local first = tonumber(os.getenv("BENCH_FIRST") or "0")
local sent = 0

local function urlencode(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

request = function()
  local i = sent % total
  sent = sent + 1
  local phone, step = i % phones, math.floor(i / phones) + first
  local body = "from=" .. urlencode(string.format("+2547%08d", 11000000 + phone))
    .. "&to=12345&date=2026-11-24+10%3A00%3A00&networkCode=63902"
    .. "&id=bench-" .. run .. "-" .. i
    .. "&text=" .. urlencode(answers[(step % #answers) + 1])
  return wrk.format("POST", nil, {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end

response = function(status, headers, body)
  if status ~= 200 then io.stderr:write("status " .. status .. "\n") end
end

done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d seconds=%.6f p50=%.3f p99=%.3f errors=%d\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout))
end
