/* A small "agent" that talks to the provider stand-in over plain HTTP and then meets one
 * fault (tests/fault_test.cpp runs it untraced and under the preload and compares).
 *
 *   fault_agent MODE PORT [ARG]
 *
 * Every line printed is deterministic (no pids, ports, ids or timings), so the two runs
 * must print the same bytes. An exchange prints "<prompt>: <status line> deltas=N stop=S".
 * "ack" points fork a child that exits at once and wait for it: the preload writes
 * everything captured so far to the spool before it records a spawn, so the exchanges
 * before an ack are acknowledged whatever happens after. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

static int g_port;

static const char* errname(int e) {
  const char* n = strerrorname_np(e);
  return n ? n : "E?";
}

static void die(const char* what) {
  printf("%s failed: %s\n", what, errname(errno));
  exit(3);
}

static int connect_to(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr*)&a, sizeof a) != 0) die("connect");
  return fd;
}

static void write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) die("write");
    p += w;
    n -= (size_t)w;
  }
}

/* An Anthropic streaming request for `prompt` (Connection: close). */
static void send_request(int fd, const char* prompt) {
  char body[1024], head[1024];
  int bn = snprintf(body, sizeof body,
                    "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":64,\"stream\":true,"
                    "\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}]}",
                    prompt);
  int hn = snprintf(head, sizeof head,
                    "POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    "x-api-key: sk-ant-fault-0123456789abcdef\r\nanthropic-version: 2023-06-01\r\n"
                    "content-type: application/json\r\ncontent-length: %d\r\n"
                    "Connection: close\r\n\r\n",
                    bn);
  write_all(fd, head, (size_t)hn);
  write_all(fd, body, (size_t)bn);
}

static size_t count(const char* hay, const char* needle) {
  size_t n = 0;
  for (const char* p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle)) ++n;
  return n;
}

static void report(const char* prompt, const char* resp) {
  const char* eol = strstr(resp, "\r\n");
  int status_len = eol ? (int)(eol - resp) : (int)strlen(resp);
  printf("%s: %.*s deltas=%zu stop=%s\n", prompt, status_len, resp,
         count(resp, "event: content_block_delta"), strstr(resp, "message_stop") ? "yes" : "no");
  fflush(stdout);
}

/* One exchange read to the server's close; the socket is left open when `keep_fd`. */
static void exchange_on(int fd, const char* prompt) {
  static char resp[1 << 16];
  size_t got = 0;
  send_request(fd, prompt);
  for (;;) {
    ssize_t r = read(fd, resp + got, sizeof resp - 1 - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += (size_t)r;
  }
  resp[got] = '\0';
  report(prompt, resp);
}

static void exchange(const char* prompt) {
  int fd = connect_to(g_port);
  exchange_on(fd, prompt);
  close(fd);
}

static void ack(void) {
  fflush(stdout);
  pid_t p = fork();
  if (p == 0) _exit(0);
  int st;
  if (p < 0 || waitpid(p, &st, 0) != p) die("ack");
}

static void report_status(const char* what, int st) {
  if (WIFEXITED(st)) printf("%s: exited %d\n", what, WEXITSTATUS(st));
  else if (WIFSIGNALED(st)) printf("%s: killed by signal %d\n", what, WTERMSIG(st));
  fflush(stdout);
}

/* Reads a streamed reply until its first delta, then the process dies by SIGKILL. */
static void killed_mid_stream(const char* prompt) {
  int fd = connect_to(g_port);
  send_request(fd, prompt);
  char buf[4096];
  size_t got = 0;
  while (got < sizeof buf - 1) {
    ssize_t r = read(fd, buf + got, sizeof buf - 1 - got);
    if (r <= 0) break;
    got += (size_t)r;
    buf[got] = '\0';
    if (strstr(buf, "content_block_delta")) break;
  }
  printf("%s: first delta read, dying\n", prompt);
  fflush(stdout);
  kill(getpid(), SIGKILL);
}

/* ---- the modes ------------------------------------------------------------------------ */

static int mode_llm(int n) {
  char prompt[32];
  for (int i = 1; i <= n; ++i) {
    snprintf(prompt, sizeof prompt, "exchange %d", i);
    exchange(prompt);
  }
  return 0;
}

/* Fills the filesystem holding `dir` after an acknowledged exchange, then goes on. */
static int mode_fill(const char* dir) {
  exchange("before the disk filled");
  ack();
  char path[4096];
  snprintf(path, sizeof path, "%s/filler", dir);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) die("open filler");
  static char block[65536];
  memset(block, 'f', sizeof block);
  ssize_t w;
  while ((w = write(fd, block, sizeof block)) > 0) {
  }
  printf("filling: %s\n", w < 0 ? errname(errno) : "short write");
  close(fd);
  exchange("on a full disk");
  exchange("still on a full disk");
  return 0;
}

static int mode_kill_stream(void) {
  exchange("acknowledged");
  ack();
  killed_mid_stream("SLOW stream");
  return 1;
}

static int g_sink;

static void* drain_uploads(void* arg) {
  (void)arg;
  int c = accept(g_sink, NULL, NULL);
  static char buf[1 << 16];
  while (read(c, buf, sizeof buf) > 0) {
  }
  return NULL;
}

static int listener(int backlog, int* port);

static void* kill_soon(void* arg) {
  (void)arg;
  struct timespec ts = {0, 300 * 1000 * 1000};
  nanosleep(&ts, NULL);
  kill(getpid(), SIGKILL);
  return NULL;
}

/* SIGKILLed from another thread while a large request body streams through the capture
 * into the spool, so the kill most likely cuts a spool write (the agent's own thread plays
 * the server, so nothing refuses the body). */
static int mode_kill_write(void) {
  exchange("acknowledged");
  ack();
  int port;
  g_sink = listener(8, &port);
  pthread_t t;
  pthread_create(&t, NULL, drain_uploads, NULL);
  int fd = connect_to(port);
  char head[256];
  int hn = snprintf(head, sizeof head,
                    "POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\n"
                    "content-length: %d\r\n\r\n{\"model\":\"claude-sonnet-4-5\",\"messages\":\"",
                    1 << 30);
  write_all(fd, head, (size_t)hn);
  printf("uploading, dying\n");
  fflush(stdout);
  pthread_create(&t, NULL, kill_soon, NULL);
  /* ~30 MB/s: the spool is written all the time, and stays small enough to ingest fast */
  static char body[1 << 16];
  memset(body, 'x', sizeof body);
  struct timespec pace = {0, 2 * 1000 * 1000};
  for (;;) {
    write_all(fd, body, sizeof body);
    nanosleep(&pace, NULL);
  }
  return 1;
}

/* A sub-agent (fork child) killed by its parent in the middle of a stream. */
static int mode_kill_subagent(void) {
  int ready[2];
  if (pipe(ready) != 0) die("pipe");
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    close(ready[0]);
    exchange("sub-agent acknowledged");
    ack();
    int fd = connect_to(g_port);
    send_request(fd, "SLOW sub-agent stream");
    char buf[4096];
    ssize_t r = read(fd, buf, sizeof buf);
    (void)r;
    write_all(ready[1], "r", 1);
    for (;;) pause();
  }
  close(ready[1]);
  char c;
  if (read(ready[0], &c, 1) != 1) die("sub-agent start");
  kill(child, SIGKILL);
  int st;
  if (waitpid(child, &st, 0) != child) die("waitpid");
  report_status("sub-agent", st);
  exchange("parent after the sub-agent");
  return 0;
}

/* The server at ARG resets the connection in the middle of its SSE reply; then the stand-in. */
static int mode_reset(int reset_port) {
  int fd = connect_to(reset_port);
  send_request(fd, "reset me");
  static char buf[1 << 16];
  size_t got = 0;
  ssize_t r;
  while ((r = read(fd, buf + got, sizeof buf - 1 - got)) > 0) got += (size_t)r;
  buf[got] = '\0';
  const char* body = strstr(buf, "\r\n\r\n");
  printf("read until rc=%zd errno=%s, %zu SSE events before\n", r, r < 0 ? errname(errno) : "-",
         body ? count(body + 4, "\n\n") : 0);
  close(fd);
  exchange("after the reset");
  return 0;
}

static volatile int g_stop;

static void* chatter(void* arg) {
  (void)arg;
  while (!g_stop) {
    int fd = connect_to(g_port);
    send_request(fd, "background thread");
    char buf[4096];
    while (read(fd, buf, sizeof buf) > 0) {
    }
    close(fd);
  }
  return NULL;
}

/* fork while three threads are in the middle of exchanges; the child allocates, prints
 * and talks to the provider itself. */
static int mode_mt_fork(void) {
  pthread_t t[3];
  for (int i = 0; i < 3; ++i) pthread_create(&t[i], NULL, chatter, NULL);
  for (int i = 1; i <= 8; ++i) {
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
      char* heap = malloc(1 << 20);
      memset(heap, i, 1 << 20);
      char prompt[32];
      snprintf(prompt, sizeof prompt, "child %d", i);
      exchange(prompt);
      free(heap);
      exit(i);
    }
    int st;
    if (waitpid(p, &st, 0) != p) die("waitpid");
    char what[32];
    snprintf(what, sizeof what, "fork %d", i);
    report_status(what, st);
  }
  g_stop = 1;
  for (int i = 0; i < 3; ++i) pthread_join(t[i], NULL);
  exchange("parent after the forks");
  return 0;
}

/* ---- hostile environments ------------------------------------------------------------- */

/* The child side: the environment minus what a tracer may add, entries cut to 60 bytes. */
static int mode_printenv(void) {
  size_t n = 0;
  for (char** e = environ; *e; ++e) {
    if (!strncmp(*e, "LD_PRELOAD=", 11) || !strncmp(*e, "CLAWTRACE_", 10) ||
        !strncmp(*e, "TRACEPARENT=", 12))
      continue;
    ++n;
    size_t len = strlen(*e);
    if (len > 60) printf("  %.60s... (%zu bytes)\n", *e, len);
    else printf("  %s\n", *e);
  }
  printf("  %zu entries\n", n);
  return 7;
}

static char* g_self;

static void run_child(const char* how, char** envp, int use_vfork) {
  printf("%s:\n", how);
  fflush(stdout);
  char* argv[] = {g_self, "printenv", "0", NULL};
  pid_t p = -1;
  if (use_vfork) {
    p = vfork();
    if (p == 0) {
      execve(g_self, argv, envp);
      _exit(127);
    }
  } else {
    int rc = posix_spawn(&p, g_self, NULL, NULL, argv, envp);
    if (rc != 0) {
      printf("posix_spawn: %s\n", errname(rc));
      return;
    }
  }
  int st;
  if (waitpid(p, &st, 0) != p) die("waitpid");
  report_status(how, st);
}

static int mode_hostile_env(void) {
  static char huge[100 * 1024];
  memcpy(huge, "HUGE=", 5);
  memset(huge + 5, 'h', sizeof huge - 6);
  char* no_preload[] = {"PATH=/usr/bin:/bin", "A=1", NULL};
  char* dup_ctx[] = {"CLAWTRACE_CTX=1:0000000000000001:0000000001:0000000000000002:"
                     "00000000000000030000000000000004:-",
                     "B=2", "CLAWTRACE_CTX=1:0000000000000005:0000000001:0000000000000006:"
                     "00000000000000070000000000000008:x", NULL};
  char* garbage_ctx[] = {"CLAWTRACE_CTX=garbage", "CLAWTRACE_CTX", "TRACEPARENT=zz", "=", "",
                         "LD_PRELOAD=", "C=3", NULL};
  char* huge_entry[] = {huge, "D=4", NULL};
  enum { kMany = 3000 };
  static char many_buf[kMany][16];
  static char* many[kMany + 1];
  for (int i = 0; i < kMany; ++i) {
    snprintf(many_buf[i], sizeof many_buf[i], "V%d=%d", i, i);
    many[i] = many_buf[i];
  }
  many[kMany] = NULL;
  run_child("posix_spawn NULL envp", NULL, 0);
  run_child("vfork+execve NULL envp", NULL, 1);
  run_child("posix_spawn without LD_PRELOAD", no_preload, 0);
  run_child("vfork+execve duplicated CLAWTRACE_CTX", dup_ctx, 1);
  run_child("posix_spawn duplicated CLAWTRACE_CTX", dup_ctx, 0);
  run_child("posix_spawn garbage CLAWTRACE_CTX", garbage_ctx, 0);
  run_child("vfork+execve huge entry", huge_entry, 1);
  run_child("posix_spawn 3000 entries", many, 0);
  return 0;
}

/* ---- descriptors closed behind the library's back -------------------------------------- */

static int mode_close_range(void) {
  int fd = connect_to(g_port);
  exchange_on(fd, "before close_range");  /* the socket stays open: close_range ends it */
  printf("close_range: rc=%d\n", close_range(3, ~0U, 0));
  exchange("after close_range");
  fd = connect_to(g_port);
  exchange_on(fd, "before closefrom");
  closefrom(3);
  printf("closefrom done\n");
  ack();  /* the library reopens its spool now, before the program takes 512 */
  /* The program's own file where the library's spool descriptor was. */
  char path[] = "/tmp/clawtrace-fault-XXXXXX";
  int own = mkstemp(path);
  if (own < 0) die("mkstemp");
  unlink(path);
  for (int high = 512; high < 520; ++high) dup2(own, high);
  close(own);
  exchange("with the program's file on 512..519");
  write_all(512, "mine\n", 5);
  char back[64] = {0};
  ssize_t r = pread(519, back, sizeof back - 1, 0);
  printf("own file holds %zd bytes: %s", r, back);
  return 0;
}

/* ---- signals during wrapped calls ----------------------------------------------------- */

static void on_alarm(int sig) { (void)sig; }

static void arm(void) {
  struct itimerval it = {{0, 0}, {0, 100 * 1000}};
  setitimer(ITIMER_REAL, &it, NULL);
}

static int listener(int backlog, int* port) {
  int l = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(l, (struct sockaddr*)&a, sizeof a) != 0 || listen(l, backlog) != 0 ||
      getsockname(l, (struct sockaddr*)&a, &len) != 0)
    die("listen");
  *port = ntohs(a.sin_port);
  return l;
}

static int mode_eintr(void) {
  struct sigaction sa = {0};
  sa.sa_handler = on_alarm;  /* no SA_RESTART */
  sigaction(SIGALRM, &sa, NULL);

  /* read on an LLM connection whose server never answers */
  int port;
  int l = listener(8, &port);
  int fd = connect_to(port);
  send_request(fd, "never answered");
  char buf[64];
  arm();
  errno = EDOM;
  ssize_t r = read(fd, buf, sizeof buf);
  printf("read: rc=%zd errno=%s\n", r, errname(errno));
  arm();
  errno = EDOM;
  r = recv(fd, buf, sizeof buf, 0);
  printf("recv: rc=%zd errno=%s\n", r, errname(errno));
  close(fd);
  close(l);

  /* connect to a listener whose queue is full: the SYN goes unanswered */
  l = listener(0, &port);
  int queued[4];
  for (int i = 0; i < 4; ++i) {
    queued[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connect(queued[i], (struct sockaddr*)&a, sizeof a);
  }
  struct timespec settle = {0, 50 * 1000 * 1000};
  nanosleep(&settle, NULL);
  fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  arm();
  errno = EDOM;
  int rc = connect(fd, (struct sockaddr*)&a, sizeof a);
  printf("connect: rc=%d errno=%s\n", rc, errname(errno));
  close(fd);
  for (int i = 0; i < 4; ++i) close(queued[i]);
  close(l);

  /* waitpid for a child that outlives the timer */
  fflush(stdout);
  pid_t p = fork();
  if (p == 0) {
    for (;;) pause();
  }
  int st;
  arm();
  errno = EDOM;
  pid_t w = waitpid(p, &st, 0);
  printf("waitpid: rc=%d errno=%s\n", w == p ? 1 : w, errname(errno));
  kill(p, SIGKILL);
  waitpid(p, &st, 0);
  report_status("sleeper", st);
  exchange("after the signals");
  return 0;
}

/* ---- libssl loaded after start ---------------------------------------------------------- */

typedef void* (*init_fn)(void);
typedef int (*setopt_fn)(void*, int, ...);
typedef int (*perform_fn)(void*);
typedef void* (*slist_fn)(void*, const char*);

enum { kUrl = 10002, kPostFields = 10015, kHttpHeader = 10023, kCaInfo = 10065,
       kWriteFunction = 20011, kWriteData = 10001 };

static size_t collect(char* p, size_t size, size_t n, void* user) {
  char* out = user;
  size_t have = strlen(out), add = size * n;
  if (have + add < (1 << 16) - 1) {
    memcpy(out + have, p, add);
    out[have + add] = '\0';
  }
  return add;
}

static int mode_dlopen_tls(const char* url, const char* cafile) {
  printf("libssl loaded before: %s\n", dlopen("libssl.so.3", RTLD_NOW | RTLD_NOLOAD) ? "yes" : "no");
  void* curl = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
  if (!curl) die("dlopen libcurl");
  init_fn easy_init;
  setopt_fn setopt;
  perform_fn perform;
  slist_fn append;
  /* POSIX's way of turning dlsym's result into a function pointer */
  *(void**)&easy_init = dlsym(curl, "curl_easy_init");
  *(void**)&setopt = dlsym(curl, "curl_easy_setopt");
  *(void**)&perform = dlsym(curl, "curl_easy_perform");
  *(void**)&append = dlsym(curl, "curl_slist_append");
  if (!easy_init || !setopt || !perform || !append) die("dlsym libcurl");
  void* h = easy_init();
  void* headers = append(NULL, "content-type: application/json");
  headers = append(headers, "x-api-key: sk-ant-fault-0123456789abcdef");
  headers = append(headers, "anthropic-version: 2023-06-01");
  static char resp[1 << 16];
  char full_url[512];
  snprintf(full_url, sizeof full_url, "%s/v1/messages", url);
  setopt(h, kUrl, full_url);
  setopt(h, kCaInfo, cafile);
  setopt(h, kHttpHeader, headers);
  setopt(h, kPostFields,
         "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":64,\"stream\":true,"
         "\"messages\":[{\"role\":\"user\",\"content\":\"over TLS\"}]}");
  setopt(h, kWriteFunction, collect);
  setopt(h, kWriteData, resp);
  int rc = perform(h);
  printf("curl_easy_perform: %d\n", rc);
  printf("over TLS: deltas=%zu stop=%s\n", count(resp, "event: content_block_delta"),
         strstr(resp, "message_stop") ? "yes" : "no");
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s MODE PORT [ARG [ARG]]\n", argv[0]);
    return 2;
  }
  g_self = argv[0];
  g_port = atoi(argv[2]);
  const char* m = argv[1];
  const char* arg = argc > 3 ? argv[3] : "";
  if (!strcmp(m, "llm")) return mode_llm(atoi(arg));
  if (!strcmp(m, "fill")) return mode_fill(arg);
  if (!strcmp(m, "kill_stream")) return mode_kill_stream();
  if (!strcmp(m, "kill_write")) return mode_kill_write();
  if (!strcmp(m, "kill_subagent")) return mode_kill_subagent();
  if (!strcmp(m, "reset")) return mode_reset(atoi(arg));
  if (!strcmp(m, "mt_fork")) return mode_mt_fork();
  if (!strcmp(m, "printenv")) return mode_printenv();
  if (!strcmp(m, "hostile_env")) return mode_hostile_env();
  if (!strcmp(m, "close_range")) return mode_close_range();
  if (!strcmp(m, "eintr")) return mode_eintr();
  if (!strcmp(m, "dlopen_tls")) return mode_dlopen_tls(arg, argc > 4 ? argv[4] : "");
  fprintf(stderr, "unknown mode %s\n", m);
  return 2;
}
