// HTTP/1.x reassembly. Each direction is parsed by a small state machine over the bytes as
// they come (no re-scanning of what was already parsed). The n-th response answers the n-th
// request; a response is parsed only once its request's head is known (HEAD and CONNECT
// change its framing). Save/restore keeps the raw bytes of everything not yet reported and
// replays them, so the saved state needs no knowledge of the parser's internals.
#include "http.h"

#include <algorithm>
#include <deque>
#include <optional>

#include "decode.h"

#ifdef CLAWTRACE_HTTP_PARANOID
#include <cstdlib>
#endif

#include "text.h"

namespace clawtrace::http {
namespace {

using text::lower;
using text::trim;

constexpr uint8_t kSaveVersion = 1;
constexpr size_t kMaxChunkLine = 4096;
constexpr int kMaxLengthDigits = 18;  // Content-Length below 10^18: no overflow
constexpr int kMaxChunkDigits = 15;
constexpr size_t kMaxStuckSteps = 16;
constexpr uint64_t kMaxIndex = uint64_t{1} << 62;  // far beyond any connection; no overflow

// Where a resynchronising request parser may pick up again.
constexpr std::string_view kMethods[] = {"GET ",  "POST ",    "PUT ",     "DELETE ", "PATCH ",
                                         "HEAD ", "OPTIONS ", "CONNECT ", "TRACE "};
constexpr std::string_view kMethodStarts = "GPDHOCT";
constexpr std::string_view kStatusStart = "HTTP/1.";

// How a direction treats the bytes at the start of its next message.
enum class Mode : uint8_t {
  first,    // the connection's first request: not HTTP/1.x means abandon the connection
  message,  // a message head must follow
  resync,   // skip to the next plausible head (after a gap or a framing error)
  dead,     // not HTTP any more (tunnel, upgrade): ignore everything
};
constexpr uint8_t kModeCount = 4;

// A position where a direction's parser state is fully described by (offset, mode) plus the
// message index: what save() records to replay from.
struct Checkpoint {
  uint64_t offset = 0;
  Mode mode = Mode::message;
};

enum class Stage : uint8_t {
  idle,         // between messages
  candidate,    // resync: checking whether a possible head really is one
  head,         // start line and header lines
  body_length,  // Content-Length body
  chunk_size,   // chunked: size line
  chunk_data,
  chunk_end,  // chunked: CRLF after the data
  trailers,
  body_close,  // response delimited by the connection's end
};

struct Segment {
  uint64_t seq = 0;  // feed order across both directions
  uint64_t offset = 0;
  std::string bytes;
  uint64_t t = 0;
  uint64_t end() const { return offset + bytes.size(); }
};

struct Timed {
  std::string bytes;
  uint64_t t = 0;
  size_t used = 0;
};

bool is_tchar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return c != 0 &&
         std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

bool known_method_prefix(std::string_view m, bool whole) {
  for (std::string_view k : kMethods) {
    k.remove_suffix(1);
    if (whole ? k == m : k.substr(0, m.size()) == m) return true;
  }
  return false;
}

// Checks a start line byte by byte so that bytes which are not HTTP/1.x are recognised at
// once (a TLS ClientHello has no line end for a long while). `ok` comes as soon as the line
// is certainly a start line: at its end for a request line, after the status code for a
// status line (the reason phrase may be anything).
class LineCheck {
 public:
  enum class Verdict : uint8_t { more, ok, bad };
  LineCheck() = default;
  LineCheck(Direction d, bool known_methods, uint64_t max_len)
      : dir_(d), known_(known_methods), max_len_(max_len) {}

  Verdict verdict() const { return v_; }
  Verdict push(char ch) {
    if (v_ != Verdict::more) return v_;
    if (++len_ > max_len_) return v_ = Verdict::bad;
    auto c = static_cast<unsigned char>(ch);
    v_ = dir_ == Direction::out ? request(c) : status(c);
    return v_;
  }

 private:
  Verdict request(unsigned char c) {
    switch (part_) {
      case 0:  // method
        if (c == ' ') {
          if (method_.empty() || (known_ && !known_method_prefix(method_, true)))
            return Verdict::bad;
          return next();
        }
        if (!is_tchar(c) || method_.size() >= 24) return Verdict::bad;
        method_.push_back(static_cast<char>(c));
        return known_ && !known_method_prefix(method_, false) ? Verdict::bad : Verdict::more;
      case 1:  // target
        if (c == ' ') return n_ == 0 ? Verdict::bad : next();
        if (c <= ' ' || c == 0x7f) return Verdict::bad;
        ++n_;
        return Verdict::more;
      case 2:  // HTTP/1.x
        return version(c);
      case 3:
        if (c == '\n') return Verdict::ok;
        return c == '\r' ? next() : Verdict::bad;
      default: return c == '\n' ? Verdict::ok : Verdict::bad;
    }
  }
  Verdict status(unsigned char c) {
    switch (part_) {
      case 0: return version(c);
      case 1: return c == ' ' ? next() : Verdict::bad;
      case 2:  // three digits
        if (!is_digit(c)) return Verdict::bad;
        return ++n_ == 3 ? next() : Verdict::more;
      default: return c == ' ' || c == '\r' || c == '\n' ? Verdict::ok : Verdict::bad;
    }
  }
  Verdict version(unsigned char c) {
    if (n_ < kStatusStart.size())
      return c == static_cast<unsigned char>(kStatusStart[n_++]) ? Verdict::more : Verdict::bad;
    return is_digit(c) ? next() : Verdict::bad;
  }
  Verdict next() {
    ++part_;
    n_ = 0;
    return Verdict::more;
  }

  Direction dir_ = Direction::out;
  bool known_ = false;
  uint64_t max_len_ = 0;
  uint64_t len_ = 0;
  int part_ = 0;
  size_t n_ = 0;
  std::string method_;
  Verdict v_ = Verdict::more;
};

// Earliest position in `in` where a head could start: a whole pattern, or a pattern's
// beginning cut off by the end of `in`.
size_t find_candidate(Direction d, std::string_view in) {
  std::string_view starts = d == Direction::out ? kMethodStarts : kStatusStart.substr(0, 1);
  for (size_t i = in.find_first_of(starts); i != std::string_view::npos;
       i = in.find_first_of(starts, i + 1)) {
    std::string_view rest = in.substr(i);
    auto fits = [&](std::string_view p) {
      return p.substr(0, rest.size()) == rest.substr(0, p.size());
    };
    if (d == Direction::in ? fits(kStatusStart)
                           : std::any_of(std::begin(kMethods), std::end(kMethods), fits))
      return i;
  }
  return std::string_view::npos;
}

bool has_header(const std::vector<Header>& hs, std::string_view name) {
  return std::any_of(hs.begin(), hs.end(), [&](const Header& h) { return h.name == name; });
}

// All values of a header joined as one list.
std::string joined(const std::vector<Header>& hs, std::string_view name) {
  std::string r;
  for (const auto& h : hs) {
    if (h.name != name) continue;
    if (!r.empty()) r += ',';
    r += h.value;
  }
  return r;
}

std::vector<std::string> list_items(std::string_view v) {
  std::vector<std::string> items;
  while (true) {
    size_t comma = v.find(',');
    std::string item = lower(trim(v.substr(0, comma)));
    if (!item.empty()) items.push_back(std::move(item));
    if (comma == std::string_view::npos) return items;
    v.remove_prefix(comma + 1);
  }
}

// Content-Length: every value (and list item) the same decimal number.
std::optional<uint64_t> parse_length(const std::vector<Header>& hs) {
  std::optional<uint64_t> len;
  std::string all = joined(hs, "content-length");
  std::string_view v = all;
  while (true) {
    size_t comma = v.find(',');
    std::string_view item = trim(v.substr(0, comma));
    if (item.empty() || item.size() > kMaxLengthDigits) return std::nullopt;
    uint64_t n = 0;
    for (char c : item) {
      if (!is_digit(static_cast<unsigned char>(c))) return std::nullopt;
      n = n * 10 + static_cast<uint64_t>(c - '0');
    }
    if (len && *len != n) return std::nullopt;
    len = n;
    if (comma == std::string_view::npos) return len;
    v.remove_prefix(comma + 1);
  }
}

struct Framing {
  enum class Kind : uint8_t { none, length, chunked, close } kind = Kind::none;
  uint64_t length = 0;
  std::vector<decode::Coding> transfer;  // transfer codings besides chunked, as applied
  std::string coding_error;              // undecodable transfer coding: body kept as is
  std::string error;                     // cannot tell where the body ends
};

Framing framing_of(const std::vector<Header>& hs, bool response) {
  Framing f;
  std::vector<std::string> te = list_items(joined(hs, "transfer-encoding"));
  if (!te.empty()) {
    bool chunked = te.back() == "chunked";
    if (chunked) te.pop_back();
    if (!chunked && !response) {
      f.error = "request with a transfer-encoding other than chunked";
      return f;
    }
    std::string rest;
    for (const auto& item : te) rest += item + ",";
    if (auto codings = decode::parse_codings(rest))
      f.transfer = *codings;
    else
      f.coding_error = "unsupported transfer-encoding: " + codings.error();
    f.kind = chunked ? Framing::Kind::chunked : Framing::Kind::close;
    return f;
  }
  if (has_header(hs, "content-length")) {
    auto len = parse_length(hs);
    if (!len) f.error = "invalid content-length";
    f.kind = Framing::Kind::length;
    f.length = len.value_or(0);
    return f;
  }
  f.kind = response ? Framing::Kind::close : Framing::Kind::none;
  return f;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Chunk size line without its line end: hex digits, optional whitespace and extensions.
std::optional<uint64_t> parse_chunk_size(std::string_view line) {
  line = trim(line);
  uint64_t n = 0;
  int digits = 0;
  for (; digits < static_cast<int>(line.size()); ++digits) {
    char c = line[static_cast<size_t>(digits)];
    int v = hex_value(c);
    if (v < 0) break;
    if (digits >= kMaxChunkDigits) return std::nullopt;
    n = n * 16 + static_cast<uint64_t>(v);
  }
  if (digits == 0) return std::nullopt;
  std::string_view rest = trim(line.substr(static_cast<size_t>(digits)));
  if (!rest.empty() && rest.front() != ';') return std::nullopt;
  return n;
}

// How much of `b` belongs to the current line, stopping one byte past `room` so that a cap
// is hit at the same byte however the input is split; and whether the line ended.
std::pair<size_t, bool> line_part(std::string_view b, uint64_t room) {
  size_t nl = b.find('\n');
  size_t take = nl == std::string_view::npos ? b.size() : nl + 1;
  if (take > room && take - room > 1) return {static_cast<size_t>(room + 1), false};
  return {take, nl != std::string_view::npos};
}

std::string_view strip_line_end(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// Little-endian base-128 integers for the saved state.
void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

class SavedReader {
 public:
  explicit SavedReader(std::string_view s) : s_(s) {}
  bool ok() const { return ok_; }
  bool at_end() const { return s_.empty(); }
  uint8_t byte() {
    if (s_.empty()) return fail(), 0;
    auto b = static_cast<uint8_t>(s_.front());
    s_.remove_prefix(1);
    return b;
  }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t b = byte();
      if (!ok_) return 0;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    return fail(), 0;
  }
  std::string_view bytes(uint64_t n) {
    if (n > s_.size()) return fail(), std::string_view{};
    std::string_view r = s_.substr(0, n);
    s_.remove_prefix(n);
    return r;
  }

 private:
  void fail() {
    ok_ = false;
    s_ = {};
  }
  std::string_view s_;
  bool ok_ = true;
};

}  // namespace

// One request/response pair in flight; slots[i] has index base + i.
struct Slot {
  Request request;
  std::optional<Response> response;
  Checkpoint out_start, in_start;  // where its request/response began
  bool out_started = false, in_started = false;
  bool head_known = false;  // request head parsed (or given up on): its response may be parsed
  bool request_done = false, response_done = false;
  bool upgrade = false;  // CONNECT or Upgrade: the next request waits for this answer
};

// One direction's parser and the bytes it still needs.
struct Side {
  Side(Direction d, Mode m, uint64_t at, uint64_t idx)
      : dir(d), mode(m), pos(at), received(at), index(idx) {}

  Direction dir;
  Mode mode;
  Stage stage = Stage::idle;
  uint64_t pos;                    // stream offset of the next byte to parse
  uint64_t received;               // stream offset after the last byte fed
  uint64_t index;                  // message being (or next to be) parsed
  Checkpoint start;                // where the current message or candidate began
  std::optional<uint64_t> rewind;  // set by a step that hands bytes back for re-parsing
  std::deque<Timed> rescan;        // bytes to parse (again) before new input
  std::deque<Segment> log;         // what was fed, from the oldest checkpoint needed on
  size_t next = 0, used = 0;       // first segment of `log` not parsed completely, and how far
  uint64_t work = 0;               // steps that made progress
  size_t stuck = 0;

  // The message (or candidate) being parsed.
  LineCheck check;
  std::vector<Timed> cand;
  std::string line;
  uint64_t head_bytes = 0;
  bool first_line = true;
  uint64_t remaining = 0;
  bool saw_cr = false;
  std::optional<decode::Decoder> decoder;

  Checkpoint checkpoint() const {
    if (stage == Stage::idle) return {pos, mode};
    return start;
  }
};

struct Connection::Impl {
  explicit Impl(const Limits& l) : limits(l) {}

  Limits limits;
  Side out{Direction::out, Mode::first, 0, 0};
  Side in{Direction::in, Mode::message, 0, 0};
  std::deque<Slot> slots;
  uint64_t base = 0;                             // index of slots.front()
  uint64_t next_request = 0, next_exchange = 0;  // next to report
  uint64_t requests_taken = 0, exchanges_taken = 0;
  uint64_t seq = 0;
  std::vector<Update> updates;
  bool abandoned = false;
  int released = 0;  // while closing: 1 = requests wait for nothing, 2 = responses neither
  std::optional<uint64_t> closed_at;

  // ---- feeding ----

  void feed(Direction d, uint64_t offset, std::string_view bytes, uint64_t t) {
    if (abandoned || closed_at || bytes.empty()) return;
    Side& s = side(d);
    if (offset < s.received) {  // already seen: keep only what is new
      uint64_t dup = s.received - offset;
      if (dup >= bytes.size()) return;
      bytes.remove_prefix(static_cast<size_t>(dup));
      offset = s.received;
    }
    if (bytes.size() > UINT64_MAX - offset)
      bytes = bytes.substr(0, static_cast<size_t>(UINT64_MAX - offset));
    if (bytes.empty()) return;
    s.received = offset + bytes.size();
    s.log.push_back(Segment{seq++, offset, std::string(bytes), t});
    pump();
    settle();
  }

  void close(uint64_t t) {
    if (abandoned || closed_at) return;
    closed_at = t;
    released = 1;
    pump();
    finish_side(out, t);
    if (out.received == 0 && in.stage == Stage::idle) in.mode = Mode::dead;  // no request at all
    released = 2;
    pump();
    finish_side(in, t);
    for (auto& sl : slots) {
      if (!sl.request_done) {
        sl.request.error = sl.request.error.empty() ? "connection closed before the request ended"
                                                    : sl.request.error;
        sl.request_done = sl.head_known = true;
      }
      sl.response_done = true;
    }
    settle();
  }

  // Reports what is ready, or forgets everything if the connection turned out not to be HTTP.
  void settle() {
    if (!abandoned) return emit();
    slots.clear();
    updates.clear();
    for (Side* s : {&out, &in}) {
      s->log.clear();
      s->rescan.clear();
      s->next = s->used = 0;
    }
  }

  Side& side(Direction d) { return d == Direction::out ? out : in; }

  void pump() {
    bool progress = true;
    while (progress && !abandoned) {
      progress = drain(out);
      progress = drain(in) || progress;
    }
  }

  // Parses what `s` holds until done or blocked; true if anything happened.
  bool drain(Side& s) {
    uint64_t work_before = s.work;
    while (s.next < s.log.size() && !abandoned) {
      const Segment& seg = s.log[s.next];
      s.used += consume(s, seg, s.used);
      if (s.used < seg.bytes.size()) break;
      ++s.next;
      s.used = 0;
    }
    if (s.next == s.log.size() && !abandoned) drain_rescan(s);
    return s.work != work_before;
  }

  // Parses `seg` from byte `from`; returns how many bytes were taken.
  size_t consume(Side& s, const Segment& seg, size_t from) {
    if (!drain_rescan(s)) return 0;
    std::string_view in_bytes = std::string_view(seg.bytes).substr(from);
    uint64_t offset = seg.offset + from;
    if (offset > s.pos) {
      on_gap(s);
      ++s.work;  // a message the gap ended may unblock the other side (an upgrade's answer)
    }
    s.pos = offset;
    size_t used = 0;
    while (used < in_bytes.size() && !abandoned && !blocked(s)) {
      used += advance(s, in_bytes.substr(used), seg.t);
      if (!drain_rescan(s)) break;
    }
    return used;
  }

  // Re-parses handed-back bytes; false if blocked before the end of them.
  bool drain_rescan(Side& s) {
    while (!s.rescan.empty()) {
      if (abandoned || blocked(s)) return false;
      Timed cur = std::move(s.rescan.front());
      s.rescan.pop_front();
      size_t queued = s.rescan.size();
      cur.used += advance(s, std::string_view(cur.bytes).substr(cur.used), cur.t);
      if (cur.used < cur.bytes.size()) {
        auto at = s.rescan.begin() + static_cast<std::ptrdiff_t>(s.rescan.size() - queued);
        s.rescan.insert(at, std::move(cur));  // after what the step handed back
      }
    }
    return true;
  }

  size_t advance(Side& s, std::string_view bytes, uint64_t t) {
    Stage stage_before = s.stage;
    Mode mode_before = s.mode;
    size_t n = step(s, bytes, t);
    s.pos += n;
    bool moved = n > 0 || s.rewind || s.stage != stage_before || s.mode != mode_before;
    if (s.rewind) {
      s.pos = *s.rewind;
      s.rewind.reset();
    }
    if (moved) {
      ++s.work;
      s.stuck = 0;
    } else if (++s.stuck > kMaxStuckSteps) {
#ifdef CLAWTRACE_HTTP_PARANOID
      std::abort();
#endif
      s.mode = Mode::dead;  // a parser bug must not hang ingestion
      s.stage = Stage::idle;
    }
    return n;
  }

  bool blocked(const Side& s) const {
    return s.stage == Stage::idle && s.mode != Mode::dead && !may_begin(s);
  }

  bool may_begin(const Side& s) const {
    if (s.dir == Direction::out) {
      if (released >= 1 || s.index == 0) return true;
      const Slot* prev = find_slot(s.index - 1);
      return !(prev && prev->upgrade && !prev->response_done);
    }
    if (released >= 2) return true;
    const Slot* sl = find_slot(s.index);
    return sl && sl->head_known;
  }

  const Slot* find_slot(uint64_t index) const {
    if (index < base || index - base >= slots.size()) return nullptr;
    return &slots[static_cast<size_t>(index - base)];
  }
  Slot& slot(uint64_t index) { return slots[static_cast<size_t>(index - base)]; }
  Slot& cur(Side& s) { return slot(s.index); }

  // ---- one parsing step: returns bytes taken; 0 only with a change of stage ----

  size_t step(Side& s, std::string_view b, uint64_t t) {
    switch (s.stage) {
      case Stage::idle: return idle(s, b);
      case Stage::candidate: return candidate(s, b, t);
      case Stage::head: return head(s, b, t);
      case Stage::body_length:
      case Stage::chunk_data: return counted_body(s, b, t);
      case Stage::chunk_size: return chunk_size(s, b, t);
      case Stage::chunk_end: return chunk_end(s, b, t);
      case Stage::trailers: return trailers(s, b, t);
      case Stage::body_close: return close_body(s, b, t);
    }
    return b.size();
  }

  size_t idle(Side& s, std::string_view b) {
    switch (s.mode) {
      case Mode::dead: return b.size();
      case Mode::resync: return scan(s, b);
      case Mode::first:
      case Mode::message: break;
    }
    size_t k = b.find_first_not_of("\r\n");  // empty lines before a message are allowed
    if (k == std::string_view::npos) return b.size();
    if (k > 0) return k;
    begin(s, Checkpoint{s.pos, s.mode});
    return 0;
  }

  size_t scan(Side& s, std::string_view b) {
    size_t i = find_candidate(s.dir, b);
    if (i == std::string_view::npos) return b.size();
    if (i > 0) return i;
    s.stage = Stage::candidate;
    s.start = Checkpoint{s.pos, Mode::resync};
    s.cand.clear();
    s.check = LineCheck(s.dir, true, limits.max_head);
    return 0;
  }

  size_t candidate(Side& s, std::string_view b, uint64_t t) {
    for (size_t j = 0; j < b.size(); ++j) {
      auto v = s.check.push(b[j]);
      if (v == LineCheck::Verdict::more) continue;
      if (v == LineCheck::Verdict::ok) {
        add_cand(s, b.substr(0, j + 1), t);
        commit_candidate(s);
        return j + 1;
      }
      add_cand(s, b.substr(0, j), t);
      return fail_candidate(s, j);
    }
    add_cand(s, b, t);
    return b.size();
  }

  static void add_cand(Side& s, std::string_view b, uint64_t t) {
    if (b.empty()) return;
    if (!s.cand.empty() && s.cand.back().t == t)
      s.cand.back().bytes.append(b);
    else
      s.cand.push_back(Timed{std::string(b), t, 0});
  }

  // Not a head after all: parse its bytes again from the second one on (another head may
  // start inside); `taken` bytes of the current input went into the candidate.
  size_t fail_candidate(Side& s, size_t taken) {
    s.stage = Stage::idle;
    if (s.cand.empty()) return 1;  // cannot happen (the scan matched): skip the byte
    std::vector<Timed> again = std::move(s.cand);
    s.cand.clear();
    again.front().bytes.erase(0, 1);
    for (auto it = again.rbegin(); it != again.rend(); ++it)
      if (!it->bytes.empty()) s.rescan.push_front(std::move(*it));
    s.rewind = s.start.offset + 1;
    return taken;
  }

  // A real start line: parse the message from the candidate's first byte.
  void commit_candidate(Side& s) {
    Checkpoint at = s.start;
    std::vector<Timed> bytes = std::move(s.cand);
    s.cand.clear();
    for (auto it = bytes.rbegin(); it != bytes.rend(); ++it) s.rescan.push_front(std::move(*it));
    s.rewind = at.offset;
    begin(s, at);
  }

  void begin(Side& s, Checkpoint at) {
    reset_message(s);
    s.start = at;
    s.stage = Stage::head;
    s.check = LineCheck(s.dir, at.mode == Mode::resync, limits.max_head);
    while (slots.size() <= s.index - base) {
      slots.emplace_back();
      if (s.dir == Direction::in) {  // closing: a response nobody asked for (lost request)
        Slot& orphan = slots.back();
        orphan.request.error = "no request captured";
        orphan.request_done = orphan.head_known = true;
      }
    }
    Slot& sl = cur(s);
    if (s.dir == Direction::out) {
      sl.out_started = true;
      sl.out_start = at;
      sl.request = Request{};
    } else {
      sl.in_started = true;
      sl.in_start = at;
      sl.response.emplace();
    }
  }

  static void reset_message(Side& s) {
    s.line.clear();
    s.head_bytes = 0;
    s.first_line = true;
    s.remaining = 0;
    s.saw_cr = false;
    s.decoder.reset();
    s.cand.clear();
  }

  // Bytes `n` of the current message arrived at `t`.
  void count(Side& s, size_t n, uint64_t t) {
    if (n == 0) return;
    Slot& sl = cur(s);
    if (s.dir == Direction::out) {
      sl.request.wire_bytes += n;
      sl.request.t_end_ns = t;
    } else {
      sl.response->wire_bytes += n;
      sl.response->t_end_ns = t;
    }
  }

  void set_error(Side& s, const std::string& text) {
    Slot& sl = cur(s);
    std::string& e = s.dir == Direction::out ? sl.request.error : sl.response->error;
    if (e.empty()) e = text;
  }

  std::vector<Header>& headers(Side& s) {
    Slot& sl = cur(s);
    return s.dir == Direction::out ? sl.request.headers : sl.response->headers;
  }

  // ---- heads ----

  size_t head(Side& s, std::string_view b, uint64_t t) {
    if (s.head_bytes == 0) {
      Slot& sl = cur(s);
      (s.dir == Direction::out ? sl.request.t_start_ns : sl.response->t_first_byte_ns) = t;
    }
    auto [take, line_end] = line_part(b, limits.max_head - s.head_bytes);
    if (s.first_line && s.check.verdict() == LineCheck::Verdict::more) {
      for (size_t j = 0; j < take; ++j) {
        auto v = s.check.push(b[j]);
        if (v == LineCheck::Verdict::ok) break;
        if (v == LineCheck::Verdict::bad) return bad_start_line(s, j, t);
      }
    }
    s.line.append(b.substr(0, take));
    s.head_bytes += take;
    count(s, take, t);
    if (s.head_bytes > limits.max_head) {
      end_message(s, t, "head larger than " + std::to_string(limits.max_head) + " bytes",
                  Mode::resync);
    } else if (line_end) {
      head_line(s, t);
    }
    return take;
  }

  size_t bad_start_line(Side& s, size_t taken, uint64_t t) {
    if (s.start.mode == Mode::first) {  // the connection does not speak HTTP/1.x
      abandoned = true;
      return taken;
    }
    count(s, taken, t);
    end_message(s, t, s.dir == Direction::out ? "malformed request line" : "malformed status line",
                Mode::resync);
    return taken;
  }

  void head_line(Side& s, uint64_t t) {
    std::string text = std::move(s.line);
    s.line.clear();
    std::string_view line = strip_line_end(text);
    if (s.first_line) {
      s.first_line = false;
      start_line(s, line);
      return;
    }
    if (line.empty()) return head_done(s, t);
    std::vector<Header>& hs = headers(s);
    if (line.front() == ' ' || line.front() == '\t') {  // obsolete line folding
      if (hs.empty()) return end_message(s, t, "malformed header line", Mode::resync);
      std::string_view more = trim(line);
      if (!more.empty()) hs.back().value.append(" ").append(more);
      return;
    }
    size_t colon = line.find(':');
    std::string_view name =
        colon == std::string_view::npos ? std::string_view{} : trim(line.substr(0, colon));
    if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) {
          return is_tchar(static_cast<unsigned char>(c));
        }))
      return end_message(s, t, "malformed header line", Mode::resync);
    hs.push_back(Header{lower(name), std::string(trim(line.substr(colon + 1)))});
  }

  void start_line(Side& s, std::string_view line) {
    Slot& sl = cur(s);
    if (s.dir == Direction::out) {
      size_t sp1 = line.find(' ');
      size_t sp2 = line.find(' ', sp1 + 1);
      sl.request.method = std::string(line.substr(0, sp1));
      sl.request.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
      sl.request.version = std::string(line.substr(sp2 + 1));
      return;
    }
    Response& r = *sl.response;
    r.status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    r.reason = std::string(trim(line.substr(std::min<size_t>(12, line.size()))));
  }

  void head_done(Side& s, uint64_t t) {
    Slot& sl = cur(s);
    if (s.dir == Direction::out) {
      sl.head_known = true;
      const std::string* up = sl.request.header("upgrade");
      sl.upgrade = sl.request.method == "CONNECT" || (up && !up->empty());
      return start_body(s, sl.request.headers, framing_of(sl.request.headers, false), t);
    }
    Response& r = *sl.response;
    // 101 ends HTTP only when the request asked to upgrade (then the next request waited
    // for this answer, so what follows does not depend on how bytes interleave); an
    // unsolicited 101 is treated like any other interim response.
    const bool switched = r.status == 101 && sl.upgrade;
    if (r.status >= 100 && r.status < 200 && !switched) {  // interim: the answer follows
      r = Response{};
      reset_message(s);
      s.check = LineCheck(s.dir, false, limits.max_head);
      return;
    }
    const std::string& method = sl.request.method;
    bool tunnel = switched || (method == "CONNECT" && r.status / 100 == 2);
    if (tunnel) {
      out.mode = Mode::dead;
      return end_message(s, t, "", Mode::dead);
    }
    if (method == "HEAD" || r.status == 204 || r.status == 304)
      return end_message(s, t, "", Mode::message);
    start_body(s, r.headers, framing_of(r.headers, true), t);
  }

  void start_body(Side& s, const std::vector<Header>& hs, const Framing& f, uint64_t t) {
    if (!f.error.empty()) return end_message(s, t, f.error, Mode::resync);
    setup_decoder(s, hs, f);
    switch (f.kind) {
      case Framing::Kind::none: return end_message(s, t, "", Mode::message);
      case Framing::Kind::length:
        if (f.length == 0) return end_message(s, t, "", Mode::message);
        s.remaining = f.length;
        s.stage = Stage::body_length;
        return;
      case Framing::Kind::chunked: s.stage = Stage::chunk_size; return;
      case Framing::Kind::close: s.stage = Stage::body_close; return;
    }
  }

  void setup_decoder(Side& s, const std::vector<Header>& hs, const Framing& f) {
    std::vector<decode::Coding> applied;
    if (has_header(hs, "content-encoding")) {
      auto ce = decode::parse_codings(joined(hs, "content-encoding"));
      if (!ce) return set_error(s, ce.error());
      applied = *ce;
    }
    if (!f.coding_error.empty()) return set_error(s, f.coding_error);
    applied.insert(applied.end(), f.transfer.begin(), f.transfer.end());
    if (!applied.empty()) s.decoder.emplace(applied, limits.max_decoded_body);
  }

  // ---- bodies ----

  void deliver(Side& s, std::string_view payload, uint64_t t) {
    if (payload.empty()) return;
    if (!s.decoder) return append_body(s, payload, t);
    if (s.decoder->failed()) return;
    std::string decoded;
    auto r = s.decoder->feed(payload, decoded);
    append_body(s, decoded, t);
    if (!r) set_error(s, r.error());
  }

  void append_body(Side& s, std::string_view bytes, uint64_t t) {
    if (bytes.empty()) return;
    Slot& sl = cur(s);
    if (s.dir == Direction::out) {
      sl.request.body.append(bytes);
      return;
    }
    auto& pieces = sl.response->body;
    if (!pieces.empty() && pieces.back().t_ns == t)
      pieces.back().bytes.append(bytes);
    else
      pieces.push_back(BodyPiece{t, std::string(bytes)});
  }

  size_t counted_body(Side& s, std::string_view b, uint64_t t) {
    size_t take = static_cast<size_t>(std::min<uint64_t>(s.remaining, b.size()));
    count(s, take, t);
    deliver(s, b.substr(0, take), t);
    s.remaining -= take;
    if (s.remaining > 0) return take;
    if (s.stage == Stage::body_length) {
      end_message(s, t, "", Mode::message);
    } else {
      s.stage = Stage::chunk_end;
      s.saw_cr = false;
    }
    return take;
  }

  size_t chunk_size(Side& s, std::string_view b, uint64_t t) {
    auto [take, line_end] = line_part(b, kMaxChunkLine - s.line.size());
    s.line.append(b.substr(0, take));
    count(s, take, t);
    if (s.line.size() > kMaxChunkLine) {
      end_message(s, t, "chunk size line too long", Mode::resync);
      return take;
    }
    if (!line_end) return take;
    auto size = parse_chunk_size(strip_line_end(s.line));
    s.line.clear();
    if (!size) {
      end_message(s, t, "bad chunk size", Mode::resync);
    } else if (*size == 0) {
      s.stage = Stage::trailers;
      s.head_bytes = 0;
    } else {
      s.remaining = *size;
      s.stage = Stage::chunk_data;
    }
    return take;
  }

  size_t chunk_end(Side& s, std::string_view b, uint64_t t) {
    char c = b.front();
    if (c == '\r' && !s.saw_cr) {
      s.saw_cr = true;
      count(s, 1, t);
      return 1;
    }
    if (c == '\n') {
      count(s, 1, t);
      s.stage = Stage::chunk_size;
      return 1;
    }
    end_message(s, t, "bad chunk terminator", Mode::resync);
    return 0;
  }

  size_t trailers(Side& s, std::string_view b, uint64_t t) {
    auto [take, line_end] = line_part(b, limits.max_head - s.head_bytes);
    s.line.append(b.substr(0, take));
    s.head_bytes += take;
    count(s, take, t);
    if (s.head_bytes > limits.max_head) {
      end_message(s, t, "trailers larger than " + std::to_string(limits.max_head) + " bytes",
                  Mode::resync);
      return take;
    }
    if (!line_end) return take;
    bool last = strip_line_end(s.line).empty();
    s.line.clear();
    if (last) end_message(s, t, "", Mode::message);
    return take;
  }

  size_t close_body(Side& s, std::string_view b, uint64_t t) {
    count(s, b.size(), t);
    deliver(s, b, t);
    return b.size();
  }

  // The current message is over: `framing_error` empty means its end was where the framing
  // said (or the connection's end for a close-delimited response).
  void end_message(Side& s, uint64_t t, const std::string& framing_error, Mode next) {
    Slot& sl = cur(s);
    if (framing_error.empty() && s.decoder && !s.decoder->failed()) {
      std::string rest;
      auto r = s.decoder->finish(rest);
      append_body(s, rest, t);
      if (!r) set_error(s, r.error());
    }
    if (!framing_error.empty()) set_error(s, framing_error);
    if (s.dir == Direction::out) {
      sl.request_done = sl.head_known = true;
    } else {
      sl.response->complete = framing_error.empty();
      sl.response_done = true;
    }
    reset_message(s);
    s.stage = Stage::idle;
    s.mode = next;
    ++s.index;
  }

  void on_gap(Side& s) {
    switch (s.stage) {
      case Stage::idle:
        if (s.mode != Mode::dead) s.mode = Mode::resync;
        return;
      case Stage::candidate:  // the candidate's line cannot be complete now
        s.cand.clear();
        s.stage = Stage::idle;
        s.mode = Mode::resync;
        return;
      default: end_message(s, 0, "gap in captured bytes", Mode::resync);
    }
  }

  void finish_side(Side& s, uint64_t t) {
    bool request = s.dir == Direction::out;
    switch (s.stage) {
      case Stage::idle: return;
      case Stage::candidate:
        s.cand.clear();
        s.stage = Stage::idle;
        return;
      case Stage::body_close: return end_message(s, t, "", Mode::message);
      case Stage::head:
        if (!request) cur(s).response->t_end_ns = t;
        return end_message(s, t,
                           request ? "connection closed in the request head"
                                   : "connection closed in the response head",
                           Mode::message);
      default:
        if (!request) cur(s).response->t_end_ns = t;
        return end_message(s, t,
                           request ? "connection closed before the request ended"
                                   : "connection closed before the response ended",
                           Mode::message);
    }
  }

  // ---- reporting ----

  void emit() {
    while (true) {
      Slot* ex =
          next_exchange < next_request && find_slot(next_exchange) ? &slot(next_exchange) : nullptr;
      if (ex && ex->response_done) {
        report_exchange(*ex, next_exchange++);
        continue;
      }
      Slot* rq = find_slot(next_request) ? &slot(next_request) : nullptr;
      if (rq && rq->request_done) {
        report_request(*rq, next_request++);
        continue;
      }
      return;
    }
  }

  void report_request(const Slot& sl, uint64_t index) {
    if (index < requests_taken) return;  // reported before a save
    Update u;
    u.kind = Update::Kind::request;
    u.exchange.index = index;
    u.exchange.request = sl.request;
    updates.push_back(std::move(u));
  }

  void report_exchange(Slot& sl, uint64_t index) {
    Update u;
    u.kind = Update::Kind::exchange;
    Exchange& e = u.exchange;
    e.index = index;
    e.request = std::move(sl.request);
    e.response = std::move(sl.response);
    sl.request = Request{};
    sl.response.reset();
    e.error = !e.request.error.empty() ? e.request.error
              : !e.response            ? "no response"
                                       : e.response->error;
    if (index >= exchanges_taken) updates.push_back(std::move(u));
  }

  std::vector<Update> take() {
    std::vector<Update> r = std::move(updates);
    updates.clear();
    for (const auto& u : r) {
      uint64_t& taken = u.kind == Update::Kind::request ? requests_taken : exchanges_taken;
      taken = std::max(taken, u.exchange.index + 1);
    }
    while (!slots.empty() && base < exchanges_taken) {
      slots.pop_front();
      ++base;
    }
    trim_logs();
    return r;
  }

  // ---- save / restore ----

  // Where replay of side `s` must start so that every exchange not yet taken is rebuilt.
  Checkpoint replay_from(const Side& s) const {
    if (!slots.empty()) {
      const Slot& sl = slots.front();
      if (s.dir == Direction::out && sl.out_started) return sl.out_start;
      if (s.dir == Direction::in && sl.in_started) return sl.in_start;
    }
    return s.checkpoint();
  }

  void trim_logs() {
    for (Side* s : {&out, &in}) {
      uint64_t from = replay_from(*s).offset;
      while (s->next > 0 && s->log.front().end() <= from) {
        s->log.pop_front();
        --s->next;
      }
    }
  }

  bool fresh() const {
    return out.received == 0 && in.received == 0 && base == 0 && requests_taken == 0 &&
           limits.max_head == Limits{}.max_head &&
           limits.max_decoded_body == Limits{}.max_decoded_body;
  }

  std::string save() const {
    std::string o;
    if (abandoned) return std::string{static_cast<char>(kSaveVersion), 1};
    if ((closed_at && updates.empty()) || (!closed_at && fresh())) return o;
    o.push_back(static_cast<char>(kSaveVersion));
    o.push_back(closed_at ? 2 : 0);
    put_varint(o, limits.max_head);
    put_varint(o, limits.max_decoded_body);
    put_varint(o, base);
    put_varint(o, requests_taken);
    Checkpoint from[2] = {replay_from(out), replay_from(in)};
    for (const Checkpoint& c : from) {
      put_varint(o, c.offset);
      o.push_back(static_cast<char>(c.mode));
    }
    std::vector<std::pair<Direction, const Segment*>> segs;
    for (const Side* s : {&out, &in})
      for (const auto& seg : s->log)
        if (seg.end() > from[static_cast<int>(s->dir)].offset) segs.emplace_back(s->dir, &seg);
    std::sort(segs.begin(), segs.end(),
              [](const auto& a, const auto& b) { return a.second->seq < b.second->seq; });
    put_varint(o, segs.size());
    for (const auto& [dir, seg] : segs) {
      uint64_t skip = from[static_cast<int>(dir)].offset > seg->offset
                          ? from[static_cast<int>(dir)].offset - seg->offset
                          : 0;
      o.push_back(static_cast<char>(dir));
      put_varint(o, seg->offset + skip);
      put_varint(o, seg->t);
      put_varint(o, seg->bytes.size() - skip);
      o.append(seg->bytes, static_cast<size_t>(skip));
    }
    if (closed_at) put_varint(o, *closed_at);
    return o;
  }

  // Rebuilds from a saved state; false if it is not one.
  bool load(std::string_view saved) {
    SavedReader r(saved);
    if (r.byte() != kSaveVersion) return false;
    uint8_t flags = r.byte();
    if (!r.ok() || flags > 2) return false;
    if (flags == 1) {
      abandoned = true;
      return r.at_end();
    }
    limits.max_head = r.varint();
    limits.max_decoded_body = r.varint();
    base = next_request = next_exchange = exchanges_taken = r.varint();
    requests_taken = r.varint();
    if (!r.ok() || requests_taken < base || requests_taken > kMaxIndex) return false;
    for (Side* s : {&out, &in}) {
      uint64_t at = r.varint();
      uint8_t mode = r.byte();
      if (!r.ok() || mode >= kModeCount) return false;
      *s = Side(s->dir, static_cast<Mode>(mode), at, base);
    }
    uint64_t count_segs = r.varint();
    for (uint64_t i = 0; i < count_segs && r.ok(); ++i) {
      uint8_t dir = r.byte();
      uint64_t offset = r.varint();
      uint64_t t = r.varint();
      std::string_view bytes = r.bytes(r.varint());
      if (!r.ok() || dir > 1) return false;
      feed(static_cast<Direction>(dir), offset, bytes, t);
    }
    if (flags == 2) {
      uint64_t t = r.varint();
      if (!r.ok()) return false;
      close(t);
    }
    return r.ok() && r.at_end();
  }
};

Connection::Connection() : Connection(Limits{}) {}
Connection::Connection(const Limits& limits) : impl_(std::make_unique<Impl>(limits)) {}
Connection::~Connection() = default;
Connection::Connection(Connection&&) noexcept = default;
Connection& Connection::operator=(Connection&&) noexcept = default;

void Connection::feed(Direction d, uint64_t offset, std::string_view bytes, uint64_t t_ns) {
  impl_->feed(d, offset, bytes, t_ns);
}
void Connection::close(uint64_t t_ns) { impl_->close(t_ns); }
std::vector<Update> Connection::take_updates() { return impl_->take(); }
bool Connection::abandoned() const { return impl_->abandoned; }
std::string Connection::save() const { return impl_->save(); }

Connection Connection::restore(std::string_view saved) {
  Connection c;
  if (saved.empty()) return c;
  if (!c.impl_->load(saved)) {
    c = Connection();
    c.impl_->abandoned = true;
  }
  return c;
}

}  // namespace clawtrace::http
