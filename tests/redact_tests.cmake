# Credential redaction of the preload core; included from tests/CMakeLists.txt.
include_guard(GLOBAL)
if(NOT TARGET GTest::gtest_main)
  find_package(GTest REQUIRED)
endif()
include(GoogleTest)

add_executable(redact_tests ${CMAKE_CURRENT_LIST_DIR}/redact_test.cpp)
target_link_libraries(redact_tests PRIVATE clawtrace_preload_core GTest::gtest_main)
gtest_discover_tests(redact_tests DISCOVERY_TIMEOUT 30 PROPERTIES TIMEOUT 300)
