// Streaming decoders for HTTP content codings (gzip, deflate, br, zstd), stacked as
// Content-Encoding lists them. Input may be split anywhere; output is capped so a small
// compressed body cannot make ingestion allocate without bound (decompression bombs).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "result.h"

namespace clawtrace::decode {

enum class Coding : uint8_t { gzip, deflate, br, zstd };

inline constexpr uint64_t kDefaultMaxOutput = uint64_t{256} << 20;

// The codings of a Content-Encoding (or Transfer-Encoding minus "chunked") value, in the
// order they were applied. "identity" and empty items are dropped; "x-gzip" is gzip.
// An unknown coding is an error naming it.
Result<std::vector<Coding>> parse_codings(std::string_view header_value);

// Undoes `applied` (in reverse order). Errors are sticky: after one, nothing more is
// decoded and every call returns it again. Error texts start with "content decoding failed"
// or "decoded body larger than".
class Decoder {
 public:
  explicit Decoder(const std::vector<Coding>& applied, uint64_t max_output = kDefaultMaxOutput);
  ~Decoder();
  Decoder(Decoder&&) noexcept;
  Decoder& operator=(Decoder&&) noexcept;

  // Decodes `in`, appending what it yields to `out`.
  Result<void> feed(std::string_view in, std::string& out);
  // End of input: flushes, and fails if a compressed stream stopped in the middle
  // (no input at all is fine).
  Result<void> finish(std::string& out);
  bool failed() const { return !error_.empty(); }

  struct Stage;  // one coding undone (defined in decode.cpp)

 private:
  Result<void> run(std::string_view in, std::string& out, bool at_end);
  std::vector<std::unique_ptr<Stage>> stages_;  // first undoes the last coding applied
  uint64_t max_output_;
  uint64_t passed_ = 0;  // identity: bytes passed through
  std::string error_;
};

// One-shot convenience: decodes a whole body.
Result<std::string> decode_all(const std::vector<Coding>& applied, std::string_view in,
                               uint64_t max_output = kDefaultMaxOutput);

}  // namespace clawtrace::decode
