#include "value_codec.h"

#include <zstd.h>

#include "value_dict.h"

namespace clawtrace {
namespace {

constexpr char kRaw = '\x00';
constexpr char kZstd = '\x01';
constexpr int kLevel = 3;  // zstd's default

}  // namespace

struct ValueCodec::Contexts {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_DCtx* d = ZSTD_createDCtx();
  ZSTD_CDict* cdict = ZSTD_createCDict(kValueDict1.data(), kValueDict1.size(), kLevel);
  ZSTD_DDict* ddict = ZSTD_createDDict(kValueDict1.data(), kValueDict1.size());
  bool can_pack = false;
  Contexts() {
    if (!c || !cdict) return;
    // A damaged frame should fail its checksum, not decode into plausible wrong text.
    can_pack = !ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1)) &&
               !ZSTD_isError(ZSTD_CCtx_refCDict(c, cdict));
  }
  ~Contexts() {
    ZSTD_freeCCtx(c);
    ZSTD_freeDCtx(d);
    ZSTD_freeCDict(cdict);
    ZSTD_freeDDict(ddict);
  }
};

ValueCodec::ValueCodec() : ctx_(std::make_unique<Contexts>()) {}
ValueCodec::~ValueCodec() = default;

std::string ValueCodec::pack(std::string_view raw) {
  if (raw.size() >= kMinPacked && raw.size() <= kMaxUnpacked && ctx_->can_pack) {
    std::string out(1 + ZSTD_compressBound(raw.size()), kZstd);
    const size_t n = ZSTD_compress2(ctx_->c, out.data() + 1, out.size() - 1, raw.data(), raw.size());
    if (!ZSTD_isError(n) && 1 + n < raw.size()) {
      out.resize(1 + n);
      return out;
    }
  }
  if (!raw.empty() && (raw.front() == kRaw || raw.front() == kZstd)) {
    std::string out(1, kRaw);
    out.append(raw);
    return out;
  }
  return std::string(raw);
}

Result<std::string_view> ValueCodec::unpack(std::string_view stored, std::string& buf) {
  if (stored.empty() || (stored.front() != kRaw && stored.front() != kZstd)) return stored;
  if (stored.front() == kRaw) return stored.substr(1);
  const std::string_view frame = stored.substr(1);
  const unsigned long long size = ZSTD_getFrameContentSize(frame.data(), frame.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN)
    return fail("bad zstd frame header");
  if (size > kMaxUnpacked)
    return fail("zstd frame declares " + std::to_string(size) + " bytes, over the " +
                std::to_string(kMaxUnpacked) + " limit");
  // No block decodes to more than ZSTD_BLOCKSIZE_MAX and none takes under 4 bytes (RLE),
  // so a damaged header cannot make us allocate more than the frame could hold.
  if (size / (ZSTD_BLOCKSIZE_MAX / 4) > frame.size())
    return fail("zstd frame declares " + std::to_string(size) + " bytes, more than its " +
                std::to_string(frame.size()) + " can hold");
  const size_t whole = ZSTD_findFrameCompressedSize(frame.data(), frame.size());
  if (ZSTD_isError(whole) || whole != frame.size()) return fail("bad zstd frame (truncated or trailing bytes)");
  if (!ctx_->d || !ctx_->ddict) return fail("cannot allocate a zstd context");
  buf.resize(static_cast<size_t>(size));
  const size_t n = ZSTD_decompress_usingDDict(ctx_->d, buf.data(), buf.size(), frame.data(),
                                              frame.size(), ctx_->ddict);
  if (ZSTD_isError(n)) return fail(std::string("bad zstd frame: ") + ZSTD_getErrorName(n));
  if (n != buf.size()) return fail("bad zstd frame: content shorter than declared");
  return std::string_view(buf);
}

}  // namespace clawtrace
