# The provider stand-in: unit tests of its parts, and the real binary driven over HTTP and
# HTTPS by libcurl, raw sockets and Python's urllib/ssl.
find_package(CURL REQUIRED)
find_package(ZLIB REQUIRED)
add_executable(standin_tests standin_test.cpp)
target_link_libraries(standin_tests PRIVATE clawtrace_standin CURL::libcurl ZLIB::ZLIB GTest::gtest_main)
add_dependencies(standin_tests clawtrace-standin)
target_compile_definitions(standin_tests PRIVATE STANDIN_BIN="$<TARGET_FILE:clawtrace-standin>")
gtest_discover_tests(standin_tests DISCOVERY_TIMEOUT 30 PROPERTIES TIMEOUT 120)
