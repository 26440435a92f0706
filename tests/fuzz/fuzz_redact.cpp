// libFuzzer target for interceptor/redact.*: whatever the bytes and however they are split,
// lengths are kept, only '*' is written, hold-back stays within its bounds, the output does
// not depend on the splitting, and a secret known from the start never shows.
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <memory>
#include <string>

#include "redact.h"

using clawtrace::preload::kMaxHoldBack;
using clawtrace::preload::Redactor;
using clawtrace::preload::SecretSet;

namespace {

void check(bool ok) {
  if (!ok) abort();
}

constexpr char kKnown[] = "sk-known-0123";  // also in fuzz_redact.dict

// Drives one Redactor over data in chunks of sizes from `sizes` (cycled; 0: all the rest),
// as the spool writer does, and returns the concatenated output.
std::string drive(const uint8_t* data, size_t size, const uint8_t* sizes, size_t nsizes, bool seeded) {
  auto secrets = std::make_unique<SecretSet>();
  if (seeded) secrets->add(kKnown, sizeof kKnown - 1);
  auto redactor = std::make_unique<Redactor>();
  std::string out, buf;
  size_t pos = 0, k = 0;
  do {
    size_t chunk = size - pos;
    if (nsizes != 0 && sizes[k % nsizes] != 0 && sizes[k % nsizes] < chunk) chunk = sizes[k % nsizes];
    ++k;
    const bool last = pos + chunk == size;
    buf.append(reinterpret_cast<const char*>(data) + pos, chunk);
    pos += chunk;
    const size_t held = redactor->process(buf.data(), buf.size(), *secrets, last);
    check(held <= buf.size() && held <= kMaxHoldBack && (!last || held == 0));
    out.append(buf, 0, buf.size() - held);
    buf.erase(0, buf.size() - held);
  } while (pos < size);
  if (seeded && secrets->count < clawtrace::preload::kMaxSecrets)  // never evicted
    check(out.find(kKnown) == std::string::npos);
  return out;
}

}  // namespace

// Input: 1 byte n, n chunk sizes, then the stream.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t nsizes = data[0] % 16;
  if (size < 1 + nsizes) return 0;
  const uint8_t* sizes = data + 1;
  const uint8_t* stream = data + 1 + nsizes;
  const size_t len = size - 1 - nsizes;

  static const uint8_t kOne = 1;
  for (bool seeded : {false, true}) {
    const std::string whole = drive(stream, len, nullptr, 0, seeded);
    check(whole.size() == len);
    for (size_t i = 0; i < len; ++i) check(whole[i] == static_cast<char>(stream[i]) || whole[i] == '*');
    check(drive(stream, len, sizes, nsizes, seeded) == whole);
    check(drive(stream, len, &kOne, 1, seeded) == whole);
  }
  return 0;
}
