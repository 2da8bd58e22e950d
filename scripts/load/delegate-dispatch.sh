#!/usr/bin/env bash
# Delegate task dispatch: the release `rampart serve` (SQLite, or PostgreSQL with
# `postgres` and RAMPART_TEST_DATABASE_URL set) with four real delegates
# (`rampart delegate run`, the same binary) long-polling it over HTTPS on loopback;
# scripts/load/delegate_dispatch.py queues `ping` tasks paced (each delegate waiting in
# its poll: enqueue -> claim latency p50/p99) and in a burst (tasks/s sustained).
# BENCHMARKS.md records the results; run on an otherwise idle machine.
#
#   scripts/load/delegate-dispatch.sh [sqlite|postgres] [paced tasks, default 400] [burst, default 2000]
set -euo pipefail
cd "$(dirname "$0")/../.."
engine="${1:-sqlite}"
source scripts/load/server.sh
load_server_setup "$engine"
start_replica 1

names=()
for n in 1 2 3 4; do
  name="bench-$n"
  names+=("$name")
  registration="$(api -d "{\"name\": \"$name\"}" "$project/delegates" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["registration_token"])')"
  RAMPART_URL="$url" RAMPART_CA_CERT="$ca" RAMPART_DELEGATE_REGISTRATION_TOKEN="$registration" \
    "$bin" delegate register --state "$work/$name.json" >/dev/null 2>&1
  RAMPART_URL="$url" RAMPART_CA_CERT="$ca" \
    "$bin" delegate run --state "$work/$name.json" 2>"$work/$name.log" >/dev/null &
  server_pids+=($!)
done
sleep 1
echo "== $engine: 4 delegates polling"
python3 scripts/load/delegate_dispatch.py "$url" "$token" "$ca" "${names[@]}" \
  --paced "${2:-400}" --burst "${3:-2000}"
errors="$(grep -c '"level":"ERROR"' "$work/serve1.log" || true)"
echo "server: $errors error lines in its log"
