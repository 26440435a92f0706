# libFuzzer runs of tests/fuzz (built with clang by tests/fuzz/run.sh, apart from this g++
# build), labelled "fuzz" (leave them out with `ctest -LE fuzz`): fuzz.build compiles every
# target, then fuzz.<target> runs each for CLAWTRACE_FUZZ_SECONDS seconds (default 20; read
# here and again when the test runs). Skipped when clang++ or libFuzzer is missing.
file(GLOB fuzz_target_sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_*.cpp)
set(fuzz_seconds 20)
if(DEFINED ENV{CLAWTRACE_FUZZ_SECONDS})
  set(fuzz_seconds $ENV{CLAWTRACE_FUZZ_SECONDS})
endif()
set(fuzz_script ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/run.sh)
set(fuzz_build_dir ${CMAKE_BINARY_DIR}/fuzz)

add_test(NAME fuzz.build COMMAND ${fuzz_script} ${fuzz_build_dir} 0)
set_tests_properties(fuzz.build PROPERTIES
  FIXTURES_SETUP fuzz_targets LABELS fuzz SKIP_RETURN_CODE 77 TIMEOUT 1800 RUN_SERIAL TRUE)
math(EXPR fuzz_timeout "${fuzz_seconds} * 3 + 600")
foreach(src ${fuzz_target_sources})
  get_filename_component(target ${src} NAME_WE)
  add_test(NAME fuzz.${target} COMMAND ${fuzz_script} --no-build ${fuzz_build_dir} ${fuzz_seconds} ${target})
  set_tests_properties(fuzz.${target} PROPERTIES
    FIXTURES_REQUIRED fuzz_targets LABELS fuzz SKIP_RETURN_CODE 77 TIMEOUT ${fuzz_timeout})
endforeach()
