-- wrk: assignment webhooks for random linked issues, alternating between
-- two member users so that most deliveries change the assignee.
-- Environment: JIRA_TOKEN (the URL token), BENCH_KEYS (issue count).

local token = os.getenv("JIRA_TOKEN")
local keys = tonumber(os.getenv("BENCH_KEYS") or "1000")
local path = "/extensions/jira-server/issue-updated/" .. token .. "/"
local headers = { ["Content-Type"] = "application/json" }

local template = '{"timestamp":1700000000000,"webhookEvent":'
    .. '"jira:issue_updated","issue_event_type_name":"issue_assigned",'
    .. '"issue":{"id":"10042","key":"B-%d","fields":{"assignee":'
    .. '{"name":"bench%d","key":"JIRAUSER1000%d","emailAddress":'
    .. '"bench%d@example.com","displayName":"Bench","active":true},'
    .. '"status":{"id":"1","name":"Open"}}},"changelog":{"id":"%s",'
    .. '"items":[{"field":"assignee","fieldtype":"jira","from":null,'
    .. '"to":"JIRAUSER1000%d","toString":"Bench"}]}}'

local n = 0
local threads = 0

-- every wrk thread gets its own random sequence: with the same seed the
-- threads would pick the same issues at the same moment and wait on each
-- other's row locks, and repeat each other's changelog ids
function setup(thread)
    threads = threads + 1
    thread:set("tid", threads)
end

function init(args)
    math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
end

request = function()
    n = n + 1
    local k = math.random(1, keys)
    local u = math.random(1, 2)
    -- a changelog id no other delivery has: none is a duplicate
    local id = string.format("%d-%d-%d", tid or 0, n, math.random(1, 2^30))
    local body = string.format(template, k, u, u, u, id, u)
    return wrk.format("POST", path, headers, body)
end

-- optional pacing for latency runs: BENCH_DELAY_MS per connection
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
if pause > 0 then
    delay = function() return pause end
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
