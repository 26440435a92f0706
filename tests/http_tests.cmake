# HTTP/1.x reassembly, content decoding and the SSE/NDJSON parsers. The brotli encoder is
# needed for fixtures only.
pkg_check_modules(HTTP_TEST_CODECS REQUIRED IMPORTED_TARGET zlib libbrotlienc libzstd)
add_executable(http_tests http_test.cpp decode_test.cpp sse_test.cpp)
target_link_libraries(http_tests PRIVATE clawtrace_hooks PkgConfig::HTTP_TEST_CODECS GTest::gtest_main)
gtest_discover_tests(http_tests DISCOVERY_TIMEOUT 30 PROPERTIES TIMEOUT 300)
