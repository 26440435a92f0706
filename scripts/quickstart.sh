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

# An LLM tool loop against the bundled provider stand-in over HTTPS: the LLM calls, the
# model's tool call and the process it ran, nested under it.
work=$(mktemp -d)
./build/bin/clawtrace-standin --https-port 0 --cert-dir "$work" --ready-file "$work/ready.json" &
standin=$!
trap 'kill $standin 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -s "$work/ready.json" ] && break; sleep 0.05; done
port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["https"])' "$work/ready.json")
./build/bin/clawtrace --store "$store" run --name llm-example -- python3 tests/clients/py_tool_loop.py \
  "https://localhost:$port" anthropic --stream --cafile "$work/cert.pem" >/dev/null
./build/bin/clawtrace --store "$store" events last --tree

