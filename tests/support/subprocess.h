// Running a program from a test: argv and exactly the given environment, stdin from
// /dev/null, stdout and stderr captured, killed after a timeout.
#pragma once

#include <string>
#include <vector>

namespace clawtrace::test {

struct ProcessOutput {
  std::string out, err;
  int status = -1;  // raw wait(2) status; -1 if the program could not be started
};

// With `search_path`, argv[0] is looked up in the PATH of `env` (execvpe).
ProcessOutput run_process(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                          int timeout_s = 120, bool search_path = false);

// "exit N" / "signal N" for messages.
std::string describe_status(int status);

}  // namespace clawtrace::test
