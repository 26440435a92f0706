# End-to-end: the real `clawtrace` binary, the real preload, real processes, a real store.
add_executable(emit_many programs/emit_many.c)
add_executable(die_by_sigkill programs/die_by_sigkill.c)
add_executable(spool_dump programs/spool_dump.cpp)
target_link_libraries(spool_dump PRIVATE clawtrace_hooks)
add_executable(cli_tests cli_test.cpp)
target_link_libraries(cli_tests PRIVATE clawtrace_store clawtrace_hooks GTest::gtest_main)
add_dependencies(cli_tests clawtrace clawtrace_preload emit_many die_by_sigkill)
target_compile_definitions(cli_tests PRIVATE
  CLAWTRACE_BIN="$<TARGET_FILE:clawtrace>"
  PRELOAD_LIB="$<TARGET_FILE:clawtrace_preload>"
  EMIT_MANY="$<TARGET_FILE:emit_many>"
  DIE_BY_SIGKILL="$<TARGET_FILE:die_by_sigkill>")
gtest_discover_tests(cli_tests DISCOVERY_TIMEOUT 30 PROPERTIES TIMEOUT 300)
