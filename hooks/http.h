// HTTP/1.x reassembly at ingestion: turns the two byte streams of one captured connection
// (what the process sent, what it received, each in order, split anywhere) into
// request/response exchanges with decoded bodies. Never throws on bad traffic: what cannot
// be parsed becomes an exchange (or a request) with `error` set.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace clawtrace::http {

enum class Direction { out = 0, in = 1 };  // out: request bytes; in: response bytes

struct Header {
  std::string name;  // lower-cased
  std::string value; // surrounding whitespace trimmed
};

// A piece of a decoded body and when its bytes arrived (time of the read that completed
// them, after de-chunking and content decoding). Streaming parsers use the times for
// time-to-first-token; the concatenation of all pieces is the body.
struct BodyPiece {
  uint64_t t_ns = 0;
  std::string bytes;
};

struct Request {
  std::string method;
  std::string target;   // as on the request line: path plus query
  std::string version;  // "HTTP/1.1"
  std::vector<Header> headers;
  std::string body;     // de-chunked and content-decoded
  uint64_t wire_bytes = 0;  // head plus body as sent
  uint64_t t_start_ns = 0;  // first byte written
  uint64_t t_end_ns = 0;    // last byte written
  std::string error;        // non-empty: malformed or truncated (body may be partial)

  const std::string* header(std::string_view lower_name) const;
  std::string_view path() const;   // target without the query string
  std::string_view query() const;  // after '?', empty if none
};

struct Response {
  int status = 0;
  std::string reason;
  std::vector<Header> headers;  // of the final (non-1xx) response
  std::vector<BodyPiece> body;  // de-chunked and content-decoded, in arrival order
  uint64_t wire_bytes = 0;      // final response head plus body as received
  uint64_t t_first_byte_ns = 0; // first byte of the final response head
  uint64_t t_end_ns = 0;        // last byte of the body (or when the stream ended)
  bool complete = false;        // framing said the body ended (or it ended with the connection)
  std::string error;            // non-empty: malformed, truncated, undecodable

  const std::string* header(std::string_view lower_name) const;
  std::string body_text() const;  // the pieces concatenated
};

// What the reassembler reports, in stream order. A request is reported as soon as it is
// complete (so llm_input can be emitted before the answer arrives); the exchange when its
// response is complete, or when the connection or session ended without one.
struct Exchange {
  uint64_t index = 0;  // 0-based position on the connection
  Request request;
  std::optional<Response> response;  // nullopt: no response bytes at all
  std::string error;  // empty when all went well; else the request's error, "no response",
                      // or the response's error (cut short, malformed, undecodable)
};

struct Update {
  enum class Kind { request, exchange } kind = Kind::request;
  // For Kind::request: `exchange.request` is complete and `response` is empty.
  Exchange exchange;
};

// What one connection may make ingestion hold. Bodies sent without a content coding are
// not capped (hundreds of KB are normal); decoded ones are, against decompression bombs.
struct Limits {
  uint64_t max_head = uint64_t{1} << 20;           // a request/response head, and trailers
  uint64_t max_decoded_body = uint64_t{256} << 20;  // a content-decoded body
};

class Connection {
 public:
  Connection();
  explicit Connection(const Limits& limits);
  ~Connection();
  Connection(Connection&&) noexcept;
  Connection& operator=(Connection&&) noexcept;

  // Feeds bytes of one direction in stream order. `offset` is the stream position of the
  // first byte; a gap (bytes never captured) makes the affected message an error and the
  // direction resynchronise at the next message head it can find.
  void feed(Direction d, uint64_t offset, std::string_view bytes, uint64_t t_ns);
  // The connection closed: a response delimited by close completes, anything else pending
  // is reported with an error ("truncated").
  void close(uint64_t t_ns);
  // Updates produced since the last call, in order.
  [[nodiscard]] std::vector<Update> take_updates();
  // True once the connection is known not to carry HTTP/1.x (nothing more is parsed).
  bool abandoned() const;

  // State to carry a connection over between ingestion passes (the store keeps it as
  // JSON-free opaque bytes): the raw bytes of what is not yet reported, replayed on restore
  // with what was already taken suppressed. Updates not yet taken are not lost. Returns an
  // empty string when nothing is pending (closed with every update taken, or nothing fed).
  // Restoring bytes that are not a saved state gives an abandoned connection.
  std::string save() const;
  static Connection restore(std::string_view saved);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace clawtrace::http
