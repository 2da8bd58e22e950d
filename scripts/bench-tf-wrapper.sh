#!/usr/bin/env bash
# Measures what `rampart tf apply` costs over plain Terraform, side by side in one run on
# one server (the runs issue's number): the same 20-resource configuration (built-in
# `terraform_data`, no provider to download), every round changing all 20 resources.
#   plain:   `terraform plan -out` + `terraform apply PLAN` against the server's `http`
#            backend (workspace `plain`, not governed; `terraform init` done once before);
#   wrapped: `rampart tf apply` on an auto-applying, governed workspace `wrapped` — which
#            runs init, plan, show -json, uploads the plan (policy checks, cost), the run's
#            approval, the verified apply under the run's lock and credential, and the
#            masked log uploads.
# A third measure is plain Terraform as a CI job runs it in a fresh checkout (init, plan,
# apply), since the wrapper inits too. Rounds interleave the three. Prints the medians
# and the ratios.
# Usage: scripts/bench-tf-wrapper.sh [rounds]   (TERRAFORM=path to choose the binary)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-10}
resources=20
cargo build --release -p rampart-cli --bin rampart >&2
bin=$PWD/target/release/rampart
terraform=${TERRAFORM:-$(command -v terraform || echo "$PWD/target/test-deps/bin/terraform")}
work=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

"$bin" serve --data-dir "$work/data" --listen "127.0.0.1:$port" >/dev/null 2>"$work/serve.err" &
server=$!
export RAMPART_URL="https://127.0.0.1:$port"
export RAMPART_CA_CERT="$work/data/tls/server.crt"
until token=$(grep -o -m1 'rmp_pat_[A-Za-z0-9_]*' "$work/serve.err" 2>/dev/null) &&
  curl -sf --cacert "$RAMPART_CA_CERT" -H "Authorization: Bearer $token" \
    "$RAMPART_URL/readyz" >/dev/null 2>&1; do
  sleep 0.05
done
export RAMPART_TOKEN=$token
workspaces="$RAMPART_URL/api/v1/orgs/default/projects/default/workspaces"
create() { # identifier, run settings (JSON)
  curl -sf --cacert "$RAMPART_CA_CERT" -H "Authorization: Bearer $token" \
    -H 'content-type: application/json' -o /dev/null "$workspaces" \
    -d "{\"identifier\": \"$1\", \"name\": \"$1\", \"runs\": $2}"
}
create plain '{"governed": false}'
create wrapped '{"auto_apply": true}'

configuration() { # folder
  mkdir -p "$1"
  {
    echo 'variable "round" { type = string }'
    for i in $(seq 0 $((resources - 1))); do
      echo "resource \"terraform_data\" \"r$i\" { input = \"\${var.round}-$i\" }"
    done
  } >"$1/main.tf"
}
configuration "$work/plain"
configuration "$work/wrapped"
address="$RAMPART_URL/tf/v1/default/default/plain"
cat >"$work/plain/backend.tf" <<EOF
terraform {
  backend "http" {
    address        = "$address"
    lock_address   = "$address/lock"
    unlock_address = "$address/lock"
    username       = "rampart"
    client_ca_certificate_pem = <<EOT
$(cat "$RAMPART_CA_CERT")
EOT
  }
}
EOF
export TF_HTTP_PASSWORD=$token TF_IN_AUTOMATION=1 TF_INPUT=0
(cd "$work/plain" && "$terraform" init -input=false >/dev/null)

now_ms() { echo $(($(date +%s%N) / 1000000)); }
plain_ms=()
ci_ms=()
wrapped_ms=()
for round in $(seq "$rounds"); do
  start=$(now_ms)
  (cd "$work/plain" &&
    "$terraform" plan -input=false -out=round.tfplan -var "round=p$round" >/dev/null &&
    "$terraform" apply -input=false round.tfplan >/dev/null)
  plain_ms+=($(($(now_ms) - start)))
  # What a CI job of plain Terraform runs in a fresh checkout: init first.
  start=$(now_ms)
  (cd "$work/plain" && rm -rf .terraform &&
    "$terraform" init -input=false >/dev/null &&
    "$terraform" plan -input=false -out=round.tfplan -var "round=c$round" >/dev/null &&
    "$terraform" apply -input=false round.tfplan >/dev/null)
  ci_ms+=($(($(now_ms) - start)))
  start=$(now_ms)
  "$bin" tf apply --workspace wrapped --dir "$work/wrapped" --terraform-bin "$terraform" \
    -- -var "round=w$round" >/dev/null 2>"$work/wrapped.err" ||
    { cat "$work/wrapped.err" >&2; exit 1; }
  wrapped_ms+=($(($(now_ms) - start)))
  echo "round $round: plain ${plain_ms[-1]} ms, plain with init ${ci_ms[-1]} ms, wrapped ${wrapped_ms[-1]} ms" >&2
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
plain=$(median "${plain_ms[@]}")
ci=$(median "${ci_ms[@]}")
wrapped=$(median "${wrapped_ms[@]}")
echo "| plain terraform plan -out + apply, $resources resources, median of $rounds | $plain ms |"
echo "| plain terraform init + plan -out + apply (a fresh CI checkout), same | $ci ms |"
echo "| rampart tf apply (auto-apply workspace), same | $wrapped ms |"
awk -v w="$wrapped" -v p="$plain" -v c="$ci" \
  'BEGIN { printf "| ratio wrapped / plain | %.2f× |\n| ratio wrapped / plain with init | %.2f× |\n", w / p, w / c }'
