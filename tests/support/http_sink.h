// A tiny HTTP/1.1 receiver on 127.0.0.1 for tests of senders (OTLP export): records each
// request (target, headers, body) and answers with the next scripted status, then 200.
// One connection at a time, `Connection: close`.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace clawtrace::test {

class HttpSink {
 public:
  struct Request {
    std::string head;  // request line and headers
    std::string body;
  };
  struct Reply {
    Reply(int s = 200, std::string b = "{}", std::string extra = "")
        : status(s), body(std::move(b)), extra_headers(std::move(extra)) {}
    int status;
    std::string body;
    std::string extra_headers;  // "Name: value\r\n"…
  };

  HttpSink() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd_, 16) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      return;
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~HttpSink() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    if (thread_.joinable()) thread_.join();
  }
  HttpSink(const HttpSink&) = delete;
  HttpSink& operator=(const HttpSink&) = delete;

  int port() const { return port_; }
  std::string url(const std::string& path = "/v1/traces") const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  // Replies for the next requests, in order; afterwards `fallback`.
  void script(std::deque<Reply> replies, Reply fallback = Reply()) {
    std::lock_guard<std::mutex> l(m_);
    replies_ = std::move(replies);
    fallback_ = std::move(fallback);
  }
  std::vector<Request> requests() const {
    std::lock_guard<std::mutex> l(m_);
    return requests_;
  }

 private:
  void serve() {
    while (!stop_) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      handle(c);
      close(c);
    }
  }

  void handle(int c) {
    std::string in;
    char buf[65536];
    size_t head_end = std::string::npos;
    while ((head_end = in.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = read(c, buf, sizeof buf);
      if (n <= 0) return;
      in.append(buf, static_cast<size_t>(n));
    }
    Request r{in.substr(0, head_end), {}};
    const size_t length = content_length(r.head);
    r.body = in.substr(head_end + 4);
    while (r.body.size() < length) {
      ssize_t n = read(c, buf, sizeof buf);
      if (n <= 0) return;
      r.body.append(buf, static_cast<size_t>(n));
    }
    Reply reply;
    {
      std::lock_guard<std::mutex> l(m_);
      requests_.push_back(std::move(r));
      if (!replies_.empty()) {
        reply = std::move(replies_.front());
        replies_.pop_front();
      } else {
        reply = fallback_;
      }
    }
    const std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " X\r\nContent-Type: application/json\r\n" +
                            reply.extra_headers + "Content-Length: " + std::to_string(reply.body.size()) +
                            "\r\nConnection: close\r\n\r\n" + reply.body;
    for (size_t off = 0; off < out.size();) {
      ssize_t n = write(c, out.data() + off, out.size() - off);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }

  static size_t content_length(const std::string& head) {
    std::string lower(head);
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    const size_t at = lower.find("\r\ncontent-length:");
    return at == std::string::npos ? 0 : std::strtoul(head.c_str() + at + 17, nullptr, 10);
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex m_;
  std::deque<Reply> replies_;
  Reply fallback_;
  std::vector<Request> requests_;
};

}  // namespace clawtrace::test
