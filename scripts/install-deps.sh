#!/usr/bin/env bash
# Installs the Debian 12 packages ClawTrace builds and tests with, if any are missing.
set -euo pipefail
pkgs=(build-essential cmake pkg-config git python3
      libcurl4-openssl-dev libssl-dev libboost-json1.81-dev libyaml-cpp-dev liblmdb-dev
      googletest libgtest-dev libgmock-dev zlib1g-dev libbrotli-dev libzstd-dev
      clang libclang-rt-14-dev   # clang + libFuzzer runtime (libclang_rt.fuzzer) for tests/fuzz
      curl openssl               # clients and certificates of the end-to-end tests and benches
      chromium)                  # the dashboard's browser test (headless, driven by Playwright)
# Node.js and npm: the build installs the dashboard's chart library with npm (tools/serve/web),
# and the end-to-end tests run npm clients; any existing install is kept.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "clawtrace: installing ${missing[*]}" >&2
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
