# CostCraft's LLM client and LLM proposer against the provider stand-in; included from
# tests/CMakeLists.txt.
include_guard(GLOBAL)
add_executable(llm_client_tests llm_client_test.cpp llm_proposer_test.cpp e2e_support.cpp)
target_link_libraries(llm_client_tests PRIVATE clawtrace_costcraft clawtrace_test_support clawtrace_compiler
  clawtrace_store clawtrace_hooks GTest::gtest_main)
target_compile_definitions(llm_client_tests PRIVATE
  CT_CLAWTRACE="$<TARGET_FILE:clawtrace>"
  CT_PRELOAD="$<TARGET_FILE:clawtrace_preload>"
  CT_STANDIN="$<TARGET_FILE:clawtrace-standin>"
  CT_CURL_POST="$<TARGET_FILE:curl_post>"
  CT_CLIENTS_DIR="${CMAKE_CURRENT_SOURCE_DIR}/clients"
  CLAWTRACE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
add_dependencies(llm_client_tests clawtrace-standin)
gtest_discover_tests(llm_client_tests DISCOVERY_TIMEOUT 30 PROPERTIES TIMEOUT 120)
