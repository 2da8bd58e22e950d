#!/usr/bin/env bash
# Webhook ingestion measured from outside the server: the release `rampart serve` on a
# fresh data directory (SQLite, or PostgreSQL with `postgres` and RAMPART_TEST_DATABASE_URL
# set), loaded by Debian's `wrk` (a separate process, 64 connections, HTTPS) with
# Alertmanager v4 deliveries of 10 alerts (scripts/load/alertmanager.lua), next to
# `GET /healthz` of the same server as the baseline. Phases: baseline at full speed,
# webhooks at full speed, webhooks paced near 5 000 events/s (latency). BENCHMARKS.md
# records the results; run on an otherwise idle machine.
#
#   scripts/load/webhook-load.sh [sqlite|postgres|postgres2] [seconds per phase, default 20]
#
# postgres2: two replicas on one PostgreSQL schema (the second joined with `admin join`),
# each loaded by its own wrk with half the connections, both sending the same alert
# groups; prints each replica's rate (add them) and the deadlocks PostgreSQL broke.
#
# RAMPART_BIN=target/debug/rampart skips the release build (scripts/load/server.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
engine="${1:-sqlite}"
seconds="${2:-20}"
connections=64

command -v wrk >/dev/null 2>&1 || {
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq wrk
}
source scripts/load/server.sh
load_server_setup "$engine"
replicas=1
[ "$engine" = postgres2 ] && replicas=2
start_replica 1
api -d '{"identifier": "load", "name": "Load"}' "$project/services" >/dev/null
created="$(api -d '{"name": "Alertmanager", "format": "alertmanager", "auth_mode": "bearer",
  "rate_limit_per_minute": 6000000}' "$project/services/load/integrations")"
export HOOK_PATH="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["integration"]["url_path"])' <<<"$created")"
export HOOK_TOKEN="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])' <<<"$created")"
[ "$replicas" -eq 2 ] && start_replica 2

if [ "$replicas" -eq 1 ]; then
  echo "== $engine: baseline GET /healthz, full speed, $connections connections, ${seconds}s"
  wrk -t2 -c"$connections" -d"${seconds}s" --latency "$url/healthz" | grep -E "Requests/sec|50%|99%"
  echo "== $engine: webhooks, full speed"
  wrk -t2 -c"$connections" -d"${seconds}s" -s scripts/load/alertmanager.lua "$url"
  # 500 deliveries/s = 5 000 events/s on a fixed schedule (the latency goal's rate).
  echo "== $engine: webhooks at 5 000 events/s"
  EVENTS_PER_SECOND=5000 WRK_THREADS=2 wrk -t2 -c"$connections" -d"${seconds}s" -s scripts/load/alertmanager.lua "$url"
else
  # Two wrk processes, half the connections each, one per replica, sending the same
  # alert groups (GROUP_SEED); the combined rate is the sum of the two lines.
  deadlocks() { psql "$RAMPART_TEST_DATABASE_URL" -tAc "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"; }
  before="$(deadlocks)"
  echo "== $engine: webhooks to two replicas at once, full speed, same groups"
  wrk_pids=()
  for n in 0 1; do
    GROUP_SEED=4242 wrk -t1 -c$((connections / 2)) -d"${seconds}s" \
      -s scripts/load/alertmanager.lua "${urls[$n]}" >"$work/wrk$n.txt" &
    wrk_pids+=($!)
  done
  wait "${wrk_pids[@]}"
  sleep 1
  for n in 0 1; do echo "-- replica $((n + 1))"; cat "$work/wrk$n.txt" | grep -E "events/s|latency"; done
  echo "PostgreSQL deadlocks during the run: $(( $(deadlocks) - before ))"
fi
for n in $(seq "$replicas"); do
  errors="$(grep -c '"level":"ERROR"' "$work/serve$n.log" || true)"
  echo "replica $n: $errors error lines in its log"
done
