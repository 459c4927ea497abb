#!/usr/bin/env bash
# The test command (README): installs what the tests need when missing, checks the Docker Engine
# answers (a missing engine is a failure, never a skip), then fmt, clippy and the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -x /bin/busybox ] || need+=(busybox-static)            # FROM-scratch test images
command -v docker-registry >/dev/null || need+=(docker-registry)   # private registry tests
command -v htpasswd >/dev/null || need+=(apache2-utils)            # its htpasswd file
command -v pebble >/dev/null || need+=(pebble)                      # ACME test CA
command -v named >/dev/null || need+=(bind9)                        # RFC 2136 DNS
command -v dig >/dev/null || need+=(dnsutils)                       # checks DNS answers
command -v python3 >/dev/null || need+=(python3)                    # receiver sample; fetching deno
[ -x /usr/sbin/nginx ] || need+=(nginx-light)                       # the static nginx runtime's test image
command -v pip3 >/dev/null || python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)  # deno from PyPI
command -v chromium >/dev/null || need+=(chromium)                   # browser tests of the web UI
command -v chromedriver >/dev/null || need+=(chromium-driver)       # ...driven over WebDriver
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "missing packages: ${need[*]} (run: sudo apt-get install ${need[*]})" >&2
    exit 1
  fi
fi

if ! docker info >/dev/null 2>&1; then
  echo "the Docker Engine does not answer (docker info failed): the tests need it" >&2
  exit 1
fi

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
if command -v cargo-nextest >/dev/null 2>&1; then
  # The browser test runs after the others, alone: Chromium aborts a navigation in flight when
  # Docker adds or removes network interfaces, which the other tests do all the time.
  status=0
  cargo nextest run --workspace --locked --no-fail-fast -E 'not binary_id(tinyforge::browser)' || status=$?
  cargo nextest run --workspace --locked --no-fail-fast -E 'binary_id(tinyforge::browser)' || status=$?
  exit $status
else
  cargo test --workspace --locked --no-fail-fast
fi
