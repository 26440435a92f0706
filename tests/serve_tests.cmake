# `clawtrace serve`: the JSON API over HTTP (libcurl) on a store of imported traced runs, and
# the page in headless Chromium driven by Playwright (screenshots in artefacts/serve).
find_package(CURL REQUIRED)
foreach(t serve_tests serve_browser_tests)
  if(t STREQUAL serve_tests)
    add_executable(${t} ${CMAKE_CURRENT_LIST_DIR}/serve_test.cpp)
  else()
    add_executable(${t} ${CMAKE_CURRENT_LIST_DIR}/serve_browser_test.cpp)
  endif()
  target_link_libraries(${t} PRIVATE clawtrace_test_support CURL::libcurl Boost::json GTest::gtest_main)
  target_compile_definitions(${t} PRIVATE CT_CLAWTRACE="$<TARGET_FILE:clawtrace>"
    CT_GOLDEN="${CMAKE_CURRENT_LIST_DIR}/compiler/golden"
    CT_BROWSER_SCRIPT="${CMAKE_CURRENT_LIST_DIR}/browser/dashboard.cjs"
    CT_RESPONSIVENESS_SCRIPT="${CMAKE_CURRENT_LIST_DIR}/browser/responsiveness.cjs"
    CT_ARTEFACTS="${CMAKE_BINARY_DIR}/artefacts/serve")
  add_dependencies(${t} clawtrace)
endforeach()
gtest_discover_tests(serve_tests DISCOVERY_TIMEOUT 30 PROPERTIES TIMEOUT 120)
gtest_discover_tests(serve_browser_tests DISCOVERY_TIMEOUT 30 PROPERTIES TIMEOUT 900)
