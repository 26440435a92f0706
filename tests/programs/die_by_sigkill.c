/* Starts N children (each waited for), then SIGKILLs itself before exiting. */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char** argv) {
  int n = argc > 1 ? atoi(argv[1]) : 3;
  for (int i = 0; i < n; ++i) {
    pid_t pid = fork();
    if (pid == 0) _exit(i);
    waitpid(pid, NULL, 0);
  }
  raise(SIGKILL);
  return 0;
}
