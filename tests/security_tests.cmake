# Security (docs/security.md): no planted credential in the store or any export after a
# traced run under the real preload; private store files; the dashboard's exposure.
# Included from tests/CMakeLists.txt; shares the end-to-end support (e2e_tests.cmake).
include_guard(GLOBAL)
include(${CMAKE_CURRENT_LIST_DIR}/e2e_tests.cmake)
find_package(CURL REQUIRED)
add_executable(security_tests security_test.cpp e2e_support.cpp)
target_link_libraries(security_tests PRIVATE clawtrace_test_support clawtrace_compiler clawtrace_store clawtrace_hooks
  PkgConfig::LMDB CURL::libcurl Boost::json GTest::gtest_main)
target_compile_definitions(security_tests PRIVATE
  CT_CLAWTRACE="$<TARGET_FILE:clawtrace>"
  CT_PRELOAD="$<TARGET_FILE:clawtrace_preload>"
  CT_STANDIN="$<TARGET_FILE:clawtrace-standin>"
  CT_CURL_POST="$<TARGET_FILE:curl_post>"
  CT_CLIENTS_DIR="${CMAKE_CURRENT_SOURCE_DIR}/clients")
add_dependencies(security_tests clawtrace clawtrace_preload clawtrace-standin)
gtest_discover_tests(security_tests DISCOVERY_TIMEOUT 30 TEST_PREFIX "security." PROPERTIES TIMEOUT 300)
