#!/usr/bin/env bash
# Installs what is missing, builds everything, and runs the whole test suite with ctest;
# then the sanitizer runs (below), each in its own build directory. CLAWTRACE_SANITIZERS=0
# skips those; =1 (the default) runs both, =address only ASan+UBSan, =thread only TSan.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
jobs=$(nproc)
launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCLAWTRACE_BUILD_TESTS=ON ${launcher[@]+"${launcher[@]}"} >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs" --timeout 600)

sanitizers=${CLAWTRACE_SANITIZERS:-1}
[ "$sanitizers" != 0 ] || exit 0

# Tests left out of both sanitizer runs, and why: the Node, OpenClaw and Claude Code
# clients and the Playwright/Chromium dashboard tests spend minutes in programs we do not
# build (our side of them, the preload and ingestion, is exercised by the other tests), and
# the fuzz targets are built with ASan+UBSan by clang already.
not_ours='^e2e\.NodeClients|^e2e\.OpenClaw|^ServeBrowser\.'

# sanitized DIR FLAGS [cmake --build args...] -- [ctest args...]
sanitized() {
  local dir=$1 flags=$2
  shift 2
  local build_args=() test_args=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do build_args+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  test_args=("$@")
  local start=$SECONDS
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DCLAWTRACE_BUILD_TESTS=ON -DCLAWTRACE_BUILD_BENCH=OFF \
    -DCLAWTRACE_SANITIZE="$flags" ${launcher[@]+"${launcher[@]}"} >/dev/null
  cmake --build "$dir" -j"$jobs" ${build_args[@]+"${build_args[@]}"}
  local built=$SECONDS
  (cd "$dir" && ctest --output-on-failure -j"$jobs" --timeout 900 -LE 'fuzz' -E "$not_ours" \
    ${test_args[@]+"${test_args[@]}"})
  echo "clawtrace: $flags: built in $((built - start)) s, tested in $((SECONDS - built)) s"
}

# ASan+UBSan: the whole suite. The preload is built with trapping UBSan only and comes
# ahead of libasan in the ASan-built programs it is loaded into (interceptor/CMakeLists.txt,
# cmake/sanitizer_defaults.c).
# The load test is left out here (it runs in the normal suite and under TSan): besides
# losing nothing, it checks that a reader lists sessions at least twice while 32 agents
# run, and an ASan-built reader took 18 s for one listing (it ingests everything first).
if [ "$sanitizers" = 1 ] || [ "$sanitizers" = address ]; then
  sanitized build-asan address,undefined -- -E "$not_ours|^load\."
fi

# TSan: the writers. Ingestion and the store (Spool, StoreTest: concurrent ingestion
# passes), the preload's capture writer thread, instrumented and loaded into the TSan-built
# capture programs, and the load test (32 traced agents into one store: under TSan's
# slowness it found exit drains giving up on a slow writer). A TSan preload cannot go into
# python3 or sh (their libtsan would come after libc), so CapturePython is left out.
if [ "$sanitizers" = 1 ] || [ "$sanitizers" = thread ]; then
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    sanitized build-tsan thread --target core_tests store_test capture_tests load_tests -- \
    -R '^(Spool\.|StoreTest\.|capture\.|load\.)' -E "$not_ours|CapturePython"
fi
