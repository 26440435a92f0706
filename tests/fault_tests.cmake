# Fault injection: tests/fault/fault_agent.c meets one fault at a time (store missing,
# read-only, full, locked or corrupt; SIGKILL mid-stream, mid-write, in a sub-agent; a
# reset connection; fork among threads; hostile envp; close_range; EINTR; libssl loaded
# late), run untraced and under the real preload by fault_tests (tests/fault_test.cpp).
# Included from tests/CMakeLists.txt.
include_guard(GLOBAL)
if(NOT TARGET GTest::gtest_main)
  find_package(GTest REQUIRED)
endif()
include(GoogleTest)
find_package(Threads REQUIRED)

add_executable(fault_agent ${CMAKE_CURRENT_LIST_DIR}/fault/fault_agent.c)
set_target_properties(fault_agent PROPERTIES C_STANDARD 11 C_EXTENSIONS ON)
target_compile_definitions(fault_agent PRIVATE _GNU_SOURCE)
target_link_libraries(fault_agent PRIVATE Threads::Threads ${CMAKE_DL_LIBS})
clawtrace_as_foreign_program(fault_agent)

add_executable(fault_tests ${CMAKE_CURRENT_LIST_DIR}/fault_test.cpp ${CMAKE_CURRENT_LIST_DIR}/e2e_support.cpp)
target_link_libraries(fault_tests PRIVATE clawtrace_test_support clawtrace_compiler clawtrace_store clawtrace_hooks
                      GTest::gtest_main)
target_compile_definitions(fault_tests PRIVATE
  CT_CLAWTRACE="$<TARGET_FILE:clawtrace>"
  CT_PRELOAD="$<TARGET_FILE:clawtrace_preload>"
  CT_STANDIN="$<TARGET_FILE:clawtrace-standin>"
  CT_FAULT_AGENT="$<TARGET_FILE:fault_agent>"
  CT_CURL_POST=""
  CT_CLIENTS_DIR="${CMAKE_CURRENT_SOURCE_DIR}/clients")
add_dependencies(fault_tests clawtrace clawtrace_preload clawtrace-standin fault_agent)
gtest_discover_tests(fault_tests DISCOVERY_TIMEOUT 30 TEST_PREFIX "fault." PROPERTIES TIMEOUT 120)
