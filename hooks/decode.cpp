#include "decode.h"

#include <brotli/decode.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "text.h"

namespace clawtrace::decode {
namespace {

using text::lower;
using text::trim;

constexpr size_t kBufSize = 64 * 1024;
constexpr size_t kMaxCodings = 4;      // real servers stack at most two; each costs a state
constexpr int kZstdWindowLogMax = 24;  // RFC 9659 allows 8 MiB windows; a little slack

const char* name_of(Coding c) {
  switch (c) {
    case Coding::gzip: return "gzip";
    case Coding::deflate: return "deflate";
    case Coding::br: return "br";
    case Coding::zstd: return "zstd";
  }
  return "?";
}

}  // namespace

// One decoding step. Output beyond the budget is cut off and reported as an error.
struct Decoder::Stage {
  explicit Stage(Coding c, uint64_t max_output) : coding(c), budget(max_output) {}
  virtual ~Stage() = default;
  // Decodes `in`, appending to `out`; returns an error text or "".
  virtual std::string feed(std::string_view in, std::string& out) = 0;
  // No more input: "" if the stream ended properly (or never started).
  virtual std::string finish() = 0;

  std::string failure(std::string_view what) const {
    return std::string("content decoding failed (") + name_of(coding) + "): " + std::string(what);
  }
  // Appends within the budget; false when the output went past it.
  bool emit(const char* p, size_t n, std::string& out) {
    size_t room = static_cast<size_t>(std::min<uint64_t>(budget - produced, n));
    out.append(p, room);
    produced += room;
    return room == n;
  }
  std::string too_large() const {
    return "decoded body larger than " + std::to_string(budget) + " bytes";
  }

  Coding coding;
  uint64_t budget;
  uint64_t produced = 0;
  std::unique_ptr<char[]> buf{new char[kBufSize]};
};

namespace {

// gzip (several members allowed) and deflate (zlib-wrapped or raw, told apart by the
// first two bytes). Bytes after the end of the stream are ignored, as browsers do.
class ZlibStage final : public Decoder::Stage {
 public:
  ZlibStage(Coding c, uint64_t max_output) : Stage(c, max_output) {}
  ~ZlibStage() override {
    if (inited_) inflateEnd(&zs_);
  }

  std::string feed(std::string_view in, std::string& out) override {
    if (ignoring_ || in.empty()) return {};
    if (!inited_) {
      if (coding == Coding::gzip) return start(16 + MAX_WBITS) ? inflate_all(in, out) : oom();
      size_t earlier = prefix_.size();  // a first byte that came in an earlier call
      prefix_.append(in.substr(0, 2 - earlier));
      if (prefix_.size() < 2) return {};
      if (!start(looks_zlib(prefix_) ? MAX_WBITS : -MAX_WBITS)) return oom();
      std::string first = prefix_.substr(0, earlier);
      prefix_.clear();
      if (std::string err = inflate_all(first, out); !err.empty()) return err;
    }
    return inflate_all(in, out);
  }

  std::string finish() override {
    if (ignoring_ || (!inited_ && prefix_.empty())) return {};  // no input at all
    if (at_member_end_) return {};
    if (members_ > 0) return {};  // an unfinished later member: trailing garbage
    return failure("stream truncated");
  }

 private:
  static bool looks_zlib(std::string_view two) {
    auto cmf = static_cast<unsigned char>(two[0]);
    auto flg = static_cast<unsigned char>(two[1]);
    return (cmf & 0x0f) == 8 && (cmf >> 4) <= 7 && (cmf * 256 + flg) % 31 == 0;
  }
  bool start(int window_bits) {
    inited_ = inflateInit2(&zs_, window_bits) == Z_OK;
    return inited_;
  }
  std::string oom() { return failure("cannot initialise zlib"); }

  std::string inflate_all(std::string_view in, std::string& out) {
    while (!in.empty() && !ignoring_) {
      size_t take = std::min<size_t>(in.size(), size_t{1} << 30);
      if (std::string err = inflate_some(in.substr(0, take), out); !err.empty()) return err;
      in.remove_prefix(take);
    }
    return {};
  }

  std::string inflate_some(std::string_view in, std::string& out) {
    zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs_.avail_in = static_cast<uInt>(in.size());
    while (true) {
      if (at_member_end_) {
        if (zs_.avail_in == 0) return {};
        if (coding != Coding::gzip) return ignore_rest();
        inflateReset(&zs_);  // concatenated gzip members
        at_member_end_ = false;
        ++members_;
      }
      zs_.next_out = reinterpret_cast<Bytef*>(buf.get());
      zs_.avail_out = static_cast<uInt>(kBufSize);
      int rc = inflate(&zs_, Z_NO_FLUSH);
      size_t got = kBufSize - zs_.avail_out;
      if (!emit(buf.get(), got, out)) return too_large();
      if (rc == Z_STREAM_END) {
        at_member_end_ = true;
        continue;
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR) {
        if (members_ > 0) return ignore_rest();
        return failure(zs_.msg ? zs_.msg : "invalid data");
      }
      if (zs_.avail_in == 0 && zs_.avail_out != 0) return {};
      if (rc == Z_BUF_ERROR && got == 0) return {};  // no progress possible
    }
  }

  std::string ignore_rest() {
    ignoring_ = true;
    return {};
  }

  z_stream zs_{};
  bool inited_ = false;
  bool at_member_end_ = false;
  bool ignoring_ = false;
  int members_ = 0;
  std::string prefix_;  // deflate: first bytes until the wrapper can be told
};

class BrotliStage final : public Decoder::Stage {
 public:
  explicit BrotliStage(uint64_t max_output)
      : Stage(Coding::br, max_output),
        st_(BrotliDecoderCreateInstance(nullptr, nullptr, nullptr)) {}
  ~BrotliStage() override {
    if (st_) BrotliDecoderDestroyInstance(st_);
  }

  std::string feed(std::string_view in, std::string& out) override {
    if (!st_) return failure("cannot initialise brotli");
    if (done_ || in.empty()) return {};
    seen_input_ = true;
    auto next_in = reinterpret_cast<const uint8_t*>(in.data());
    size_t avail_in = in.size();
    while (true) {
      auto next_out = reinterpret_cast<uint8_t*>(buf.get());
      size_t avail_out = kBufSize;
      BrotliDecoderResult r =
          BrotliDecoderDecompressStream(st_, &avail_in, &next_in, &avail_out, &next_out, nullptr);
      if (!emit(buf.get(), kBufSize - avail_out, out)) return too_large();
      if (r == BROTLI_DECODER_RESULT_SUCCESS) {
        done_ = true;  // bytes after the stream are ignored
        return {};
      }
      if (r == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT) return {};
      if (r == BROTLI_DECODER_RESULT_ERROR)
        return failure(BrotliDecoderErrorString(BrotliDecoderGetErrorCode(st_)));
    }
  }

  std::string finish() override {
    return seen_input_ && !done_ ? failure("stream truncated") : std::string{};
  }

 private:
  BrotliDecoderState* st_;
  bool done_ = false;
  bool seen_input_ = false;
};

class ZstdStage final : public Decoder::Stage {
 public:
  explicit ZstdStage(uint64_t max_output)
      : Stage(Coding::zstd, max_output), ds_(ZSTD_createDCtx()) {
    if (ds_) ZSTD_DCtx_setParameter(ds_, ZSTD_d_windowLogMax, kZstdWindowLogMax);
  }
  ~ZstdStage() override { ZSTD_freeDCtx(ds_); }

  std::string feed(std::string_view in, std::string& out) override {
    if (!ds_) return failure("cannot initialise zstd");
    if (in.empty()) return {};
    seen_input_ = true;
    while (!in.empty()) {
      if (at_frame_start_) {
        // RFC 8878 content: standard or skippable frames only. libzstd would also take
        // legacy (v0.x) frames, whose errors depend on how the input is split.
        const size_t take = std::min(sizeof magic_ - magic_len_, in.size());
        std::memcpy(magic_ + magic_len_, in.data(), take);
        magic_len_ += take;
        in.remove_prefix(take);
        if (magic_len_ < sizeof magic_) return {};
        if (!known_frame(magic_)) return failure("not a zstd frame");
        at_frame_start_ = false;
        magic_len_ = 0;
        size_t used = 0;
        if (auto e = run(std::string_view(magic_, sizeof magic_), out, used); !e.empty()) return e;
        continue;
      }
      size_t used = 0;
      if (auto e = run(in, out, used); !e.empty()) return e;
      in.remove_prefix(used);
    }
    return {};
  }

  std::string finish() override {
    const bool open = frame_open_ || magic_len_ > 0;
    return seen_input_ && open ? failure("stream truncated") : std::string{};
  }

 private:
  static bool known_frame(const char* m) {
    const auto b = [&](int i) { return static_cast<unsigned char>(m[i]); };
    const bool standard = b(0) == 0x28 && b(1) == 0xB5 && b(2) == 0x2F && b(3) == 0xFD;
    const bool skippable = (b(0) & 0xF0) == 0x50 && b(1) == 0x2A && b(2) == 0x4D && b(3) == 0x18;
    return standard || skippable;
  }

  // Decodes until `in` is used up or the current frame ends (the next byte starts a frame).
  std::string run(std::string_view in, std::string& out, size_t& used) {
    ZSTD_inBuffer src{in.data(), in.size(), 0};
    while (true) {
      ZSTD_outBuffer dst{buf.get(), kBufSize, 0};
      size_t r = ZSTD_decompressStream(ds_, &dst, &src);
      if (ZSTD_isError(r)) return failure(ZSTD_getErrorName(r));
      if (!emit(buf.get(), dst.pos, out)) return too_large();
      frame_open_ = r != 0;
      used = src.pos;
      if (r == 0) {
        at_frame_start_ = true;
        frame_open_ = false;
        return {};
      }
      if (src.pos == src.size && dst.pos < dst.size) return {};
    }
  }

  ZSTD_DCtx* ds_;
  bool seen_input_ = false;
  bool frame_open_ = false;
  bool at_frame_start_ = true;
  char magic_[4] = {};
  size_t magic_len_ = 0;
};

std::unique_ptr<Decoder::Stage> make_stage(Coding c, uint64_t max_output) {
  switch (c) {
    case Coding::gzip:
    case Coding::deflate: return std::make_unique<ZlibStage>(c, max_output);
    case Coding::br: return std::make_unique<BrotliStage>(max_output);
    case Coding::zstd: return std::make_unique<ZstdStage>(max_output);
  }
  return nullptr;
}

}  // namespace

Result<std::vector<Coding>> parse_codings(std::string_view header_value) {
  std::vector<Coding> out;
  while (true) {
    size_t comma = header_value.find(',');
    std::string item = lower(trim(header_value.substr(0, comma)));
    if (item == "gzip" || item == "x-gzip")
      out.push_back(Coding::gzip);
    else if (item == "deflate")
      out.push_back(Coding::deflate);
    else if (item == "br")
      out.push_back(Coding::br);
    else if (item == "zstd")
      out.push_back(Coding::zstd);
    else if (!item.empty() && item != "identity")
      return fail("unsupported content coding: " + item.substr(0, 64));
    if (out.size() > kMaxCodings) return fail("too many stacked content codings");
    if (comma == std::string_view::npos) return out;
    header_value.remove_prefix(comma + 1);
  }
}

Decoder::Decoder(const std::vector<Coding>& applied, uint64_t max_output)
    : max_output_(max_output) {
  for (auto it = applied.rbegin(); it != applied.rend(); ++it)
    stages_.push_back(make_stage(*it, max_output));
}
Decoder::~Decoder() = default;
Decoder::Decoder(Decoder&&) noexcept = default;
Decoder& Decoder::operator=(Decoder&&) noexcept = default;

Result<void> Decoder::feed(std::string_view in, std::string& out) { return run(in, out, false); }
Result<void> Decoder::finish(std::string& out) { return run({}, out, true); }

Result<void> Decoder::run(std::string_view in, std::string& out, bool at_end) {
  if (failed()) return fail(error_);
  if (stages_.empty()) {  // identity: only the cap applies
    auto room = static_cast<size_t>(std::min<uint64_t>(max_output_ - passed_, in.size()));
    out.append(in.substr(0, room));
    passed_ += room;
    if (room == in.size()) return {};
    error_ = "decoded body larger than " + std::to_string(max_output_) + " bytes";
    return fail(error_);
  }
  std::string between[2];
  std::string_view data = in;
  for (size_t i = 0; i < stages_.size(); ++i) {
    bool last = i + 1 == stages_.size();
    std::string& dst = last ? out : between[i % 2];
    if (!last) dst.clear();
    std::string err = stages_[i]->feed(data, dst);
    if (err.empty() && at_end) err = stages_[i]->finish();
    if (!err.empty()) {
      error_ = std::move(err);
      return fail(error_);
    }
    data = dst;
  }
  return {};
}

Result<std::string> decode_all(const std::vector<Coding>& applied, std::string_view in,
                               uint64_t max_output) {
  Decoder d(applied, max_output);
  std::string out;
  if (auto r = d.feed(in, out); !r) return fail(r.error());
  if (auto r = d.finish(out); !r) return fail(r.error());
  return out;
}

}  // namespace clawtrace::decode
