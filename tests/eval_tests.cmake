# `clawtrace eval`: the core (tools/eval.*, tools/session_cost.*) and the command on a real store.
add_executable(eval_tests ${CMAKE_CURRENT_LIST_DIR}/eval_test.cpp)
target_link_libraries(eval_tests PRIVATE clawtrace_eval clawtrace_test_support GTest::gtest_main)
target_compile_definitions(eval_tests PRIVATE CT_CLAWTRACE="$<TARGET_FILE:clawtrace>")
add_dependencies(eval_tests clawtrace)
gtest_discover_tests(eval_tests DISCOVERY_TIMEOUT 30 PROPERTIES TIMEOUT 120)
