# Import and export: the library on real and synthesised stores, and the two commands.
add_executable(import_tests import_test.cpp)
target_link_libraries(import_tests PRIVATE clawtrace_store clawtrace_hooks clawtrace_test_support GTest::gtest_main)
add_dependencies(import_tests clawtrace clawtrace_preload)
target_compile_definitions(import_tests PRIVATE CLAWTRACE_BIN="$<TARGET_FILE:clawtrace>")
gtest_discover_tests(import_tests DISCOVERY_TIMEOUT 30 PROPERTIES TIMEOUT 300)
