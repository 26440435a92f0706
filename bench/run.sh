#!/usr/bin/env bash
# ClawTrace benchmarks. Each figure is a ratio against a baseline measured in the same run.
#   bench/run.sh [BUILD_DIR]   (default: build; needs the test programs built)
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
for writers in 1 8; do
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
