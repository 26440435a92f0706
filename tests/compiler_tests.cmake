# The compiler module (prices and costs); included from tests/CMakeLists.txt.
include_guard(GLOBAL)
if(NOT TARGET GTest::gtest_main)
  find_package(GTest REQUIRED)
endif()
include(GoogleTest)

find_package(PkgConfig REQUIRED)
pkg_check_modules(YAMLCPP REQUIRED IMPORTED_TARGET yaml-cpp)
add_executable(compiler_tests ${CMAKE_CURRENT_LIST_DIR}/pricing_test.cpp ${CMAKE_CURRENT_LIST_DIR}/card_test.cpp
               ${CMAKE_CURRENT_LIST_DIR}/card_golden_test.cpp ${CMAKE_CURRENT_LIST_DIR}/yaml_text_test.cpp)
target_link_libraries(compiler_tests PRIVATE clawtrace_compiler clawtrace_test_support PkgConfig::YAMLCPP GTest::gtest_main)
target_compile_definitions(compiler_tests PRIVATE
  CLAWTRACE_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
  CLAWTRACE_COMPILER_FIXTURES="${CMAKE_CURRENT_LIST_DIR}/compiler")
gtest_discover_tests(compiler_tests DISCOVERY_TIMEOUT 30)
