# Load test (tests/load_test.cpp): 32 traced agents x 200 exchanges against the stand-in into
# one store while a reader polls `clawtrace sessions` and `clawtrace serve`. Label "load":
# `ctest -L load` runs it alone, `ctest -LE load` leaves it out. Run serially: it loads
# both cores by itself and its memory figures should not be skewed by other tests.
include_guard(GLOBAL)
include(${CMAKE_CURRENT_LIST_DIR}/e2e_tests.cmake)  # e2e_tests, and curl_post: the client every agent runs
add_executable(load_tests ${CMAKE_CURRENT_LIST_DIR}/load_test.cpp ${CMAKE_CURRENT_LIST_DIR}/e2e_support.cpp)
target_link_libraries(load_tests PRIVATE clawtrace_test_support clawtrace_compiler clawtrace_store clawtrace_hooks
  CURL::libcurl GTest::gtest_main)
# The same programs as the end-to-end tests (CT_CLAWTRACE, CT_PRELOAD, CT_STANDIN, ...).
get_target_property(e2e_definitions e2e_tests COMPILE_DEFINITIONS)
target_compile_definitions(load_tests PRIVATE ${e2e_definitions})
add_dependencies(load_tests clawtrace clawtrace_preload clawtrace-standin curl_post)
gtest_discover_tests(load_tests DISCOVERY_TIMEOUT 30 TEST_PREFIX "load."
  PROPERTIES TIMEOUT 600 LABELS load RUN_SERIAL TRUE)
