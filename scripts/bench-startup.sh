#!/usr/bin/env bash
# Measures what the foundation issue asks for, on this machine, from a release build:
# time from process start to /readyz = 200 (fresh data dir and an initialised one),
# idle resident memory, and the release binary's size. Prints a Markdown table row set.
# Usage: scripts/bench-startup.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
cargo build --release -p rampart-cli --bin rampart >&2
bin=target/release/rampart
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
port=$((20000 + RANDOM % 20000))

ready_ms() { # data dir → sets $ms (milliseconds until /readyz answers 200) and $pid
  # /readyz needs a token: on a first start it is the one printed on stderr, which the
  # poll picks up as soon as it appears; later starts reuse it.
  local dir=$1 start end
  start=$(date +%s%N)
  "$bin" serve --data-dir "$dir" --listen "127.0.0.1:$port" >/dev/null 2>>"$dir.err" &
  pid=$!
  until token=$(grep -o -m1 'rmp_pat_[A-Za-z0-9_]*' "$dir.err" 2>/dev/null) &&
    curl -sf --cacert "$dir/tls/server.crt" -H "Authorization: Bearer $token" \
      "https://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
    sleep 0.002
  done
  end=$(date +%s%N)
  ms=$(( (end - start) / 1000000 ))
}

first=()
warm=()
for i in $(seq "$runs"); do
  dir="$work/data-$i"
  ready_ms "$dir"; first+=("$ms"); kill "$pid"; wait "$pid" 2>/dev/null || true
  ready_ms "$dir"; warm+=("$ms")
  if [ "$i" -eq "$runs" ]; then
    sleep 3
    rss_kib=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  fi
  kill "$pid"; wait "$pid" 2>/dev/null || true
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
size=$(stat -c %s "$bin")
echo "| start to /readyz, first start (init, key, self-signed cert), median of $runs | $(median "${first[@]}") ms |"
echo "| start to /readyz, initialised data dir, median of $runs | $(median "${warm[@]}") ms |"
echo "| idle resident memory (VmRSS, 3 s after ready) | $((rss_kib / 1024)) MiB ($rss_kib KiB) |"
echo "| release binary size (stripped) | $((size / 1024 / 1024)) MiB ($size bytes) |"
