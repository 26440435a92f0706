// The store's packed values (store/value_codec.cpp) read back from arbitrary bytes: never
// crashes nor allocates past its limit; whatever reads packs and reads back unchanged, and
// any bytes pack and read back as themselves.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "value_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static clawtrace::ValueCodec codec;  // reused, as the store does
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string buf;
  if (auto raw = codec.unpack(input, buf); raw.ok()) {
    const std::string value(*raw);
    const std::string packed = codec.pack(value);  // unpack may return a view of it
    std::string buf2;
    auto again = codec.unpack(packed, buf2);
    if (!again.ok() || *again != value) std::abort();
  }
  const std::string packed = codec.pack(input);
  std::string buf3;
  auto same = codec.unpack(packed, buf3);
  if (!same.ok() || *same != input) std::abort();
  return 0;
}
