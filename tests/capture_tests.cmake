# The preload's traffic-capture tests: one tiny C program per wrapped socket or OpenSSL
# function (tests/capture/t_*.c), each run with and without the real libclawtrace.so by
# capture_tests (tests/capture_test.cpp), which then reads the spool files directly.
# Included from tests/CMakeLists.txt.
include_guard(GLOBAL)
if(NOT TARGET GTest::gtest_main)
  find_package(GTest REQUIRED)
endif()
include(GoogleTest)
find_package(OpenSSL REQUIRED COMPONENTS SSL Crypto)
# The Python ssl test wants a Python that loads the system's libssl; skipped when absent.
find_program(CLAWTRACE_TEST_PYTHON3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
find_program(CLAWTRACE_TEST_PYTHON3 NAMES python3)

set(CLAWTRACE_CAPTURE_PROGRAM_DIR ${CMAKE_CURRENT_BINARY_DIR}/capture_programs)

# add_capture_program(<name> [OpenSSL]) -> target capture_<name>, executable <dir>/<name>.
function(add_capture_program name)
  set(target capture_${name})
  add_executable(${target} ${CMAKE_CURRENT_LIST_DIR}/capture/${name}.c)
  set_target_properties(${target} PROPERTIES
    OUTPUT_NAME ${name}
    RUNTIME_OUTPUT_DIRECTORY ${CLAWTRACE_CAPTURE_PROGRAM_DIR}
    C_STANDARD 11
    C_EXTENSIONS ON)
  target_compile_definitions(${target} PRIVATE _GNU_SOURCE)
  if(ARGN)
    target_link_libraries(${target} PRIVATE OpenSSL::SSL OpenSSL::Crypto)
  endif()
  set_property(GLOBAL APPEND PROPERTY CLAWTRACE_CAPTURE_PROGRAMS ${target})
endfunction()

foreach(fn connect write writev send sendto sendmsg read readv recv recvfrom recvmsg close dup2
           __read_chk __recv_chk __recvfrom_chk)
  add_capture_program(t_${fn})
endforeach()
foreach(fn SSL_write SSL_write_ex SSL_read SSL_read_ex SSL_peek SSL_peek_ex SSL_shutdown SSL_free)
  add_capture_program(t_${fn} OpenSSL)
endforeach()
add_capture_program(tls_server OpenSSL)
get_property(clawtrace_capture_programs GLOBAL PROPERTY CLAWTRACE_CAPTURE_PROGRAMS)

add_executable(capture_tests ${CMAKE_CURRENT_LIST_DIR}/capture_test.cpp)
target_link_libraries(capture_tests PRIVATE clawtrace_test_support clawtrace_hooks GTest::gtest_main)
target_compile_definitions(capture_tests PRIVATE
  CT_PRELOAD="$<TARGET_FILE:clawtrace_preload>"
  CT_PROGRAM_DIR="${CLAWTRACE_CAPTURE_PROGRAM_DIR}"
  CT_PYTHON3="$<$<BOOL:${CLAWTRACE_TEST_PYTHON3}>:${CLAWTRACE_TEST_PYTHON3}>")
add_dependencies(capture_tests clawtrace_preload ${clawtrace_capture_programs})
gtest_discover_tests(capture_tests DISCOVERY_TIMEOUT 30 TEST_PREFIX "capture." PROPERTIES TIMEOUT 180)
