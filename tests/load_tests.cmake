# Load test (tests/load_test.cpp): 32 traced agents x 200 exchanges against the stand-in into
# one store while a reader polls `clawtrace sessions` and `clawtrace serve`. Label "load":
# `ctest -L load` runs it alone, `ctest -LE load` leaves it out. Run serially: it loads
# both cores by itself and its memory figures should not be skewed by other tests.
include_guard(GLOBAL)
include(${CMAKE_CURRENT_LIST_DIR}/e2e_tests.cmake)  # curl_post, the client every agent runs
add_executable(load_tests ${CMAKE_CURRENT_LIST_DIR}/load_test.cpp ${CMAKE_CURRENT_LIST_DIR}/e2e_support.cpp)
target_link_libraries(load_tests PRIVATE clawtrace_test_support clawtrace_compiler clawtrace_store clawtrace_hooks
  CURL::libcurl GTest::gtest_main)
target_compile_definitions(load_tests PRIVATE
  CT_CLAWTRACE="$<TARGET_FILE:clawtrace>"
  CT_PRELOAD="$<TARGET_FILE:clawtrace_preload>"
  CT_STANDIN="$<TARGET_FILE:clawtrace-standin>"
  CT_CURL_POST="$<TARGET_FILE:curl_post>"
  CT_CLIENTS_DIR="${CMAKE_CURRENT_SOURCE_DIR}/clients")
add_dependencies(load_tests clawtrace clawtrace_preload clawtrace-standin curl_post)
gtest_discover_tests(load_tests DISCOVERY_TIMEOUT 30 TEST_PREFIX "load."
  PROPERTIES TIMEOUT 600 LABELS load RUN_SERIAL TRUE)
