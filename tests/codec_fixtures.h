// Compressors for test fixtures (zlib, brotli encoder, zstd), and HTTP framing helpers.
#pragma once

#include <brotli/encode.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace fixtures {

enum class Zlib { gzip, zlib, raw };

// Compresses `parts` as one stream, flushing after each part (as a server streaming SSE
// through gzip does), so each part can be decoded as soon as its bytes arrive. Returns the
// bytes written after each part, then the stream's end.
inline std::vector<std::string> deflate_blocks(const std::vector<std::string>& parts, Zlib kind) {
  z_stream zs{};
  int bits = kind == Zlib::gzip ? 16 + MAX_WBITS : kind == Zlib::zlib ? MAX_WBITS : -MAX_WBITS;
  if (deflateInit2(&zs, 6, Z_DEFLATED, bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2");
  std::vector<std::string> out;
  char buf[16384];
  for (size_t i = 0; i <= parts.size(); ++i) {
    bool last = i == parts.size();
    std::string_view in = last ? std::string_view{} : std::string_view(parts[i]);
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    out.emplace_back();
    int rc;
    do {
      zs.next_out = reinterpret_cast<Bytef*>(buf);
      zs.avail_out = sizeof buf;
      rc = deflate(&zs, last ? Z_FINISH : Z_SYNC_FLUSH);
      out.back().append(buf, sizeof buf - zs.avail_out);
    } while (last ? rc != Z_STREAM_END : zs.avail_out == 0);
  }
  deflateEnd(&zs);
  return out;
}

inline std::string deflate_parts(const std::vector<std::string>& parts, Zlib kind) {
  std::string out;
  for (const auto& b : deflate_blocks(parts, kind)) out += b;
  return out;
}

inline std::string gzip(std::string_view s) { return deflate_parts({std::string(s)}, Zlib::gzip); }
inline std::string zlib_deflate(std::string_view s) {
  return deflate_parts({std::string(s)}, Zlib::zlib);
}
inline std::string raw_deflate(std::string_view s) {
  return deflate_parts({std::string(s)}, Zlib::raw);
}

inline std::string brotli(std::string_view s) {
  size_t n = BrotliEncoderMaxCompressedSize(s.size());
  std::string out(n ? n : 16, '\0');
  size_t size = out.size();
  if (!BrotliEncoderCompress(5, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, s.size(),
                             reinterpret_cast<const uint8_t*>(s.data()), &size,
                             reinterpret_cast<uint8_t*>(out.data())))
    throw std::runtime_error("brotli");
  out.resize(size);
  return out;
}

inline std::string zstd(std::string_view s) {
  std::string out(ZSTD_compressBound(s.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), s.data(), s.size(), 3);
  if (ZSTD_isError(n)) throw std::runtime_error("zstd");
  out.resize(n);
  return out;
}

// A zstd frame of `n` zero bytes, compressed without ever holding them all.
inline std::string zstd_zeros(size_t n) {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  std::string zeros(1 << 20, '\0'), out;
  std::string buf(ZSTD_CStreamOutSize(), '\0');
  for (size_t done = 0; done < n;) {
    size_t take = std::min(zeros.size(), n - done);
    done += take;
    ZSTD_inBuffer in{zeros.data(), take, 0};
    ZSTD_EndDirective mode = done == n ? ZSTD_e_end : ZSTD_e_continue;
    size_t left;
    do {
      ZSTD_outBuffer o{buf.data(), buf.size(), 0};
      left = ZSTD_compressStream2(cctx, &o, &in, mode);
      out.append(buf.data(), o.pos);
    } while (mode == ZSTD_e_end ? left != 0 : in.pos < in.size);
  }
  ZSTD_freeCCtx(cctx);
  return out;
}

// One chunk of the chunked transfer coding.
inline std::string chunk(std::string_view data, std::string_view ext = {}) {
  static const char* hex = "0123456789abcdef";
  std::string size;
  for (size_t n = data.size(); n; n /= 16) size.insert(size.begin(), hex[n % 16]);
  return size + std::string(ext) + "\r\n" + std::string(data) + "\r\n";
}

// Chunked transfer coding of `parts`, one chunk each (empty parts are skipped), with an
// optional chunk extension and trailer.
inline std::string chunked(const std::vector<std::string>& parts, std::string_view ext = {},
                           std::string_view trailer = {}) {
  std::string out;
  for (const auto& p : parts)
    if (!p.empty()) out += chunk(p, ext);
  return out + "0\r\n" + std::string(trailer) + "\r\n";
}

// Splits `s` into pieces of the given sizes, cycling through them.
inline std::vector<std::string> pieces(std::string_view s, const std::vector<size_t>& sizes) {
  std::vector<std::string> out;
  for (size_t i = 0, k = 0; i < s.size(); ++k) {
    size_t n = std::max<size_t>(1, sizes[k % sizes.size()]);
    out.emplace_back(s.substr(i, n));
    i += n;
  }
  return out;
}

}  // namespace fixtures
