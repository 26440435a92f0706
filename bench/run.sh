#!/usr/bin/env bash
# ClawTrace benchmarks. Each figure is a ratio against a baseline measured in the same run.
#   bench/run.sh [BUILD_DIR]   (default: build; needs the test programs built)
#   ONLY=llm bench/run.sh      (just part 3)
#   ONLY=card bench/run.sh     (just part 4)
#   ONLY=store bench/run.sh    (just part 5)
#   ONLY=distill bench/run.sh  (just part 6)
#   ONLY=relay bench/run.sh    (just part 7)
#   ONLY=compare bench/run.sh  (just part 8: side by side with mitmproxy and strace)
# 1. Record throughput: traced calls/s emitted by 1 and 8 writer processes, and events/s
#    ingested into the LMDB store afterwards.
# 2. Overhead: wall time of a fork/exec-heavy shell loop under `clawtrace run` vs bare.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
ct="$build/bin/clawtrace"; lib="$build/lib/clawtrace/libclawtrace.so"; emit="$build/tests/emit_many"
for f in "$ct" "$lib" "$emit"; do [ -x "$f" ] || [ -f "$f" ] || { echo "missing $f: build with tests first" >&2; exit 1; }; done
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
now() { date +%s%N; }
ms() { echo $(( ($2 - $1) / 1000000 )); }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -r)"
pairs=${PAIRS:-50000}   # each pair = one traced popen() = 2 records = 2 events
only=${ONLY:-all}       # ONLY=llm runs just part 3, ONLY=card just part 4
for writers in 1 8; do
  [ "$only" = all ] || break
  store="$work/s$writers"
  t0=$(now)
  for w in $(seq "$writers"); do "$emit" "$pairs" "b$w" & done; wait
  t1=$(now)
  for w in $(seq "$writers"); do LD_PRELOAD="$lib" CLAWTRACE_STORE="$store" "$emit" "$pairs" "t$w" & done; wait
  t2=$(now)
  "$ct" --store "$store" sessions >/dev/null
  t3=$(now)
  records=$((writers * pairs * 2))
  bare=$(ms "$t0" "$t1"); traced=$(ms "$t1" "$t2"); ingest=$(ms "$t2" "$t3")
  printf '%d writer(s): %d records  emit %5d ms (bare %4d ms, ratio %.2f)  %8.0f records/s emitted  ingest %5d ms  %8.0f events/s into LMDB\n' \
    "$writers" "$records" "$traced" "$bare" "$(echo "$traced / ($bare + 0.001)" | bc -l)" \
    "$(echo "$records * 1000 / ($traced + 0.001)" | bc -l)" "$ingest" "$(echo "$records * 1000 / ($ingest + 0.001)" | bc -l)"
done

loop='i=0; while [ $i -lt 300 ]; do /bin/true; i=$((i+1)); done'
if [ "$only" = all ]; then
best() {  # fastest of 5 runs, in ms
  local b=999999999
  for _ in 1 2 3 4 5; do local s; s=$(now); "$@" >/dev/null 2>&1; local d; d=$(ms "$s" "$(now)"); ((d < b)) && b=$d; done
  echo "$b"
}
bare=$(best sh -c "$loop")
traced=$(best "$ct" --store "$work/loop" run -- sh -c "$loop")
direct=$(best env LD_PRELOAD="$lib" CLAWTRACE_STORE="$work/direct" sh -c "$loop")
printf 'fork/exec loop (300 x /bin/true): bare %d ms, clawtrace run %d ms, ratio %.2f (includes ingesting 301 sessions)\n' \
  "$bare" "$traced" "$(echo "$traced / $bare" | bc -l)"
printf 'same loop, LD_PRELOAD only (records, no ingestion): %d ms, ratio %.2f\n' "$direct" "$(echo "$direct / $bare" | bc -l)"
fi

# 3. LLM traffic: 500 HTTPS exchanges (50 KB request, ~5 KB streamed response in 50 SSE
#    events) by a libcurl client on one keep-alive connection against the stand-in; and the
#    per-call cost of the wrapped SSL_write/SSL_read (in-process TLS pair, 1 KiB calls).
standin="$build/bin/clawtrace-standin"; client="$build/bench/bench_llm_client"; sslcalls="$build/bench/bench_ssl_calls"
if [ "$only" = card ] || [ "$only" = store ] || [ "$only" = distill ] || [ "$only" = relay ] || [ "$only" = compare ]; then :
elif [ -x "$standin" ] && [ -x "$client" ] && [ -x "$sslcalls" ]; then
  text=$(head -c 5000 /dev/zero | tr '\0' 'a' | sed 's/aaaaaaaaa/word word /g' | head -c 5000)
  printf '{"rules": [], "default": {"text": "%s", "delta_size": 100}}' "$text" > "$work/script.json"
  "$standin" --https-port 0 --cert-dir "$work/tls" --script "$work/script.json" --ready-file "$work/ready.json" &
  standin_pid=$!
  for _ in $(seq 100); do [ -s "$work/ready.json" ] && break; sleep 0.05; done
  port=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['https'])" "$work/ready.json")
  url="https://localhost:$port/v1/messages"; cert="$work/tls/cert.pem"
  n=${EXCHANGES:-500}
  runs() {  # median of 5 runs of the client (its own timing, ms)
    for _ in 1 2 3 4 5; do "$@" 2>/dev/null | tail -1; done | sort -n | sed -n 3p
  }
  median() { sort -n | sed -n "$(( ($(wc -l < "$1") + 1) / 2 ))p"; }
  : > "$work/bare.ms"; : > "$work/direct.ms"; : > "$work/traced.ms"
  for _ in $(seq "${ROUNDS:-7}"); do  # interleaved, so drift in machine load hits all three
    "$client" "$url" "$cert" "$n" 50 2>/dev/null | tail -1 >> "$work/bare.ms"
    rm -rf "$work/llm-direct"
    LD_PRELOAD="$lib" CLAWTRACE_STORE="$work/llm-direct" "$client" "$url" "$cert" "$n" 50 2>/dev/null | tail -1 >> "$work/direct.ms"
    rm -rf "$work/llm-run"
    "$ct" --store "$work/llm-run" run -- "$client" "$url" "$cert" "$n" 50 2>/dev/null | tail -1 >> "$work/traced.ms"
  done
  bare=$(median "$work/bare.ms" < "$work/bare.ms")
  direct=$(median "$work/direct.ms" < "$work/direct.ms")
  traced=$(median "$work/traced.ms" < "$work/traced.ms")
  events=$("$ct" --store "$work/llm-run" events last | grep -c '"llm_output"' || true)
  printf 'LLM exchanges (%d x 50 KB request, 5 KB streamed response, HTTPS keep-alive, median of %d interleaved runs; %s llm_output events in the last traced run):\n' "$n" "${ROUNDS:-7}" "$events"
  printf '  bare %.0f ms, LD_PRELOAD %.0f ms (ratio %.3f), clawtrace run %.0f ms (ratio %.3f)\n' \
    "$bare" "$direct" "$(echo "$direct / $bare" | bc -l)" "$traced" "$(echo "$traced / $bare" | bc -l)"
  printf '  fastest run: bare %.0f ms, LD_PRELOAD %.0f ms, clawtrace run %.0f ms\n' \
    "$(sort -n "$work/bare.ms" | head -1)" "$(sort -n "$work/direct.ms" | head -1)" "$(sort -n "$work/traced.ms" | head -1)"
  calls=${SSL_CALLS:-100000}
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$work/k.pem" \
    -out "$work/c.pem" -days 1 -subj /CN=localhost >/dev/null 2>&1
  b=$(runs "$sslcalls" "$work/c.pem" "$work/k.pem" "$calls" 1024)
  p=$(runs env LD_PRELOAD="$lib" CLAWTRACE_STORE="$work/ssl" "$sslcalls" "$work/c.pem" "$work/k.pem" "$calls" 1024)
  printf 'SSL_write/SSL_read of 1 KiB, per call: bare %.0f ns, captured %.0f ns (+%.0f ns)\n' "$b" "$p" "$(echo "$p - $b" | bc -l)"
  kill "$standin_pid" 2>/dev/null; wait "$standin_pid" 2>/dev/null || true
else
  echo "LLM traffic bench skipped: build clawtrace-standin and the bench clients (CLAWTRACE_BUILD_BENCH=ON)"
fi

# 4. TraceCard compile time for sessions of 100, 1,000 and 10,000 steps, on one core
#    (baseline: building the span tree from the same events).
if [ "$only" = all ] || [ "$only" = card ]; then
  if [ -x "$build/bench/bench_card_compile" ]; then
    echo "TraceCard compile (median of 5, one core):"
    taskset -c 0 "$build/bench/bench_card_compile" 2>/dev/null || "$build/bench/bench_card_compile"
  else
    echo "card bench skipped: build with CLAWTRACE_BUILD_BENCH=ON"
  fi
fi

# 5. Store size per LLM call against the raw bytes captured, for a 100-turn conversation
#    (Python tool loop over HTTPS; every turn re-sends the whole history, as agents do).
if [ "$only" = all ] || [ "$only" = store ]; then
  if [ -x "$standin" ]; then
    text=$(printf 'a line of the answer, %.0s' $(seq 40))
    printf '{"rules": [], "default": {"text": "%s", "tool_calls": [{"name": "bash", "arguments": {"command": "seq 1 200"}}]}}' \
      "$text" > "$work/loop.json"
    "$standin" --https-port 0 --cert-dir "$work/tls5" --script "$work/loop.json" --ready-file "$work/ready5.json" &
    standin_pid=$!
    for _ in $(seq 100); do [ -s "$work/ready5.json" ] && break; sleep 0.05; done
    port=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['https'])" "$work/ready5.json")
    py=$(python3 -c 'import sys; print(sys.executable)')
    here=$(cd "$(dirname "$0")/.." && pwd)
    "$ct" --store "$work/turns" run -- "$py" "$here/tests/clients/py_tool_loop.py" "https://localhost:$port" anthropic \
      --cafile "$work/tls5/cert.pem" --turns 100 >/dev/null 2>&1
    kill "$standin_pid" 2>/dev/null; wait "$standin_pid" 2>/dev/null || true
    "$ct" --store "$work/turns" events last > "$work/turns.jsonl"
    python3 - "$work/turns.jsonl" "$work/turns/db/data.mdb" <<'PY'
import json, os, sys
calls = raw = 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["type"] == "llm_input": calls += 1; raw += e["data"].get("request_bytes", 0)
    if e["type"] == "llm_output": raw += e["data"].get("response_bytes", 0)
store = os.path.getsize(sys.argv[2])
print("store size, %d-call conversation: %.1f MB raw request+response bytes captured, store %.2f MB "
      "(%.1f KB per call vs %.1f KB raw; ratio %.3f)" % (calls, raw / 1e6, store / 1e6, store / 1024 / max(calls, 1),
                                                         raw / 1024 / max(calls, 1), store / max(raw, 1)))
PY
    if command -v mdb_stat >/dev/null; then  # where the pages go (Debian: lmdb-utils)
      mdb_stat -efa "$work/turns/db" | awk '
        /^Freelist Status/ {db = ""} /^Status of / {db = $3}
        /Number of pages used/ {used = $5} /Free pages/ {free = $3}
        db != "" && /(Leaf|Branch|Overflow) pages/ {pages[db] += $3}
        /Overflow pages/ && db != "" {over[db] += $3}
        END {
          printf "  LMDB pages (4 KB): %d in the file, %d of them free;", used, free
          n = split("events state sessions by_pid by_start blobs meta", order, " ")
          for (i = 1; i <= n; ++i) if (pages[order[i]] > 0) printf " %s %d%s", order[i], pages[order[i]], over[order[i]] ? " (" over[order[i]] " overflow)" : ""
          printf "\n"
        }'
    fi
  fi
fi

# 6. CostCraft: distill time for 100 and 1,000 scored cards with the offline proposer, on one
#    core (baseline: compiling the same cards from their span trees).
if [ "$only" = all ] || [ "$only" = distill ]; then
  if [ -x "$build/bench/bench_distill" ]; then
    echo "CostCraft distill, offline proposer (median, one core):"
    taskset -c 0 "$build/bench/bench_distill" 2>/dev/null || "$build/bench/bench_distill"
  else
    echo "distill bench skipped: build with CLAWTRACE_BUILD_BENCH=ON"
  fi
fi

# 7. `clawtrace relay`: the same streamed exchanges as part 3 (on one keep-alive connection)
#    sent directly to the stand-in over HTTPS and through the relay (plain HTTP in, HTTPS
#    out, recorded); added latency per exchange and throughput of 8 concurrent clients. Then
#    the OTLP export rate of what the relay recorded, to a local receiver.
if [ "$only" = all ] || [ "$only" = relay ]; then
  if [ -x "$standin" ] && [ -x "$client" ]; then
    printf '{"rules": [], "default": {"text": "%s", "delta_size": 100}}' "$(printf 'word %.0s' $(seq 1000))" > "$work/relay.json"
    "$standin" --https-port 0 --cert-dir "$work/tls7" --script "$work/relay.json" --ready-file "$work/ready7.json" &
    standin_pid=$!
    for _ in $(seq 100); do [ -s "$work/ready7.json" ] && break; sleep 0.05; done
    sport=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['https'])" "$work/ready7.json")
    "$ct" --store "$work/relay-store" relay --listen 127.0.0.1:0 --upstream "https://localhost:$sport" \
      --cacert "$work/tls7/cert.pem" --ready-file "$work/relay-ready.json" 2>/dev/null &
    relay_pid=$!
    for _ in $(seq 100); do [ -s "$work/relay-ready.json" ] && break; sleep 0.05; done
    rport=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['port'])" "$work/relay-ready.json")
    direct_url="https://localhost:$sport/v1/messages"; relay_url="http://127.0.0.1:$rport/v1/messages"
    n=${RELAY_EXCHANGES:-500}
    : > "$work/r-direct.ms"; : > "$work/r-relay.ms"
    for _ in $(seq "${ROUNDS:-7}"); do  # interleaved
      "$client" "$direct_url" "$work/tls7/cert.pem" "$n" 50 2>/dev/null | tail -1 >> "$work/r-direct.ms"
      "$client" "$relay_url" "" "$n" 50 2>/dev/null | tail -1 >> "$work/r-relay.ms"
    done
    d=$(sort -n "$work/r-direct.ms" | sed -n "$(( (${ROUNDS:-7} + 1) / 2 ))p")
    r=$(sort -n "$work/r-relay.ms" | sed -n "$(( (${ROUNDS:-7} + 1) / 2 ))p")
    printf 'relay: %d exchanges (50 KB request, 5 KB streamed response), median of %d interleaved runs:\n' "$n" "${ROUNDS:-7}"
    printf '  direct HTTPS %.0f ms, through the relay %.0f ms (ratio %.3f): %+.3f ms per exchange\n' \
      "$d" "$r" "$(echo "$r / $d" | bc -l)" "$(echo "($r - $d) / $n" | bc -l)"
    for target in direct relay; do  # 8 clients at once, each n/8 exchanges: requests/s
      url=$direct_url; [ $target = relay ] && url=$relay_url
      t0=$(now)
      pids=()
      for _ in $(seq 8); do "$client" "$url" "$work/tls7/cert.pem" $((n / 8)) 50 >/dev/null 2>&1 & pids+=($!); done
      wait "${pids[@]}"
      printf '  8 concurrent clients, %s: %.0f exchanges/s\n' "$target" "$(echo "$n * 1000 / ($(ms "$t0" "$(now)") + 0.001)" | bc -l)"
    done
    kill -TERM "$relay_pid"; wait "$relay_pid" 2>/dev/null || true
    kill "$standin_pid" 2>/dev/null; wait "$standin_pid" 2>/dev/null || true
    calls=$("$ct" --store "$work/relay-store" sessions --json | python3 -c "import json,sys; print(sum(s['llm_calls'] for s in json.load(sys.stdin)))")
    echo "  recorded: $calls llm calls in the relay's session"
    python3 - "$work/otlp-port" <<'PY' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200); self.send_header("content-type", "application/json"); self.send_header("content-length", "2")
        self.end_headers(); self.wfile.write(b"{}")
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_address[1]))
s.serve_forever()
PY
    receiver_pid=$!
    for _ in $(seq 100); do [ -s "$work/otlp-port" ] && break; sleep 0.05; done
    t0=$(now)
    "$ct" --store "$work/relay-store" export --all --otlp "http://127.0.0.1:$(cat "$work/otlp-port")/v1/traces" >/dev/null 2>&1
    el=$(ms "$t0" "$(now)")
    spans=$((calls + 1))
    printf 'OTLP export: %d spans in %d ms: %.0f spans/s (JSON over HTTP to a local receiver)\n' "$spans" "$el" "$(echo "$spans * 1000 / ($el + 0.001)" | bc -l)"
    kill "$receiver_pid" 2>/dev/null; wait "$receiver_pid" 2>/dev/null || true
  else
    echo "relay bench skipped: build clawtrace-standin and the bench clients (CLAWTRACE_BUILD_BENCH=ON)"
  fi
fi

# 8. Side by side with the tools a user would pick instead (bench/side_by_side.py): the same
#    HTTPS workload untraced, under the preload, through the relay, through mitmproxy
#    (Debian's `mitmproxy`, recording to a file) and under strace.
if [ "$only" = all ] || [ "$only" = compare ]; then
  if [ -x "$standin" ] && [ -x "$client" ]; then
    command -v mitmdump >/dev/null || echo "(mitmproxy not installed: apt-get install mitmproxy to include it)"
    printf '{"rules": [], "default": {"text": "%s", "delta_size": 100}}' "$(printf 'word %.0s' $(seq 1000))" > "$work/cmp.json"
    "$standin" --https-port 0 --cert-dir "$work/tls8" --script "$work/cmp.json" --ready-file "$work/ready8.json" &
    standin_pid=$!
    for _ in $(seq 100); do [ -s "$work/ready8.json" ] && break; sleep 0.05; done
    sport=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['https'])" "$work/ready8.json")
    python3 "$(dirname "$0")/side_by_side.py" "$client" "https://localhost:$sport/v1/messages" "$work/tls8/cert.pem" \
      "$ct" "$lib" "$work" "${COMPARE_EXCHANGES:-500}" "${ROUNDS:-5}"
    kill "$standin_pid" 2>/dev/null; wait "$standin_pid" 2>/dev/null || true
  else
    echo "side-by-side bench skipped: build clawtrace-standin and the bench clients (CLAWTRACE_BUILD_BENCH=ON)"
  fi
fi
