# Provider adapters (hooks/llm*.cpp); included from tests/CMakeLists.txt.
include_guard(GLOBAL)
if(NOT TARGET GTest::gtest_main)
  find_package(GTest REQUIRED)
endif()
include(GoogleTest)

add_executable(llm_tests ${CMAKE_CURRENT_LIST_DIR}/llm_test.cpp)
target_link_libraries(llm_tests PRIVATE clawtrace_hooks GTest::gtest_main)
gtest_discover_tests(llm_tests DISCOVERY_TIMEOUT 30)
