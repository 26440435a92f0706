# `clawtrace serve`: the JSON API over HTTP (libcurl) on a store of imported traced runs, and
# the page in headless Chromium driven by Playwright on a store of runs the test traces
# itself (real clients under `clawtrace run` against the stand-in; screenshots in
# artefacts/serve).
find_package(CURL REQUIRED)
add_executable(serve_tests ${CMAKE_CURRENT_LIST_DIR}/serve_test.cpp)
add_executable(serve_browser_tests ${CMAKE_CURRENT_LIST_DIR}/serve_browser_test.cpp ${CMAKE_CURRENT_LIST_DIR}/e2e_support.cpp)
foreach(t serve_tests serve_browser_tests)
  target_link_libraries(${t} PRIVATE clawtrace_test_support CURL::libcurl Boost::json GTest::gtest_main)
  target_compile_definitions(${t} PRIVATE CT_CLAWTRACE="$<TARGET_FILE:clawtrace>"
    CT_GOLDEN="${CMAKE_CURRENT_LIST_DIR}/compiler/golden"
    CT_BROWSER_SCRIPT="${CMAKE_CURRENT_LIST_DIR}/browser/dashboard.cjs"
    CT_RESPONSIVENESS_SCRIPT="${CMAKE_CURRENT_LIST_DIR}/browser/responsiveness.cjs"
    CT_ARTEFACTS="${CMAKE_BINARY_DIR}/artefacts/serve")
  add_dependencies(${t} clawtrace)
endforeach()
# The browser test traces its own runs, as the end-to-end tests do (tests/e2e_support.*).
target_link_libraries(serve_browser_tests PRIVATE clawtrace_compiler clawtrace_store clawtrace_hooks)
target_compile_definitions(serve_browser_tests PRIVATE
  CT_PRELOAD="$<TARGET_FILE:clawtrace_preload>"
  CT_STANDIN="$<TARGET_FILE:clawtrace-standin>"
  CT_CURL_POST="$<TARGET_FILE:curl_post>"
  CT_CLIENTS_DIR="${CMAKE_CURRENT_LIST_DIR}/clients")
add_dependencies(serve_browser_tests clawtrace_preload clawtrace-standin curl_post)
gtest_discover_tests(serve_tests DISCOVERY_TIMEOUT 30 PROPERTIES TIMEOUT 120)
gtest_discover_tests(serve_browser_tests DISCOVERY_TIMEOUT 30 PROPERTIES TIMEOUT 900)
