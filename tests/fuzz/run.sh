#!/usr/bin/env bash
# Builds the libFuzzer targets with clang into BUILD_DIR, then runs each for SECONDS.
#   run.sh [--no-build] BUILD_DIR SECONDS [TARGET...]
# SECONDS 0 only builds; CLAWTRACE_FUZZ_SECONDS overrides SECONDS. Each target starts from
# tests/fuzz/corpus/<target>/ (copied: the repository is never written). Exits 77 (skip)
# when clang++ or its libFuzzer runtime is missing, non-zero on any crash, leak or timeout;
# reproducers are kept in BUILD_DIR/artifacts/.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

build_step=1
if [ "${1:-}" = "--no-build" ]; then build_step=0; shift; fi
if [ $# -lt 2 ]; then
  echo "usage: $0 [--no-build] BUILD_DIR SECONDS [TARGET...]" >&2
  exit 2
fi
build=$(mkdir -p "$1" && cd "$1" && pwd)
seconds=${CLAWTRACE_FUZZ_SECONDS:-$2}
shift 2
targets=("$@")
cxx=${CLAWTRACE_FUZZ_CXX:-clang++}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "SKIP: $cxx is not installed (Debian: apt install clang libclang-rt-14-dev)"
  exit 77
fi
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' >"$tmp/probe.cpp"
if ! "$cxx" -fsanitize=fuzzer,address,undefined "$tmp/probe.cpp" -o "$tmp/probe" 2>"$tmp/probe.err"; then
  echo "SKIP: $cxx cannot link libFuzzer targets (Debian: apt install libclang-rt-14-dev)"
  cat "$tmp/probe.err"
  exit 77
fi

if [ $build_step -eq 1 ]; then
  cmake -S "$here" -B "$build" -DCMAKE_CXX_COMPILER="$cxx" >"$tmp/configure.log" || {
    cat "$tmp/configure.log"
    exit 1
  }
  cmake --build "$build" -j "${CLAWTRACE_FUZZ_JOBS:-2}" ${targets[@]+--target "${targets[@]}"}
fi
[ "$seconds" -gt 0 ] || exit 0

if [ ${#targets[@]} -eq 0 ]; then
  for f in "$here"/fuzz_*.cpp; do targets+=("$(basename "$f" .cpp)"); done
fi
mkdir -p "$build/artifacts"
status=0
for t in "${targets[@]}"; do
  if [ ! -x "$build/$t" ]; then
    echo "FAIL: $build/$t is not built"
    status=1
    continue
  fi
  corpus="$tmp/corpus-$t"
  mkdir -p "$corpus"
  if [ -d "$here/corpus/$t" ]; then cp -R "$here/corpus/$t/." "$corpus/"; fi
  echo "== fuzzing $t for ${seconds}s ($(find "$corpus" -type f | wc -l) seeds)"
  dict=()
  if [ -f "$here/$t.dict" ]; then dict=(-dict="$here/$t.dict"); fi
  if (cd "$tmp" && "$build/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 ${dict[@]+"${dict[@]}"} \
      -artifact_prefix="$build/artifacts/$t-" -print_final_stats=1 "$corpus" >"$tmp/$t.log" 2>&1); then
    tail -n 12 "$tmp/$t.log"
  else
    # From the first report on (the progress lines before it would bury it in a CI log).
    first=$(grep -a -n -m1 -E 'fuzz oracle failed|==[0-9]+==.*ERROR|runtime error:|ALARM: working on|out-of-memory' \
      "$tmp/$t.log" | cut -d: -f1 || true)
    if [ -n "$first" ]; then tail -n +"$first" "$tmp/$t.log"; else tail -n 80 "$tmp/$t.log"; fi
    echo "FAIL: $t (crash, leak or timeout; reproducer in $build/artifacts/)"
    status=1
  fi
done
exit $status
