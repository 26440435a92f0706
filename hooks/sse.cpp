#include "sse.h"

namespace clawtrace::sse {
namespace {

// Applies one complete line (terminator removed) per the EventSource rules.
void take_line(std::string_view line, Event& cur, bool& have_field, uint64_t t_ns,
               std::vector<Event>& out) {
  if (line.empty()) {
    if (have_field) {
      if (!cur.data.empty() && cur.data.back() == '\n') cur.data.pop_back();
      cur.t_ns = t_ns;
      out.push_back(std::move(cur));
    }
    cur = Event{};
    have_field = false;
    return;
  }
  if (line.front() == ':') return;  // comment (keep-alive)
  std::string_view name = line, value;
  if (size_t colon = line.find(':'); colon != std::string_view::npos) {
    name = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (name == "data") {
    cur.data.append(value);
    cur.data.push_back('\n');
  } else if (name == "event") {
    cur.event.assign(value);
  } else if (name == "id") {
    cur.id.assign(value);
  } else {
    return;  // retry and unknown fields do not make an event
  }
  have_field = true;
}

}  // namespace

void Parser::take(std::string_view line, uint64_t t_ns, std::vector<Event>& out) {
  if (first_line_) {  // the stream may start with a UTF-8 byte order mark
    first_line_ = false;
    if (line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
  }
  take_line(line, cur_, have_field_, t_ns, out);
}

void Parser::feed(std::string_view bytes, uint64_t t_ns, std::vector<Event>& out) {
  size_t i = 0;
  if (skip_lf_ && !bytes.empty()) {
    if (bytes.front() == '\n') i = 1;
    skip_lf_ = false;
  }
  while (i < bytes.size()) {
    size_t end = bytes.find_first_of("\r\n", i);
    if (end == std::string_view::npos) {
      line_.append(bytes.substr(i));
      return;
    }
    line_.append(bytes.substr(i, end - i));
    take(line_, t_ns, out);
    line_.clear();
    i = end + 1;
    if (bytes[end] == '\r') {
      if (i == bytes.size()) skip_lf_ = true;
      else if (bytes[i] == '\n') ++i;
    }
  }
}

bool Parser::finish(uint64_t t_ns, std::vector<Event>& out) {
  size_t before = out.size();
  if (!line_.empty()) {
    take(line_, t_ns, out);
    line_.clear();
  }
  take_line({}, cur_, have_field_, t_ns, out);
  return out.size() > before;
}

std::vector<Event> parse(const std::vector<http::BodyPiece>& body) {
  Parser p;
  std::vector<Event> out;
  for (const auto& piece : body) p.feed(piece.bytes, piece.t_ns, out);
  p.finish(body.empty() ? 0 : body.back().t_ns, out);
  return out;
}

std::vector<Line> split_lines(const std::vector<http::BodyPiece>& body) {
  std::vector<Line> out;
  std::string cur;
  auto push = [&](uint64_t t) {
    if (!cur.empty() && cur.back() == '\r') cur.pop_back();
    if (!cur.empty()) out.push_back(Line{std::move(cur), t});
    cur.clear();
  };
  for (const auto& piece : body) {
    std::string_view b = piece.bytes;
    size_t i = 0;
    for (size_t nl; (nl = b.find('\n', i)) != std::string_view::npos; i = nl + 1) {
      cur.append(b.substr(i, nl - i));
      push(piece.t_ns);
    }
    cur.append(b.substr(i));
  }
  push(body.empty() ? 0 : body.back().t_ns);
  return out;
}

}  // namespace clawtrace::sse
