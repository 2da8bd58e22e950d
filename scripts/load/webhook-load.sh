#!/usr/bin/env bash
# Webhook ingestion measured from outside the server: the release `rampart serve` on a
# fresh data directory (SQLite, or PostgreSQL with `postgres` and RAMPART_TEST_DATABASE_URL
# set), loaded by Debian's `wrk` (a separate process, 64 connections, HTTPS) with
# Alertmanager v4 deliveries of 10 alerts (scripts/load/alertmanager.lua), next to
# `GET /healthz` of the same server as the baseline. Phases: baseline at full speed,
# webhooks at full speed, webhooks paced near 5 000 events/s (latency). BENCHMARKS.md
# records the results; run on an otherwise idle machine.
#
#   scripts/load/webhook-load.sh [sqlite|postgres] [seconds per phase, default 20]
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
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
url="https://127.0.0.1:$port"
env_args=(RAMPART_LOG__LEVEL=warn)
if [ "$engine" = postgres ]; then
  : "${RAMPART_TEST_DATABASE_URL:?set RAMPART_TEST_DATABASE_URL to a PostgreSQL server}"
  schema="load_$(date +%s)_$$"
  psql "$RAMPART_TEST_DATABASE_URL" -qc "CREATE SCHEMA $schema"
  sep='?'; case "$RAMPART_TEST_DATABASE_URL" in *\?*) sep='&';; esac
  env_args+=("RAMPART_DATABASE_URL=${RAMPART_TEST_DATABASE_URL}${sep}options=-c%20search_path%3D${schema}")
fi
env -i PATH="$PATH" "${env_args[@]}" "$bin" serve \
  --data-dir "$work/data" --listen "127.0.0.1:$port" 2>"$work/serve.log" >/dev/null &
server_pid=$!
for _ in $(seq 100); do
  curl -sf --cacert "$work/data/tls/server.crt" "$url/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done
token="$(grep -o 'rmp_pat_[A-Za-z0-9_]*' "$work/serve.log" | head -1)"
api() {
  curl -sf --cacert "$work/data/tls/server.crt" -H "Authorization: Bearer $token" \
    -H 'content-type: application/json' "$@"
}
project="$url/api/v1/orgs/default/projects/default"
api -d '{"identifier": "load", "name": "Load"}' "$project/services" >/dev/null
created="$(api -d '{"name": "Alertmanager", "format": "alertmanager", "auth_mode": "bearer",
  "rate_limit_per_minute": 6000000}' "$project/services/load/integrations")"
export HOOK_PATH="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["integration"]["url_path"])' <<<"$created")"
export HOOK_TOKEN="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])' <<<"$created")"

echo "== $engine: baseline GET /healthz, full speed, $connections connections, ${seconds}s"
wrk -t2 -c"$connections" -d"${seconds}s" --latency "$url/healthz" | grep -E "Requests/sec|50%|99%"
echo "== $engine: webhooks, full speed"
PACE_MS=0 wrk -t2 -c"$connections" -d"${seconds}s" -s scripts/load/alertmanager.lua "$url"
# 64 connections each sending one delivery every 128 ms: 500 deliveries/s = 5 000 events/s
# (a little less: the delay starts after each answer).
echo "== $engine: webhooks paced near 5 000 events/s"
PACE_MS=128 wrk -t2 -c"$connections" -d"${seconds}s" -s scripts/load/alertmanager.lua "$url"
