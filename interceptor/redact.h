// Credential redaction inside the traced process, before captured bytes reach the spool.
// Runs on the background writer thread (never on the wrapped call itself). Framing-free
// and streaming: it finds credentials by pattern in each direction's byte stream, split
// anywhere, and masks them in place with '*' (same length, so stream offsets and HTTP
// framing stay valid). No heap, no libstdc++, no locks: the preload links without them.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace clawtrace::preload {

inline constexpr size_t kMaxSecrets = 16;
inline constexpr size_t kMaxSecretLen = 512;
inline constexpr size_t kMinSecretLen = 8;   // shorter values are not learned
inline constexpr size_t kMaxHoldBack = kMaxSecretLen + 64;

// Credential values learned from headers and query strings of this process's requests;
// they are masked wherever they appear later, in either direction (bodies included).
struct SecretSet {
  size_t count = 0;
  uint16_t len[kMaxSecrets] = {};
  char value[kMaxSecrets][kMaxSecretLen] = {};
  // Ignores values that are too short, too long, or already known; when full, the oldest
  // learned value is replaced.
  void add(const char* s, size_t n);
};

// One direction of one connection.
class Redactor {
 public:
  // Masks credentials in data[0, n) in place. Returns how many bytes at the end must be
  // held back because they may be the beginning of a credential that continues in the
  // next chunk (at most kMaxHoldBack); the caller prepends them to the next call's data.
  // With `final` (connection closed, process exiting) nothing is held back: a trailing
  // partial match is masked conservatively.
  size_t process(char* data, size_t n, SecretSet& secrets, bool final);

 private:
  // Implementation state (see redact.cpp).
  uint8_t mode_ = 0;          // what the bytes being scanned belong to
  uint16_t collected_len_ = 0;
  bool learn_ = false;        // collect the masked value into the secret set
  char collected_[kMaxSecretLen] = {};
};

}  // namespace clawtrace::preload
