# `clawtrace demo` end to end: the built clawtrace, stand-in and demo agent, a fresh store.
add_executable(demo_tests demo_test.cpp)
find_package(PkgConfig REQUIRED)
pkg_check_modules(YAMLCPP REQUIRED IMPORTED_TARGET yaml-cpp)
target_link_libraries(demo_tests PRIVATE clawtrace_test_support Boost::json PkgConfig::YAMLCPP GTest::gtest_main)
target_compile_definitions(demo_tests PRIVATE CT_CLAWTRACE="$<TARGET_FILE:clawtrace>")
add_dependencies(demo_tests clawtrace clawtrace_preload clawtrace-standin clawtrace-demo-agent)
gtest_discover_tests(demo_tests DISCOVERY_TIMEOUT 30 PROPERTIES TIMEOUT 300)
