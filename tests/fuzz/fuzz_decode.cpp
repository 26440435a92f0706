// Content decoders. Arbitrary bytes must be rejected cleanly, with the same verdict and (when
// accepted) the same output however the input is split; real compressed data must come back
// unchanged at any split.
// Input: byte 0 picks the codings and the mode (bit 7: compress the payload first), byte 1
// seeds the piece sizes, the rest is the payload.
#include <brotli/encode.h>
#include <zlib.h>
#include <zstd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "decode.h"
#include "fuzz_support.h"

using namespace clawtrace::decode;

namespace {

constexpr uint64_t kCap = 1 << 20;

std::string deflate_with(std::string_view s, int window_bits) {
  z_stream zs{};
  if (deflateInit2(&zs, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) return {};
  std::string out(deflateBound(&zs, static_cast<uLong>(s.size())) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(s.data()));
  zs.avail_in = static_cast<uInt>(s.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string encode(Coding c, std::string_view s, bool variant) {
  switch (c) {
    case Coding::gzip: return deflate_with(s, 16 + MAX_WBITS);
    case Coding::deflate: return deflate_with(s, variant ? MAX_WBITS : -MAX_WBITS);
    case Coding::br: {
      size_t n = BrotliEncoderMaxCompressedSize(s.size()) + 16;
      std::string out(n, '\0');
      BrotliEncoderCompress(2, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, s.size(),
                            reinterpret_cast<const uint8_t*>(s.data()), &n,
                            reinterpret_cast<uint8_t*>(out.data()));
      out.resize(n);
      return out;
    }
    case Coding::zstd: {
      std::string out(ZSTD_compressBound(s.size()), '\0');
      size_t n = ZSTD_compress(out.data(), out.size(), s.data(), s.size(), 1);
      out.resize(ZSTD_isError(n) ? 0 : n);
      return out;
    }
  }
  return {};
}

struct Outcome {
  bool ok = true;
  std::string out;
};

Outcome decode_in_pieces(const std::vector<Coding>& codings, std::string_view in, uint32_t seed,
                         size_t max_piece) {
  Decoder d(codings, kCap);
  Outcome o;
  uint32_t state = seed * 2654435761u + 1;
  for (size_t i = 0; i < in.size() && o.ok;) {
    state ^= state << 13, state ^= state >> 17, state ^= state << 5;
    size_t n = 1 + state % max_piece;
    o.ok = d.feed(in.substr(i, n), o.out).ok();
    i += n;
  }
  if (o.ok) o.ok = d.finish(o.out).ok();
  fuzz::check(o.out.size() <= kCap, "output within the cap");
  fuzz::check(o.ok != d.failed(), "failed() agrees");
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  uint8_t mode = data[0];
  std::vector<Coding> codings = {static_cast<Coding>(mode & 3)};
  if (mode & 0x10) codings.push_back(static_cast<Coding>((mode >> 2) & 3));
  if ((mode & 0x60) == 0x60) codings.clear();  // identity
  bool variant = mode & 0x20;
  std::string payload(reinterpret_cast<const char*>(data + 2), size - 2);

  if (mode & 0x80) {  // round trip
    std::string enc = payload;
    for (Coding c : codings) enc = encode(c, enc, variant);
    for (size_t max_piece : {size_t{1}, size_t{7}, enc.size() + 1}) {
      Outcome o = decode_in_pieces(codings, enc, data[1], max_piece);
      fuzz::check(o.ok, "compressed data decodes");
      fuzz::check(o.out == payload, "round trip gives the payload back");
    }
    return 0;
  }
  Outcome whole = decode_in_pieces(codings, payload, 0, payload.size() + 1);
  for (size_t max_piece : {size_t{1}, size_t{3} + data[1] % 61}) {
    Outcome split = decode_in_pieces(codings, payload, data[1], max_piece);
    fuzz::check(split.ok == whole.ok, "same verdict at any split");
    if (whole.ok) fuzz::check(split.out == whole.out, "same output at any split");
  }
  return 0;
}
