/* send(): ok = the standard run (common.h); udp = a UDP socket connect()ed to a local
 * "DNS server" sends a query and gets an answer (not captured), then one LLM exchange over
 * TCP is (transcript "llm"). */
#include "common.h"

static long send_out(struct ct_conn* c, const char* p, size_t n) { return send(c->fd, p, n, 0); }
static long send_once(int fd) { return send(fd, "x", 1, 0); }

/* A DNS query for api.openai.com (A record) and its echo, over a connected UDP socket. */
static void udp_dns_exchange(void) {
  static const char query[] = "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
                              "\x03" "api\x06" "openai\x03" "com\x00\x00\x01\x00\x01";
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  int server = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (server < 0 || bind(server, (struct sockaddr*)&a, sizeof a) != 0 ||
      getsockname(server, (struct sockaddr*)&a, &len) != 0)
    ct_die("udp server");
  int client = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (client < 0 || connect(client, (struct sockaddr*)&a, sizeof a) != 0) ct_die("udp connect");
  errno = CT_SENTINEL;
  long rc = send(client, query, sizeof query - 1, 0);
  ct_report("udp send", rc, errno);
  char buf[512];
  struct sockaddr_in from;
  socklen_t from_len = sizeof from;
  long got = recvfrom(server, buf, sizeof buf, 0, (struct sockaddr*)&from, &from_len);
  if (got <= 0 || sendto(server, buf, (size_t)got, 0, (struct sockaddr*)&from, from_len) != got)
    ct_die("udp server answer");
  errno = CT_SENTINEL;
  rc = recv(client, buf, sizeof buf, 0);
  ct_report("udp recv", rc, errno);
  close(client);
  close(server);
}

int main(int argc, char** argv) {
  const char* mode = ct_mode(argc, argv, "ok|udp");
  ct_out = send_out;
  if (ct_is(mode, "ok")) return ct_standard_run("send", 0, send_once);
  udp_dns_exchange();
  struct ct_conn c;
  ct_start_server(1, ct_serve_plain);
  ct_connect(&c);
  ct_llm_exchange(&c, "localhost");
  ct_print_transcript("llm", &c);
  close(c.fd);
  ct_print_errno_kept();
  ct_wait_server();
  return 0;
}
