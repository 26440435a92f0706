# End-to-end capture tests: real clients under `clawtrace run` against the provider
# stand-in (tools/standin), events compared with what the stand-in logged.
include_guard(GLOBAL)
find_package(CURL REQUIRED)
add_executable(curl_post clients/curl_post.cpp)
target_link_libraries(curl_post PRIVATE CURL::libcurl)
add_executable(e2e_tests e2e_test.cpp e2e_node_test.cpp e2e_subagent_test.cpp e2e_openclaw_test.cpp e2e_relay_test.cpp
  e2e_support.cpp)
target_link_libraries(e2e_tests PRIVATE CURL::libcurl clawtrace_test_support clawtrace_compiler clawtrace_store clawtrace_hooks GTest::gtest_main)
target_compile_definitions(e2e_tests PRIVATE
  CT_CLAWTRACE="$<TARGET_FILE:clawtrace>"
  CT_PRELOAD="$<TARGET_FILE:clawtrace_preload>"
  CT_STANDIN="$<TARGET_FILE:clawtrace-standin>"
  CT_CURL_POST="$<TARGET_FILE:curl_post>"
  CT_CLIENTS_DIR="${CMAKE_CURRENT_SOURCE_DIR}/clients")
add_dependencies(e2e_tests clawtrace clawtrace_preload clawtrace-standin curl_post)
gtest_discover_tests(e2e_tests DISCOVERY_TIMEOUT 30 TEST_PREFIX "e2e." PROPERTIES TIMEOUT 300)
