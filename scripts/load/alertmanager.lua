-- wrk script: Alertmanager webhook v4 deliveries of 10 alerts each, as a separate process
-- would send them. Half the deliveries open a new alert group (10 new alerts, a new
-- incident), half repeat a recent group of the same connection (10 deduplicated alerts).
-- Environment: HOOK_PATH (the integration's url_path), HOOK_TOKEN (its bearer token),
-- EVENTS_PER_SECOND (optional: the rate to send at, all threads together, on a fixed
-- schedule — each thread sends its share at evenly spaced instants read from the
-- monotonic clock, so a slow answer does not lower the rate as a pause after each
-- answer would; 0 or unset: full speed; WRK_THREADS must then be wrk's -t), GROUP_SEED (optional: the same seed in two wrk
-- processes makes them send the same alert groups, as an Alertmanager HA pair's traffic
-- split between two replicas would).

local path = os.getenv("HOOK_PATH")
local token = os.getenv("HOOK_TOKEN")
local rate = tonumber(os.getenv("EVENTS_PER_SECOND") or "0")
local thread_count = tonumber(os.getenv("WRK_THREADS") or "1")
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

if rate > 0 then
  -- Debian's wrk runs LuaJIT: its FFI reads CLOCK_MONOTONIC (1) in milliseconds.
  local ffi = require("ffi")
  ffi.cdef [[
    typedef struct { long tv_sec; long tv_nsec; } rampart_timespec;
    int clock_gettime(int clock_id, rampart_timespec *now);
  ]]
  local clock = ffi.new("rampart_timespec")
  local function now_ms()
    ffi.C.clock_gettime(1, clock)
    return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
  end
  local next_at = nil
  -- Called before each request of any of the thread's connections: the next slot of
  -- the thread's schedule (deliveries of 10 events), late slots at once.
  function delay()
    local interval = 1000 * 10 * thread_count / rate
    local now = now_ms()
    if next_at == nil then
      next_at = now
    end
    next_at = next_at + interval
    local wait = next_at - now
    if wait < 0 then
      return 0
    end
    return math.floor(wait)
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
