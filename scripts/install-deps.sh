#!/usr/bin/env bash
# Installs the Debian 12 packages Mailroom builds, tests and runs with; skips what is present.
# Run as root (or with sudo available). Idempotent.
set -euo pipefail

packages=(
  g++ cmake make pkg-config
  libcaf-dev                    # C++ Actor Framework 0.17.6
  libcapnp-dev capnproto        # Cap'n Proto 0.9.2: serialization, kj-async, capnp-rpc
  libsqlite3-dev                # the journal
  libspdlog-dev                 # logging
  libtomlplusplus-dev           # configuration
  libcli11-dev                  # command lines
  nlohmann-json3-dev            # --json output, filter policies, SNS notifications
  libssl-dev                    # libcrypto: SHA-256 for content-based dedup
  libxxhash-dev                 # XXH3: retry jitter stable across builds
  libgoogle-perftools-dev       # tcmalloc_minimal for mailroomd and mailroom-bench
  libgtest-dev                  # tests
  python3-boto3 awscli          # the HTTP API's end-to-end tests (Debian's boto3 and AWS CLI)
  prometheus                    # promtool, which checks GET /metrics in the tests
  clang-format                  # make format-check (CI)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
