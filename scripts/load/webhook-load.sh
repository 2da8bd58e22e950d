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
# RAMPART_BIN=target/debug/rampart skips the release build (to check the harness itself;
# figures come from the release binary only).
set -euo pipefail
cd "$(dirname "$0")/../.."
engine="${1:-sqlite}"
seconds="${2:-20}"
connections=64

command -v wrk >/dev/null 2>&1 || {
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq wrk
}
bin="${RAMPART_BIN:-target/release/rampart}"
[ -n "${RAMPART_BIN:-}" ] || cargo build --release --locked -p rampart-cli --bin rampart

work="$(mktemp -d)"
server_pids=()
cleanup() {
  for pid in "${server_pids[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
env_args=(RAMPART_LOG__LEVEL=warn)
replicas=1
case "$engine" in
  sqlite) ;;
  postgres|postgres2)
    : "${RAMPART_TEST_DATABASE_URL:?set RAMPART_TEST_DATABASE_URL to a PostgreSQL server}"
    [ "$engine" = postgres2 ] && replicas=2
    schema="load_$(date +%s)_$$"
    psql "$RAMPART_TEST_DATABASE_URL" -qc "CREATE SCHEMA $schema"
    sep='?'; case "$RAMPART_TEST_DATABASE_URL" in *\?*) sep='&';; esac
    env_args+=("RAMPART_DATABASE_URL=${RAMPART_TEST_DATABASE_URL}${sep}options=-c%20search_path%3D${schema}")
    ;;
  *) echo "usage: $0 [sqlite|postgres|postgres2] [seconds]" >&2; exit 2 ;;
esac

# start_replica N: `rampart serve` on data dir N (the second one joined with `admin join`).
urls=()
start_replica() {
  local n="$1" port
  port="$(free_port)"
  if [ "$n" -gt 1 ]; then
    env -i PATH="$PATH" "${env_args[@]}" "$bin" admin join --data-dir "$work/data$n" \
      --root-key-file "$work/data1/root.key" >/dev/null
  fi
  env -i PATH="$PATH" "${env_args[@]}" "$bin" serve \
    --data-dir "$work/data$n" --listen "127.0.0.1:$port" 2>"$work/serve$n.log" >/dev/null &
  server_pids+=($!)
  for _ in $(seq 100); do
    curl -sf --cacert "$work/data$n/tls/server.crt" "https://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.2
  done
  urls+=("https://127.0.0.1:$port")
}
start_replica 1
url="${urls[0]}"
token="$(grep -o 'rmp_pat_[A-Za-z0-9_]*' "$work/serve1.log" | head -1)"
api() {
  curl -sf --cacert "$work/data1/tls/server.crt" -H "Authorization: Bearer $token" \
    -H 'content-type: application/json' "$@"
}
project="$url/api/v1/orgs/default/projects/default"
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
  PACE_MS=0 wrk -t2 -c"$connections" -d"${seconds}s" -s scripts/load/alertmanager.lua "$url"
  # 64 connections each sending one delivery every 128 ms: 500 deliveries/s = 5 000
  # events/s (a little less: the delay starts after each answer).
  echo "== $engine: webhooks paced near 5 000 events/s"
  PACE_MS=128 wrk -t2 -c"$connections" -d"${seconds}s" -s scripts/load/alertmanager.lua "$url"
else
  # Two wrk processes, half the connections each, one per replica, sending the same
  # alert groups (GROUP_SEED); the combined rate is the sum of the two lines.
  deadlocks() { psql "$RAMPART_TEST_DATABASE_URL" -tAc "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"; }
  before="$(deadlocks)"
  echo "== $engine: webhooks to two replicas at once, full speed, same groups"
  wrk_pids=()
  for n in 0 1; do
    GROUP_SEED=4242 PACE_MS=0 wrk -t1 -c$((connections / 2)) -d"${seconds}s" \
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
