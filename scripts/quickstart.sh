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


# Sub-agents: an agent that delegates to a child agent process (through sh -c), which
# delegates again (posix_spawn); the stand-in scripts who delegates what.
cat >"$work/delegate.json" <<'JSON'
{"rules": [
 {"when": {"last_is_tool_result": true, "nth": 1}, "reply": {"text": "Booked Hotel Baixa for three nights."}},
 {"when": {"last_is_tool_result": true, "nth": 2}, "reply": {"text": "Trip planned: flights next, hotel booked."}},
 {"when": {"user_contains": "depth 3"}, "reply": {"text": "Hotel Baixa is cheapest at 90 EUR a night."}},
 {"when": {"user_contains": "depth 2"}, "reply": {"tool_calls": [{"name": "delegate", "arguments": {"task": "depth 3: compare three hotel prices"}}]}},
 {"when": {"user_contains": "depth 1"}, "reply": {"tool_calls": [{"name": "delegate", "arguments": {"task": "depth 2: book the hotel"}}]}}
]}
JSON
./build/bin/clawtrace-standin --https-port 0 --cert-dir "$work/d" --script "$work/delegate.json" \
  --ready-file "$work/ready2.json" &
standin2=$!
trap 'kill $standin $standin2 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -s "$work/ready2.json" ] && break; sleep 0.05; done
port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["https"])' "$work/ready2.json")
py=$(python3 -c 'import sys; print(sys.executable)')  # the interpreter itself, not a pyenv shim
./build/bin/clawtrace --store "$store" run --name subagent-example -- "$py" tests/clients/py_delegating_agent.py \
  "https://localhost:$port" --cafile "$work/d/cert.pem" --task "depth 1: plan a trip" --via sh,spawn >/dev/null
./build/bin/clawtrace --store "$store" events last --tree
