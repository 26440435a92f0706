# CostCraft (costcraft/): the library on synthetic cards, and `score` / `distill` on a real
# store through the binary. Included from tests/CMakeLists.txt.
include_guard(GLOBAL)
if(NOT TARGET GTest::gtest_main)
  find_package(GTest REQUIRED)
endif()
include(GoogleTest)
find_package(PkgConfig REQUIRED)
pkg_check_modules(YAMLCPP REQUIRED IMPORTED_TARGET yaml-cpp)

add_executable(costcraft_tests ${CMAKE_CURRENT_LIST_DIR}/costcraft_test.cpp ${CMAKE_CURRENT_LIST_DIR}/outcomes_test.cpp)
target_include_directories(costcraft_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR}/support)
target_link_libraries(costcraft_tests PRIVATE clawtrace_costcraft PkgConfig::YAMLCPP GTest::gtest_main)
gtest_discover_tests(costcraft_tests DISCOVERY_TIMEOUT 30)

add_executable(costcraft_cli_tests ${CMAKE_CURRENT_LIST_DIR}/costcraft_cli_test.cpp)
target_link_libraries(costcraft_cli_tests PRIVATE clawtrace_compiler clawtrace_test_support GTest::gtest_main)
add_dependencies(costcraft_cli_tests clawtrace)
target_compile_definitions(costcraft_cli_tests PRIVATE CLAWTRACE_BIN="$<TARGET_FILE:clawtrace>")
gtest_discover_tests(costcraft_cli_tests DISCOVERY_TIMEOUT 30 PROPERTIES TIMEOUT 300)
