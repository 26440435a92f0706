# The store's tests; included from tests/CMakeLists.txt. Safe to include more than once.
include_guard(GLOBAL)
if(NOT TARGET GTest::gtest_main)
  find_package(GTest REQUIRED)
endif()
include(GoogleTest)

add_executable(store_test ${CMAKE_CURRENT_LIST_DIR}/store_test.cpp ${CMAKE_CURRENT_LIST_DIR}/refs_test.cpp ${CMAKE_CURRENT_LIST_DIR}/tree_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/value_codec_test.cpp)
find_package(OpenSSL REQUIRED)
target_link_libraries(store_test PRIVATE clawtrace_store PkgConfig::LMDB OpenSSL::Crypto GTest::gtest_main)
gtest_discover_tests(store_test DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 300)
