/* Shared helpers of the traffic-capture test programs (tests/capture/t_*.c).
 *
 * Each program is single-threaded and self-contained: it forks a server child listening on
 * 127.0.0.1 (a port the kernel picks), connects to it and talks HTTP/1.1 through the
 * function under test (ct_out / ct_in point at it). The server's descriptors come from
 * accept(), so the preload never captures them.
 *
 * Output is deterministic (no ports, pids or addresses), so capture_tests can require
 * byte-identical stdout with and without the preload. What the client sent and received
 * on a connection is printed as a transcript line (length and FNV-1a hash per direction);
 * the test compares it with the bytes the spool holds. Errno is printed by name after a
 * failing call, and every successful call under test is checked to leave errno alone. */
#ifndef CLAWTRACE_TESTS_CAPTURE_COMMON_H
#define CLAWTRACE_TESTS_CAPTURE_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define CT_SENTINEL EDOM /* errno value set before each call under test */

static inline const char* ct_errname(int e) {
  const char* n = strerrorname_np(e);
  return n ? n : "E?";
}

static inline void ct_die(const char* what) {
  printf("fatal: %s (errno=%s)\n", what, ct_errname(errno));
  exit(1);
}

/* The variant: argv[1], one of the '|'-separated words of `allowed` (default: the first
 * word), or exit 2 with a usage line. */
static inline const char* ct_mode(int argc, char** argv, const char* allowed) {
  static char mode[64];
  const char* want = argc >= 2 ? argv[1] : allowed;
  const size_t n = argc >= 2 ? strlen(want) : strcspn(allowed, "|");
  for (const char* p = allowed; n && n < sizeof mode && (p = strstr(p, want)) != NULL; p += n)
    if ((p == allowed || p[-1] == '|') && (p[n] == '|' || p[n] == '\0')) {
      memcpy(mode, want, n);
      mode[n] = '\0';
      signal(SIGPIPE, SIG_IGN); /* writes on a shut-down socket fail with EPIPE instead */
      return mode;
    }
  fprintf(stderr, "usage: %s [%s]\n", argv[0], allowed);
  exit(2);
}

static inline int ct_is(const char* mode, const char* want) { return strcmp(mode, want) == 0; }

/* "<what>: rc=<rc> errno=<NAME>" */
static inline void ct_report(const char* what, long rc, int err) {
  printf("%s: rc=%ld errno=%s\n", what, rc, ct_errname(err));
}

/* ---- transcripts -------------------------------------------------------------------- */

struct ct_transcript {
  uint64_t bytes;
  uint64_t hash; /* FNV-1a 64 */
};

static inline void ct_transcript_reset(struct ct_transcript* t) {
  t->bytes = 0;
  t->hash = 0xcbf29ce484222325ull;
}

static inline void ct_transcript_add(struct ct_transcript* t, const void* data, size_t n) {
  const unsigned char* p = (const unsigned char*)data;
  for (size_t i = 0; i < n; ++i) t->hash = (t->hash ^ p[i]) * 0x100000001b3ull;
  t->bytes += n;
}

/* ---- the client's connection and the calls under test ----------------------------------- */

struct ct_conn {
  int fd;
  void* ssl; /* SSL* in the TLS programs */
  struct ct_transcript sent, received;
};

static inline void ct_conn_reset(struct ct_conn* c) {
  ct_transcript_reset(&c->sent);
  ct_transcript_reset(&c->received);
}

/* "transcript <label>: sent <n> <hash> received <n> <hash>" (parsed by capture_test.cpp) */
static inline void ct_print_transcript(const char* label, const struct ct_conn* c) {
  printf("transcript %s: sent %llu %016llx received %llu %016llx\n", label,
         (unsigned long long)c->sent.bytes, (unsigned long long)c->sent.hash,
         (unsigned long long)c->received.bytes, (unsigned long long)c->received.hash);
}

typedef long (*ct_out_fn)(struct ct_conn*, const char*, size_t);
typedef long (*ct_in_fn)(struct ct_conn*, char*, size_t);

static inline long ct_write_out(struct ct_conn* c, const char* p, size_t n) {
  return write(c->fd, p, n);
}
static inline long ct_read_in(struct ct_conn* c, char* p, size_t n) { return read(c->fd, p, n); }

/* Programs point these at the function under test; the other direction uses write/read. */
static ct_out_fn ct_out = ct_write_out;
static ct_in_fn ct_in = ct_read_in;

/* Successful calls under test that changed errno (a wrapper must never do that). OpenSSL
 * itself clears errno before its socket I/O, so TLS programs also accept 0. */
static int ct_errno_changed = 0;
static int ct_errno_zero_ok = 0;

static inline void ct_check_errno_kept(void) {
  if (errno != CT_SENTINEL && !(ct_errno_zero_ok && errno == 0)) ++ct_errno_changed;
}

static inline void ct_print_errno_kept(void) {
  printf("errno after successful calls: %s\n", ct_errno_changed ? "CHANGED" : "kept");
}

static inline void ct_send(struct ct_conn* c, const char* p, size_t n) {
  while (n > 0) {
    errno = CT_SENTINEL;
    long rc = ct_out(c, p, n);
    if (rc <= 0) ct_die("sending");
    ct_check_errno_kept();
    ct_transcript_add(&c->sent, p, (size_t)rc);
    p += rc;
    n -= (size_t)rc;
  }
}

static inline void ct_send_str(struct ct_conn* c, const char* s) { ct_send(c, s, strlen(s)); }

/* One call of ct_in; dies on end of stream or error. */
static inline size_t ct_receive_some(struct ct_conn* c, char* p, size_t cap) {
  errno = CT_SENTINEL;
  long rc = ct_in(c, p, cap);
  if (rc <= 0) ct_die(rc == 0 ? "unexpected end of stream" : "receiving");
  ct_check_errno_kept();
  ct_transcript_add(&c->received, p, (size_t)rc);
  return (size_t)rc;
}

/* Receives exactly n bytes (an echo). */
static inline void ct_receive_exact(struct ct_conn* c, size_t n) {
  char buf[4096];
  while (n > 0) n -= ct_receive_some(c, buf, n < sizeof buf ? n : sizeof buf);
}

/* Whether buf holds a whole HTTP/1.1 response (Content-Length or chunked). */
static inline int ct_response_complete(const char* buf, size_t len) {
  const char* end = (const char*)memmem(buf, len, "\r\n\r\n", 4);
  if (!end) return 0;
  size_t head = (size_t)(end - buf) + 4;
  if (memmem(buf, head, "Transfer-Encoding: chunked", 26))
    return len >= head + 5 && memcmp(buf + len - 5, "0\r\n\r\n", 5) == 0 &&
           (len == head + 5 || memcmp(buf + len - 7, "\r\n", 2) == 0);
  const char* cl = (const char*)memmem(buf, head, "Content-Length: ", 16);
  return cl && len >= head + strtoul(cl + 16, NULL, 10);
}

/* Receives one response (reading 256 bytes at a time, so it takes several calls) and prints
 * its status line and size. */
static inline void ct_receive_response(struct ct_conn* c) {
  size_t cap = 1 << 16, len = 0;
  char* buf = (char*)malloc(cap);
  if (!buf) ct_die("malloc");
  while (!ct_response_complete(buf, len)) {
    if (cap - len < 1024) {
      cap *= 2;
      buf = (char*)realloc(buf, cap);
      if (!buf) ct_die("realloc");
    }
    len += ct_receive_some(c, buf + len, 256);
  }
  printf("response: %.*s, %zu bytes\n", (int)strcspn(buf, "\r"), buf, len);
  free(buf);
}

/* ---- requests --------------------------------------------------------------------------- */

/* An OpenAI chat request (streamed back as `events` SSE events) with a body of about
 * `body_size` bytes. No credentials: redaction is not what these programs test. */
static inline char* ct_llm_request(const char* host, size_t body_size, int events) {
  static const char words[] = "lorem ipsum dolor sit amet ";
  const char* head = "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"";
  const char* tail = "\"}]}";
  size_t fill = body_size > 100 ? body_size - 100 : 10;
  char* body = (char*)malloc(strlen(head) + fill + strlen(tail) + 1);
  char* req = (char*)malloc(fill + 1024);
  if (!body || !req) ct_die("malloc");
  size_t n = (size_t)sprintf(body, "%s", head);
  for (size_t i = 0; i < fill; ++i) body[n++] = words[i % (sizeof words - 1)];
  n += (size_t)sprintf(body + n, "%s", tail);
  sprintf(req,
          "POST /v1/chat/completions HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
          "X-Ct-Events: %d\r\nContent-Length: %zu\r\n\r\n%s",
          host, events, n, body);
  free(body);
  return req;
}

/* Sends a request and receives its response. */
static inline void ct_exchange(struct ct_conn* c, const char* request) {
  ct_send_str(c, request);
  ct_receive_response(c);
}

/* One LLM exchange: a small chat request, 3 events back. */
static inline void ct_llm_exchange(struct ct_conn* c, const char* host) {
  char* req = ct_llm_request(host, 200, 3);
  ct_exchange(c, req);
  free(req);
}

/* ---- the server child ------------------------------------------------------------------- */

/* The server's side of one connection: plain socket or TLS. */
struct ct_server_io {
  void* ctx;
  long (*read)(void* ctx, char* p, size_t n);
  long (*write)(void* ctx, const char* p, size_t n);
};

static inline void ct_server_write(const struct ct_server_io* io, const char* p, size_t n) {
  while (n > 0) {
    long rc = io->write(io->ctx, p, n);
    if (rc <= 0) _exit(3);
    p += rc;
    n -= (size_t)rc;
  }
}

/* Answers one request: an SSE stream (chunked) for a chat completion, else a small page. */
static inline void ct_answer(const struct ct_server_io* io, const char* req, size_t head_len) {
  char chunk[512];
  if (!memmem(req, head_len, "/chat/completions", 17)) {
    const char* page = "<html><body>hello</body></html>\n";
    int n = snprintf(chunk, sizeof chunk,
                     "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %zu\r\n\r\n%s",
                     strlen(page), page);
    ct_server_write(io, chunk, (size_t)n);
    return;
  }
  const char* ev = (const char*)memmem(req, head_len, "X-Ct-Events: ", 13);
  long events = ev ? strtol(ev + 13, NULL, 10) : 3;
  const char* h = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
  ct_server_write(io, h, strlen(h));
  for (long i = 0; i <= events; ++i) {
    char data[256];
    int d = i < events ? snprintf(data, sizeof data,
                                  "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\","
                                  "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"word %ld \"}}]}\n\n",
                                  i)
                       : snprintf(data, sizeof data, "data: [DONE]\n\n");
    int n = snprintf(chunk, sizeof chunk, "%x\r\n%s\r\n", d, data);
    ct_server_write(io, chunk, (size_t)n);
  }
  ct_server_write(io, "0\r\n\r\n", 5);
}

/* Serves one connection until the client closes it: HTTP/1.1 requests (Content-Length
 * bodies) are answered; anything else (binary, the HTTP/2 preface) is echoed back. */
static inline void ct_serve(const struct ct_server_io* io) {
  size_t cap = 1 << 16, len = 0;
  char* buf = (char*)malloc(cap);
  int echo = 0;
  for (;;) {
    if (cap - len < 4096 && !(buf = (char*)realloc(buf, cap *= 2))) _exit(4);
    long rc = io->read(io->ctx, buf + len, cap - len);
    if (rc <= 0) break;
    len += (size_t)rc;
    if (!echo && len >= 4) echo = buf[0] < 'A' || buf[0] > 'Z' || memcmp(buf, "PRI ", 4) == 0;
    if (echo) {
      ct_server_write(io, buf, len);
      len = 0;
      continue;
    }
    const char* end = (const char*)memmem(buf, len, "\r\n\r\n", 4);
    if (!end) continue;
    size_t head = (size_t)(end - buf) + 4;
    const char* cl = (const char*)memmem(buf, head, "Content-Length: ", 16);
    size_t whole = head + (cl ? strtoul(cl + 16, NULL, 10) : 0);
    if (len < whole) continue;
    ct_answer(io, buf, head);
    memmove(buf, buf + whole, len - whole);
    len -= whole;
  }
  free(buf);
}

static inline long ct_fd_read(void* ctx, char* p, size_t n) { return read(*(int*)ctx, p, n); }
static inline long ct_fd_write(void* ctx, const char* p, size_t n) {
  return write(*(int*)ctx, p, n);
}

static inline void ct_serve_plain(int fd) {
  struct ct_server_io io = {&fd, ct_fd_read, ct_fd_write};
  ct_serve(&io);
}

typedef void (*ct_serve_fn)(int fd);

static int ct_port = 0;
static pid_t ct_server_pid = -1;

/* When CT_PORT_FILE is set, the ports used go there (not to stdout: they differ per run). */
static inline void ct_note_port(int port) {
  const char* file = getenv("CT_PORT_FILE");
  FILE* f = file ? fopen(file, "a") : NULL;
  if (f) {
    fprintf(f, "%d\n", port);
    fclose(f);
  }
}

/* A TCP socket listening on 127.0.0.1 at a port the kernel picks (stored in *port). */
static inline int ct_listen(int* port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr*)&a, sizeof a) != 0 || listen(fd, 16) != 0 ||
      getsockname(fd, (struct sockaddr*)&a, &len) != 0)
    ct_die("listening");
  *port = ntohs(a.sin_port);
  return fd;
}

/* Forks a server child that serves `connections` connections, one after another. */
static inline void ct_start_server(int connections, ct_serve_fn serve) {
  int lfd = ct_listen(&ct_port);
  ct_note_port(ct_port);
  fflush(stdout);
  ct_server_pid = fork();
  if (ct_server_pid < 0) ct_die("fork");
  if (ct_server_pid == 0) {
    for (int i = 0; i < connections; ++i) {
      int fd = accept(lfd, NULL, NULL);
      if (fd < 0) _exit(5);
      serve(fd);
      close(fd);
    }
    _exit(0);
  }
  close(lfd);
}

static inline void ct_wait_server(void) {
  int status = 0;
  if (waitpid(ct_server_pid, &status, 0) != ct_server_pid) ct_die("waitpid");
  if (WIFEXITED(status)) printf("server: exited %d\n", WEXITSTATUS(status));
  else printf("server: status 0x%x\n", (unsigned)status);
}

/* A TCP connection to the server (blocking connect: the listen backlog completes it). */
static inline void ct_connect(struct ct_conn* c) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)ct_port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  c->ssl = NULL;
  ct_conn_reset(c);
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c->fd < 0 || connect(c->fd, (struct sockaddr*)&a, sizeof a) != 0) ct_die("connecting");
}

/* ---- the standard run of the socket programs ----------------------------------------------- */

/* One call of the function under test on fd, with a tiny buffer. */
typedef long (*ct_call_fn)(int fd);

/* One LLM exchange through the function under test (transcript "llm"), then the function
 * fails on the still-tracked connection (a read with nothing to read on a non-blocking
 * socket: EAGAIN; a write after shutdown(SHUT_WR): EPIPE), then on the closed descriptor
 * (EBADF). */
static inline int ct_standard_run(const char* fn, int reads, ct_call_fn call) {
  char what[128];
  struct ct_conn c;
  ct_start_server(1, ct_serve_plain);
  ct_connect(&c);
  ct_llm_exchange(&c, "localhost");
  ct_print_transcript("llm", &c);
  if (reads) {
    fcntl(c.fd, F_SETFL, O_NONBLOCK);
    snprintf(what, sizeof what, "%s with nothing to read", fn);
  } else {
    shutdown(c.fd, SHUT_WR);
    snprintf(what, sizeof what, "%s after shutdown", fn);
  }
  errno = CT_SENTINEL;
  long rc = call(c.fd);
  ct_report(what, rc, errno);
  close(c.fd);
  snprintf(what, sizeof what, "%s on a closed descriptor", fn);
  errno = CT_SENTINEL;
  rc = call(c.fd);
  ct_report(what, rc, errno);
  ct_print_errno_kept();
  ct_wait_server();
  return 0;
}

#endif
