// How the store keeps a record's value (schema 2): zstd-compressed when that is smaller,
// else as it is. The first byte tells which:
//   0x01  a zstd frame (content size and checksum in it) made with the dictionary
//         kValueDict1 (value_dict.h)
//   0x00  raw bytes follow (only for values that themselves begin with 0x00 or 0x01)
//   other the value itself, raw: JSON records begin with '{', and every record of a
//         schema-1 store is raw
// Pure code (no LMDB), so it is fuzzed on its own.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "result.h"

namespace clawtrace {

class ValueCodec {
 public:
  static constexpr size_t kMinPacked = 64;          // shorter values are not worth a frame
  static constexpr size_t kMaxUnpacked = 64 << 20;  // bigger values stay raw; bounds reads

  ValueCodec();
  ~ValueCodec();
  ValueCodec(const ValueCodec&) = delete;
  ValueCodec& operator=(const ValueCodec&) = delete;

  // The stored form of raw: compressed if that saves bytes, else raw (escaped if needed).
  std::string pack(std::string_view raw);
  // The raw value: a view of stored itself, or of buf when it had to be decompressed. The
  // error is one line without context ("bad zstd frame: ..."); the caller names the record.
  Result<std::string_view> unpack(std::string_view stored, std::string& buf);

 private:
  struct Contexts;
  std::unique_ptr<Contexts> ctx_;
};

}  // namespace clawtrace
