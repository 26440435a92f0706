#!/usr/bin/env bash
# Installs what is missing, builds ClawTrace, and runs `clawtrace demo`: a bundled agent,
# traced, against the bundled provider stand-in (no network, no API key).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
store="${CLAWTRACE_STORE:-$PWD/build/demo-store}"
./build/bin/clawtrace --store "$store" demo
