# Interop imports (the original plugin's events, OpenClaw transcripts) through the real
# binary into a real store, compiled into cards.
include_guard(GLOBAL)
add_executable(interop_tests interop_test.cpp)
target_link_libraries(interop_tests PRIVATE clawtrace_compiler clawtrace_store clawtrace_hooks clawtrace_test_support
                      GTest::gtest_main)
add_dependencies(interop_tests clawtrace)
target_compile_definitions(interop_tests PRIVATE
  CLAWTRACE_BIN="$<TARGET_FILE:clawtrace>"
  CLAWTRACE_IMPORT_FIXTURES="${CMAKE_CURRENT_SOURCE_DIR}/import")
gtest_discover_tests(interop_tests DISCOVERY_TIMEOUT 30 PROPERTIES TIMEOUT 120)
