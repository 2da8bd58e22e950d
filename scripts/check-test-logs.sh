#!/usr/bin/env bash
# After a test run: no secret a test used (tokens, passwords, session ids, CSRF tokens,
# recorded by the testkit in target/test-logs/secrets-*.txt) appears in any log line the
# test servers wrote (target/test-logs/server-*.jsonl); and no PostgreSQL schema a test
# created (listed in target/test-logs/schemas-*.txt) is left in the test database.
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

# Tests leave no litter: every schema created for a test was dropped when it ended.
schemas=("$dir"/schemas-*.txt)
if [ ${#schemas[@]} -gt 0 ]; then
  if [ -z "${RAMPART_TEST_DATABASE_URL:-}" ]; then
    echo "check-test-logs: test schemas were recorded but RAMPART_TEST_DATABASE_URL is not set" >&2
    exit 1
  fi
  created=$(cat "${schemas[@]}" | grep -c '^t_' || true)
  list=$(cat "${schemas[@]}" | grep '^t_[0-9a-z_]*$' | sed "s/.*/'&'/" | paste -sd, -)
  left=$(psql "$RAMPART_TEST_DATABASE_URL" -Atc \
    "SELECT nspname FROM pg_namespace WHERE nspname IN (${list:-''})")
  if [ -n "$left" ]; then
    echo "check-test-logs: $(echo "$left" | wc -l) of $created test schemas are left in the database:" >&2
    echo "$left" >&2
    exit 1
  fi
  echo "check-test-logs: $created test schemas created, none left in the database"
fi
