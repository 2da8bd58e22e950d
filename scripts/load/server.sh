# Shared by the load scripts (sourced): the release `rampart serve` on fresh data
# directories — SQLite, or PostgreSQL in a schema of its own when the engine is
# `postgres*` (RAMPART_TEST_DATABASE_URL names the server) — stopped and removed (the
# schema dropped) on exit. RAMPART_BIN=target/debug/rampart skips the release build (to check a harness
# itself; figures come from the release binary only).
#
#   load_server_setup ENGINE     # ENGINE: sqlite, postgres or postgres2
#   start_replica N              # serve data dir N (N > 1 joins the first's database)
#   api [curl args…] URL         # curl as the first replica's admin, JSON
#
# After start_replica 1: $url (the first replica), $urls (all), $work (the scratch
# directory), $token (the admin's token), $ca (the first replica's certificate),
# $project (the default project's API URL), $bin (the rampart binary).

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

load_server_setup() {
  local engine="$1" schema sep
  bin="${RAMPART_BIN:-target/release/rampart}"
  [ -n "${RAMPART_BIN:-}" ] || cargo build --release --locked -p rampart-cli --bin rampart
  work="$(mktemp -d)"
  server_pids=()
  urls=()
  trap load_server_cleanup EXIT
  env_args=(RAMPART_LOG__LEVEL=warn)
  case "$engine" in
    sqlite) ;;
    postgres|postgres2)
      : "${RAMPART_TEST_DATABASE_URL:?set RAMPART_TEST_DATABASE_URL to a PostgreSQL server}"
      schema="load_$(date +%s)_$$"
      load_schema="$schema"
      psql "$RAMPART_TEST_DATABASE_URL" -qc "CREATE SCHEMA $schema"
      sep='?'; case "$RAMPART_TEST_DATABASE_URL" in *\?*) sep='&';; esac
      env_args+=("RAMPART_DATABASE_URL=${RAMPART_TEST_DATABASE_URL}${sep}options=-c%20search_path%3D${schema}")
      ;;
    *) echo "unknown engine $engine (sqlite, postgres or postgres2)" >&2; exit 2 ;;
  esac
}

load_server_cleanup() {
  # Every process is stopped, whatever each one's exit status (errexit is on).
  for pid in "${server_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${server_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
  if [ -n "${load_schema:-}" ]; then
    psql "$RAMPART_TEST_DATABASE_URL" -qc "DROP SCHEMA $load_schema CASCADE" >/dev/null 2>&1 || true
  fi
}

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
  if [ "$n" -eq 1 ]; then
    url="${urls[0]}"
    ca="$work/data1/tls/server.crt"
    token="$(grep -o 'rmp_pat_[A-Za-z0-9_]*' "$work/serve1.log" | head -1)"
    project="$url/api/v1/orgs/default/projects/default"
  fi
}

api() {
  curl -sf --cacert "$ca" -H "Authorization: Bearer $token" -H 'content-type: application/json' "$@"
}
