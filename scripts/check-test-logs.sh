#!/usr/bin/env bash
# After a test run: no secret a test used (tokens, passwords, session ids, CSRF tokens,
# recorded by the testkit in target/test-logs/secrets-*.txt) appears in any log line the
# test servers wrote (target/test-logs/server-*.jsonl).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=target/test-logs
shopt -s nullglob
secrets=("$dir"/secrets-*.txt)
logs=("$dir"/server-*.jsonl)
if [ ${#secrets[@]} -eq 0 ] || [ ${#logs[@]} -eq 0 ]; then
  echo "check-test-logs: no test logs or secrets recorded; did the integration tests run?" >&2
  exit 1
fi
all_secrets=$(mktemp)
trap 'rm -f "$all_secrets"' EXIT
cat "${secrets[@]}" | grep -v '^$' | sort -u > "$all_secrets"
count=$(wc -l < "$all_secrets")
lines=$(cat "${logs[@]}" | wc -l)
if grep -F -f "$all_secrets" "${logs[@]}" >/dev/null; then
  echo "check-test-logs: a secret used by the tests appears in the server logs:" >&2
  grep -F -o -f "$all_secrets" "${logs[@]}" | cut -c1-60 | sed 's/rmp_\(...\)_.*/rmp_\1_… (redacted)/' >&2
  exit 1
fi
echo "check-test-logs: $count secrets checked against $lines log lines: none leaked"
