# The preload's wrapper tests: one tiny C program per wrapped libc function
# (tests/preload/t_*.c), each run with and without the real libclawtrace.so by
# preload_tests (tests/preload_wrappers_test.cpp), which then checks what reached the store.
# Included from tests/CMakeLists.txt.
include_guard(GLOBAL)
if(NOT TARGET GTest::gtest_main)
  find_package(GTest REQUIRED)
endif()
include(GoogleTest)

set(CLAWTRACE_PRELOAD_PROGRAM_DIR ${CMAKE_CURRENT_BINARY_DIR}/preload_programs)

# add_preload_program(<name> <source> [definitions...]) -> target preload_t_<name>,
# executable <dir>/t_<name>.
function(add_preload_program name source)
  set(target preload_t_${name})
  add_executable(${target} ${CMAKE_CURRENT_LIST_DIR}/preload/${source})
  set_target_properties(${target} PROPERTIES
    OUTPUT_NAME t_${name}
    RUNTIME_OUTPUT_DIRECTORY ${CLAWTRACE_PRELOAD_PROGRAM_DIR}
    C_STANDARD 11
    C_EXTENSIONS ON)
  target_compile_definitions(${target} PRIVATE _GNU_SOURCE ${ARGN})
  clawtrace_as_foreign_program(${target})
  set_property(GLOBAL APPEND PROPERTY CLAWTRACE_PRELOAD_PROGRAMS ${target})
endfunction()

foreach(fn fork vfork Fork execve execv execvp execvpe execl execlp execle fexecve system popen
           wait waitpid wait3 wait4 waitid exit _exit _Exit return custom_env)
  add_preload_program(${fn} t_${fn}.c)
endforeach()
# posix_spawn and posix_spawnp, each through both glibc symbol versions.
add_preload_program(posix_spawn t_posix_spawn.c)
add_preload_program(posix_spawn_compat t_posix_spawn.c CT_COMPAT)
add_preload_program(posix_spawnp t_posix_spawn.c CT_SPAWNP)
add_preload_program(posix_spawnp_compat t_posix_spawn.c CT_SPAWNP CT_COMPAT)
get_property(clawtrace_preload_programs GLOBAL PROPERTY CLAWTRACE_PRELOAD_PROGRAMS)

add_executable(preload_tests ${CMAKE_CURRENT_LIST_DIR}/preload_wrappers_test.cpp)
target_link_libraries(preload_tests PRIVATE clawtrace_test_support clawtrace_store clawtrace_hooks GTest::gtest_main)
# The tests describe tool calls with designated initializers that leave fields defaulted.
target_compile_options(preload_tests PRIVATE -Wno-missing-field-initializers)
target_compile_definitions(preload_tests PRIVATE
  CT_PRELOAD="$<TARGET_FILE:clawtrace_preload>"
  CT_PROGRAM_DIR="$<TARGET_FILE_DIR:preload_t_fork>")
add_dependencies(preload_tests clawtrace_preload ${clawtrace_preload_programs})
gtest_discover_tests(preload_tests DISCOVERY_TIMEOUT 30 TEST_PREFIX "preload." PROPERTIES TIMEOUT 120)
