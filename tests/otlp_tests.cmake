# `clawtrace export --otlp` against a local OTLP/HTTP receiver; included from tests/CMakeLists.txt.
include_guard(GLOBAL)
add_executable(otlp_tests otlp_export_test.cpp)
target_link_libraries(otlp_tests PRIVATE clawtrace_compiler clawtrace_store clawtrace_hooks clawtrace_test_support
  GTest::gtest_main)
add_dependencies(otlp_tests clawtrace)
target_compile_definitions(otlp_tests PRIVATE CLAWTRACE_BIN="$<TARGET_FILE:clawtrace>"
  CLAWTRACE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
gtest_discover_tests(otlp_tests DISCOVERY_TIMEOUT 30 PROPERTIES TIMEOUT 120)
