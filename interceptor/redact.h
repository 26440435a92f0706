// Credential redaction inside the traced process, before captured bytes reach the spool.
// Runs on the background writer thread (never on the wrapped call itself). Framing-free
// and streaming: it finds credentials by pattern in each direction's byte stream, split
// anywhere, and masks them in place with '*' (same length, so stream offsets and HTTP
// framing stay valid). No heap, no libstdc++, no locks: the preload links without them.
// Masked: values of credential headers, query parameters and JSON fields (and those values
// wherever they appear later: learned secrets), plus keys of known formats anywhere (a word
// starting "sk-" or "AIza" followed by enough key characters: redact.cpp, kKeyFormats).
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace clawtrace::preload {

inline constexpr size_t kMaxSecrets = 16;
inline constexpr size_t kMaxSecretLen = 512;
inline constexpr size_t kMinSecretLen = 8;   // shorter values are not learned
inline constexpr size_t kMaxHoldBack = kMaxSecretLen + 64;
inline constexpr size_t kLookBehind = 6;  // bytes before a key that decide it starts a word ("\u201c")

// Credential values learned from headers, query strings and JSON fields of this process's
// traffic; they are masked wherever they appear later, in either direction (bodies included).
struct SecretSet {
  // Only the first `count` entries are meaningful; the rest is left uninitialised, so a
  // set costs nothing to make (one is made per recorded command-line argument).
  size_t count = 0;
  uint16_t len[kMaxSecrets];
  char value[kMaxSecrets][kMaxSecretLen];
  // Ignores values that are too short, too long, or already known; when full, the oldest
  // learned value is replaced.
  void add(const char* s, size_t n);
};

// One direction of one connection.
class Redactor {
 public:
  Redactor() = default;
  // For text that is whole (a command-line argument): nothing follows its end, so what
  // only more bytes could make a key is left as it is there.
  struct WholeText {};
  constexpr explicit Redactor(WholeText) : whole_(true) {}

  // Masks credentials in data[0, n) in place. Returns how many bytes at the end must be
  // held back because they may be the beginning of a credential that continues in the
  // next chunk (at most kMaxHoldBack); they are left unmodified and the caller prepends
  // them to the next call's data. The output does not depend on how the stream is split.
  // With `final` (connection closed, process exiting) nothing is held back: a trailing
  // partial match is masked conservatively.
  size_t process(char* data, size_t n, SecretSet& secrets, bool final);

 private:
  struct Pass;  // one call's scan (redact.cpp)
  static constexpr size_t kMaxName = 48;

  // Implementation state: everything needed to resume exactly where the last call stopped.
  uint8_t mode_ = 0;            // what the next byte belongs to (redact.cpp: Mode)
  uint8_t kind_ = 0;            // which names a name being read is matched against
  uint8_t field_ = 0;           // how the matched field's value is masked and learned
  uint8_t name_len_ = 0;
  uint8_t skip_ = 0;            // bytes of a visible Authorization scheme still to pass
  uint8_t run_ = 0;             // backslashes (mod 4) just before the next byte of a JSON value
  uint8_t gap_ = 0;             // where in a chunked-encoding size line inside a JSON value
  bool escaped_ = false;        // the JSON key sat inside a JSON string (\"api_key\")
  bool learn_ = false;          // collect the masked value into the secret set
  uint16_t collected_len_ = 0;  // kMaxSecretLen + 1 once the value is too long to learn
  size_t overlay_left_ = 0;     // bytes still to mask of a known secret met in an earlier call
  bool key_run_ = false;        // a key of a known format (sk-…, AIza…) runs on into the next call
  char before_[kLookBehind] = {' ', ' ', ' ', ' ', ' ', ' '};  // original bytes before the next call's data
  bool whole_ = false;          // see WholeText
  char name_[kMaxName] = {};
  char collected_[kMaxSecretLen] = {};
};

// Masks credentials in one command-line argument, in place: `-H "x-api-key: …"`,
// `Authorization: Bearer …`, URLs with `?key=…`, `{"api_key": "…"}`. The argument is
// scanned as if it began a header line. Used for every argv the preload records.
// `--api-key=VALUE`-style arguments are masked after the '=' too.
void redact_argument(char* s, size_t n);
// Masks keys of known formats (sk-…, AIza…) in whole text, in place. For text joined from
// pieces after capture (a key a model streamed across SSE events) and for imported events.
void mask_key_formats(char* s, size_t n);
// True for a flag whose next argument is a credential (`--api-key`, `--key`, `--token`, …).
bool is_secret_flag(const char* arg);

}  // namespace clawtrace::preload
