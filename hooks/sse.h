// Streaming parsers for the two line-based response formats LLM APIs stream in:
// Server-Sent Events (text/event-stream) and newline-delimited JSON (Ollama, and Gemini
// without alt=sse is a JSON array, not handled here). Bytes may be split anywhere, even
// inside a line, a CRLF or a UTF-8 character; each event carries the arrival time of the
// bytes that completed it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http.h"

namespace clawtrace::sse {

struct Event {
  std::string event;  // the `event:` field; empty means "message"
  std::string data;   // `data:` lines joined with '\n'
  std::string id;
  uint64_t t_ns = 0;
};

class Parser {
 public:
  // Appends the events completed by these bytes to `out`.
  void feed(std::string_view bytes, uint64_t t_ns, std::vector<Event>& out);
  // End of stream: an event without its terminating blank line is still delivered
  // (servers often close right after the last `data:` line). Returns true if one was.
  bool finish(uint64_t t_ns, std::vector<Event>& out);

 private:
  void take(std::string_view line, uint64_t t_ns, std::vector<Event>& out);

  std::string line_;        // bytes of the current, unfinished line
  bool skip_lf_ = false;    // the previous chunk ended in CR: a leading LF belongs to it
  bool have_field_ = false; // fields seen since the last dispatch
  bool first_line_ = true;  // a byte order mark may start the stream
  Event cur_;
};

// Every event of a whole body.
std::vector<Event> parse(const std::vector<http::BodyPiece>& body);

struct Line {
  std::string text;  // without the line terminator
  uint64_t t_ns = 0;
};
// Non-empty lines of a newline-delimited body (NDJSON); the last line need not end in \n.
std::vector<Line> split_lines(const std::vector<http::BodyPiece>& body);

}  // namespace clawtrace::sse
