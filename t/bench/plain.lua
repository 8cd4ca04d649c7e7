-- wrk: one fixed request (BENCH_METHOD, BENCH_PATH, optional BENCH_BODY
-- file), for token rejections and nginx's own "return 204".

local method = os.getenv("BENCH_METHOD") or "GET"
local path = os.getenv("BENCH_PATH") or "/"
local body = nil
local file = os.getenv("BENCH_BODY")

if file then
    local f = assert(io.open(file, "rb"))
    body = f:read("*a")
    f:close()
end

local req = wrk.format(method, path,
                       { ["Content-Type"] = "application/json" }, body)

request = function()
    return req
end

done = function(summary, latency, requests)
    io.write(string.format("RESULT rps=%.1f p50_ms=%.3f p99_ms=%.3f "
        .. "non2xx=%d errors=%d\n",
        summary.requests / (summary.duration / 1e6),
        latency:percentile(50) / 1000, latency:percentile(99) / 1000,
        summary.errors.status, summary.errors.connect
        + summary.errors.read + summary.errors.write
        + summary.errors.timeout))
end
