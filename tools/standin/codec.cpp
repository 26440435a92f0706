#include "codec.h"

#include <zlib.h>

#include <algorithm>

namespace clawtrace::standin {

namespace {

constexpr std::size_t kStep = 16384;

// Bytes a z_stream may take in one call; zlib counts in uInt.
uInt clamp_avail(std::size_t n) { return static_cast<uInt>(std::min<std::size_t>(n, 1u << 30)); }

// Every pass either produces output (bounded by max_out), consumes input, or fails, so
// hostile input cannot make it spin.
Result<std::string> inflate_all(z_stream& zs, std::size_t max_out) {
  std::string out;
  for (;;) {
    char buf[kStep];
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    int rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) return fail("bad gzip body");
    out.append(buf, sizeof buf - zs.avail_out);
    if (out.size() > max_out) return fail("gzip body too large");
    if (rc == Z_STREAM_END && zs.avail_in == 0) return out;
    if (rc == Z_STREAM_END && inflateReset(&zs) != Z_OK) return fail("bad gzip body");
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) return fail("truncated gzip body");
  }
}

}  // namespace

Result<std::string> gunzip(std::string_view in, std::size_t max_out) {
  z_stream zs{};
  if (inflateInit2(&zs, 32 + MAX_WBITS) != Z_OK) return fail("inflateInit2 failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = clamp_avail(in.size());
  Result<std::string> out = inflate_all(zs, max_out);
  inflateEnd(&zs);
  return out;
}

struct GzipEncoder::State {
  z_stream zs{};
  bool ok = false;
};

GzipEncoder::GzipEncoder() : state_(std::make_unique<State>()) {
  state_->ok = deflateInit2(&state_->zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
                            Z_DEFAULT_STRATEGY) == Z_OK;
}

GzipEncoder::~GzipEncoder() {
  if (state_->ok) deflateEnd(&state_->zs);
}

std::string GzipEncoder::run(std::string_view in, int flush) {
  std::string out;
  if (!state_->ok) return out;
  z_stream& zs = state_->zs;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = clamp_avail(in.size());
  do {
    char buf[kStep];
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    deflate(&zs, flush);
    out.append(buf, sizeof buf - zs.avail_out);
  } while (zs.avail_out == 0);
  return out;
}

std::string GzipEncoder::piece(std::string_view in) { return run(in, Z_SYNC_FLUSH); }

std::string GzipEncoder::finish() { return run({}, Z_FINISH); }

namespace {

bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

}  // namespace

std::vector<std::string> split_utf8(std::string_view text, std::size_t max_bytes) {
  std::vector<std::string> pieces;
  if (max_bytes == 0) max_bytes = 1;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = std::min(text.size(), pos + max_bytes);
    while (end < text.size() && end > pos && is_continuation(text[end])) --end;
    if (end == pos) {  // one character longer than max_bytes: take it whole
      end = pos + 1;
      while (end < text.size() && is_continuation(text[end])) ++end;
    }
    pieces.emplace_back(text.substr(pos, end - pos));
    pos = end;
  }
  return pieces;
}

namespace {

// Length of the well-formed UTF-8 sequence at the start of `s`, or 0.
std::size_t utf8_sequence(std::string_view s) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  std::size_t n = lead < 0xC2 ? 0 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : lead <= 0xF4 ? 4 : 0;
  if (n == 0 || s.size() < n) return 0;
  for (std::size_t i = 1; i < n; ++i)
    if ((byte(i) & 0xC0) != 0x80) return 0;
  if (n == 3 && ((lead == 0xE0 && byte(1) < 0xA0) || (lead == 0xED && byte(1) >= 0xA0))) return 0;
  if (n == 4 && ((lead == 0xF0 && byte(1) < 0x90) || (lead == 0xF4 && byte(1) >= 0x90))) return 0;
  return n;
}

}  // namespace

std::string to_valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    std::size_t n = utf8_sequence(text);
    out.append(n ? text.substr(0, n) : std::string_view("\xEF\xBF\xBD"));
    text.remove_prefix(n ? n : 1);
  }
  return out;
}

std::vector<std::string> split_bytes(std::string_view bytes, std::size_t size) {
  std::vector<std::string> pieces;
  if (size == 0) size = 1;
  for (std::size_t pos = 0; pos < bytes.size(); pos += size)
    pieces.emplace_back(bytes.substr(pos, size));
  return pieces;
}

}  // namespace clawtrace::standin
