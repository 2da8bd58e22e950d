-- wrk script: Alertmanager webhook v4 deliveries of 10 alerts each, as a separate process
-- would send them. Half the deliveries open a new alert group (10 new alerts, a new
-- incident), half repeat a recent group of the same connection (10 deduplicated alerts).
-- Environment: HOOK_PATH (the integration's url_path), HOOK_TOKEN (its bearer token),
-- PACE_MS (optional: each connection waits this long between deliveries, for a fixed
-- rate; 0 or unset: full speed), GROUP_SEED (optional: the same seed in two wrk
-- processes makes them send the same alert groups, as an Alertmanager HA pair's traffic
-- split between two replicas would).

local path = os.getenv("HOOK_PATH")
local token = os.getenv("HOOK_TOKEN")
local pace = tonumber(os.getenv("PACE_MS") or "0")
local seed = tonumber(os.getenv("GROUP_SEED") or "0")
local threads = 0

function setup(thread)
  thread:set("thread_id", threads)
  threads = threads + 1
end

local sent = 0
local id = 0

local salt = 0

function init(args)
  id = thread_id or 0
  math.randomseed(os.time() * 100 + id)
  -- Groups are unique per thread and per run: thread, a random salt, the delivery count
  -- (kept below 2^53 so that the double stays exact).
  local random = math.random(1, 999999)
  if seed > 0 then
    random = seed
  end
  salt = (id * 1000000 + random) * 1000000
end

local function delivery(group)
  local alerts = {}
  for n = 0, 9 do
    alerts[#alerts + 1] = string.format(
      '{"status":"firing","labels":{"alertname":"HighLatency","instance":"web-%d","severity":"warning"},' ..
      '"annotations":{"summary":"p99 above 2s on web-%d"},"startsAt":"2026-11-23T10:00:00Z",' ..
      '"generatorURL":"http://prometheus/graph","fingerprint":"%.0f-%d"}', n, n, group, n)
  end
  return string.format(
    '{"version":"4","groupKey":"{}:{alertname=\\"HighLatency\\",group=\\"%.0f\\"}","truncatedAlerts":0,' ..
    '"status":"firing","receiver":"rampart","groupLabels":{},"commonLabels":{},"commonAnnotations":{},' ..
    '"externalURL":"http://alertmanager:9093","alerts":[%s]}', group, table.concat(alerts, ","))
end

request = function()
  sent = sent + 1
  -- Even deliveries are new groups; odd ones repeat the group sent 11 deliveries earlier.
  local base = salt
  local group
  if sent % 2 == 0 or sent < 12 then
    group = base + sent
  else
    group = base + sent - 11
  end
  return wrk.format("POST", path, {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, delivery(group))
end

if pace > 0 then
  function delay()
    return pace
  end
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  io.write(string.format("deliveries/s %.0f  events/s %.0f  non-2xx %d  errors %d\n",
    summary.requests / seconds, summary.requests * 10 / seconds,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
  io.write(string.format("latency p50 %.2f ms  p99 %.2f ms  max %.2f ms\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
