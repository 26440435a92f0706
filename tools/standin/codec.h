// Byte-level helpers: gzip in both directions and UTF-8-aware splitting.
#pragma once

#include "result.h"

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace clawtrace::standin {

// Inflates a gzip or zlib body; fails beyond `max_out` bytes instead of growing unbounded.
Result<std::string> gunzip(std::string_view in, std::size_t max_out);

// Compresses a body piece by piece: each piece is flushed so a client can decode it as it
// arrives; finish() ends the gzip member.
class GzipEncoder {
 public:
  GzipEncoder();
  ~GzipEncoder();
  GzipEncoder(const GzipEncoder&) = delete;
  GzipEncoder& operator=(const GzipEncoder&) = delete;
  std::string piece(std::string_view in);
  std::string finish();

 private:
  std::string run(std::string_view in, int flush);
  struct State;
  std::unique_ptr<State> state_;
};

// Splits text into pieces of at most `max_bytes`, never inside a UTF-8 sequence (a piece
// may exceed `max_bytes` only when one character is longer). Empty text gives no piece.
std::vector<std::string> split_utf8(std::string_view text, std::size_t max_bytes);

// Splits bytes into pieces of exactly `size` bytes (the last may be shorter), deliberately
// ignoring event, line and character boundaries.
std::vector<std::string> split_bytes(std::string_view bytes, std::size_t size);

// The text with every byte that is not part of a well-formed UTF-8 sequence replaced by
// U+FFFD, so request bytes can go into JSON.
std::string to_valid_utf8(std::string_view text);

}  // namespace clawtrace::standin
