#!/usr/bin/env bash
# Installs what is missing, builds ClawTrace, and traces a small example agent-like run.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
store="${CLAWTRACE_STORE:-$PWD/build/demo-store}"
./build/bin/clawtrace --store "$store" run --name example --tag demo=1 -- \
  sh -c 'ls >/dev/null; (sleep 0.1 &); python3 -c "import os; os.system(\"true\")"'
sleep 0.3
./build/bin/clawtrace --store "$store" sessions
./build/bin/clawtrace --store "$store" events last --tree
