// Streaming credential redaction (see redact.h).
//
// Model: one automaton reads the stream byte by byte (in effect; it jumps between trigger
// bytes) and decides for each byte whether it is masked. Names ("\nx-api-key:", "?key=",
// "\"api_key\": \"") are never masked, so reading them needs no hold-back: a name cut by a
// chunk end is kept in the state. Only a value is masked, and a value cut by a chunk end
// stays masked by the state too. Before the automaton passes position p, every known secret
// that starts at p (original bytes) is noted, and the bytes it covers are masked as the
// automaton passes them. All masking happens behind the automaton, so whatever it reads
// ahead is original. The result does not depend on where the stream is split; hold-back is
// needed only where a decision at p needs bytes not yet seen: a known secret's proper
// prefix at the end, an Authorization scheme word, a backslash before a quote.
#include "redact.h"

#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace clawtrace::preload {
namespace {

enum Mode : uint8_t {
  kScan,                // looking for a trigger: '\n', '?', '&', '"'
  kName,                // reading a name after a trigger
  kHeaderColon,         // sensitive header name read; spaces up to ':'
  kHeaderSpace,         // after ':'; spaces up to the value
  kAuthScheme,          // first byte of an Authorization value: is it a scheme word?
  kSchemeWord,          // passing a visible scheme word and its space
  kSchemeSpace,         // further spaces after the scheme word
  kHeaderValue,         // masking up to '\r' or '\n'
  kQueryValue,          // masking up to the end of a query value
  kJsonKeyQuote,        // "\"api_key\\" read: the '"' of an escaped closing quote
  kJsonColon,           // JSON key read; whitespace up to ':'
  kJsonSpace,           // after ':'; whitespace up to the value's opening quote
  kJsonOpenQuote,       // escaped opening quote: the '"' after its backslash
  kJsonValue,           // masking up to the closing quote
};

enum Kind : uint8_t { kLine, kQuery, kJson };

enum Field : uint8_t {
  kNoField,
  kAuth,      // "Scheme token": scheme visible, token masked and learned
  kLearn,     // whole value masked and learned
  kMaskOnly,  // whole value masked, never learned (cookies: many, large, short-lived)
};

// Visible in "Authorization: <scheme> <credentials>"; a value not starting with one of
// these followed by a space is masked whole (a bare key is not mistaken for a scheme).
constexpr const char* kSchemes[] = {"bearer", "basic", "digest", "token", "negotiate", "ntlm", "dpop",
                                    "aws4-hmac-sha256"};
constexpr size_t kMaxSchemeLen = 16;

struct Name {
  const char* text;
  size_t len;
};
template <size_t N>
constexpr Name name_of(const char (&text)[N]) {
  return {text, N - 1};
}
struct HeaderName {
  Name name;
  Field field;
};
// Header names that carry a credential, besides "api-key" and any name ending in "-api-key"
// (x-api-key: Anthropic; x-goog-api-key: Gemini; api-key: Azure OpenAI; x-litellm-api-key,
// x-gravitee-api-key and other gateways').
constexpr HeaderName kHeaders[] = {
    {name_of("authorization"), kAuth},
    {name_of("proxy-authorization"), kAuth},
    {name_of("cookie"), kMaskOnly},
    {name_of("set-cookie"), kMaskOnly},
    {name_of("x-auth-token"), kLearn},
    {name_of("x-amz-security-token"), kLearn},       // AWS session token (Bedrock)
    {name_of("ocp-apim-subscription-key"), kLearn},  // Azure AI services
};
// ?key= Gemini; api_key/apikey/api-key: common REST spellings; access_token: OAuth 2 query
// form (RFC 6750 §2.3); token: generic. Must start with k, a or t (see follower_ok).
constexpr Name kQueryNames[] = {name_of("key"),    name_of("api_key"),      name_of("apikey"),
                                name_of("api-key"), name_of("access_token"), name_of("token")};
// JSON keys; must start with a or x (see follower_ok).
constexpr Name kJsonNames[] = {name_of("api_key"),        name_of("apikey"),       name_of("api-key"),
                               name_of("x-api-key"),      name_of("x-goog-api-key"), name_of("access_token"),
                               name_of("authorization")};

inline char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }
struct NameChars {
  bool is[256] = {};
  constexpr NameChars() {
    for (int c = 0; c < 256; ++c)
      is[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  }
};
constexpr NameChars kNameChars;
inline bool is_name_char(char c) { return kNameChars.is[static_cast<unsigned char>(c)]; }
inline bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
inline bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
inline bool ends_query_value(char c) {
  return c == '&' || c == '#' || c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '"' || c == '\\';
}

// Case-insensitive; lit is lower case.
inline bool equals(const char* name, size_t len, Name lit) {
  if (lit.len != len) return false;
  for (size_t i = 0; i < len; ++i)
    if (lower(name[i]) != lit.text[i]) return false;
  return true;
}
template <size_t N>
bool in_list(const char* name, size_t len, const Name (&list)[N]) {
  for (const Name& lit : list)
    if (equals(name, len, lit)) return true;
  return false;
}

Field header_field(const char* name, size_t len) {
  for (const HeaderName& h : kHeaders)
    if (equals(name, len, h.name)) return h.field;
  constexpr Name suffix = name_of("-api-key");
  if (equals(name, len, Name{suffix.text + 1, suffix.len - 1}) ||
      (len > suffix.len && equals(name + len - suffix.len, suffix.len, suffix)))
    return kLearn;
  return kNoField;
}

// The first name byte after a trigger: a cheap filter, used both by the scanner (with the
// follower in view) and by kName (follower in the next chunk), so both decide alike.
inline bool follower_ok(char trigger, char f) {
  f = static_cast<char>(f | 0x20);
  if (trigger == '"') return f == 'a' || f == 'x';
  if (trigger == '?' || trigger == '&') return f == 'k' || f == 'a' || f == 't';
  return true;  // '\n': header names ending in -api-key may start with anything
}
inline Kind kind_of(char trigger) { return trigger == '\n' ? kLine : trigger == '"' ? kJson : kQuery; }
inline char trigger_of(Kind kind) { return kind == kLine ? '\n' : kind == kJson ? '"' : '?'; }

inline bool is_candidate(const char* d, size_t t, size_t n) {
  const char c = d[t];
  if (c == '\n') return true;
  if (c != '"' && c != '?' && c != '&') return false;
  return t + 1 >= n || follower_ok(c, d[t + 1]);
}

#if defined(__SSE2__)
// Bit i set where block byte i is '\n', or '"' followed by a or x, or '?'/'&' followed by
// k, a or t (any case): what is_candidate says, 16 bytes at a time. Reads p[0, 17).
inline unsigned candidates16(const char* p) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i f = _mm_or_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 1)), _mm_set1_epi8(0x20));
  const __m128i fa = _mm_cmpeq_epi8(f, _mm_set1_epi8('a'));
  const __m128i json = _mm_and_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                     _mm_or_si128(fa, _mm_cmpeq_epi8(f, _mm_set1_epi8('x'))));
  const __m128i query =
      _mm_and_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('?')), _mm_cmpeq_epi8(v, _mm_set1_epi8('&'))),
                    _mm_or_si128(fa, _mm_or_si128(_mm_cmpeq_epi8(f, _mm_set1_epi8('k')),
                                                  _mm_cmpeq_epi8(f, _mm_set1_epi8('t')))));
  const __m128i nl = _mm_cmpeq_epi8(v, _mm_set1_epi8('\n'));
  return static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(json, query), nl)));
}
#endif

// First trigger in [from, end) whose next byte (read up to n) may start a sensitive name.
size_t find_trigger(const char* d, size_t from, size_t end, size_t n) {
  size_t p = from;
#if defined(__SSE2__)
  const size_t limit = end < n ? end : n - 1;  // below it a byte's follower is in view
  while (p + 32 <= limit) {                    // two blocks per branch: triggers are far apart
    const uint32_t mask = candidates16(d + p) | (candidates16(d + p + 16) << 16);
    if (mask != 0) return p + static_cast<size_t>(__builtin_ctz(mask));
    p += 32;
  }
  while (p < limit && limit >= 16) {  // the last block may overlap bytes already seen
    const size_t base = p + 16 <= limit ? p : limit - 16;
    const unsigned mask = candidates16(d + base) & (0xFFFFu << (p - base));
    if (mask != 0) return base + static_cast<size_t>(__builtin_ctz(mask));
    p = base + 16;
  }
#endif
  for (; p < end; ++p)
    if (is_candidate(d, p, n)) return p;
  return end;
}

// First start ≥ from of s[0, len) (len ≥ 3) wholly inside d[0, n), or n. Filters on the
// first two bytes and the last one together (Mula's SIMD substring search): no set-up
// cost, which matters for the many small chunks of a streamed response.
size_t find_secret(const char* d, size_t from, size_t n, const char* s, size_t len) {
  if (n < len || from > n - len) return n;
  const size_t last = n - len;  // last possible start
  size_t p = from;
#if defined(__SSE2__)
  const __m128i b0 = _mm_set1_epi8(s[0]), b1 = _mm_set1_epi8(s[1]), bz = _mm_set1_epi8(s[len - 1]);
  for (; p + 15 <= last; p += 16) {
    const __m128i m0 = _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(d + p)), b0);
    const __m128i m1 = _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(d + p + 1)), b1);
    const __m128i mz = _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(d + p + len - 1)), bz);
    unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_and_si128(_mm_and_si128(m0, m1), mz)));
    for (; mask != 0; mask &= mask - 1) {
      const size_t at = p + static_cast<size_t>(__builtin_ctz(mask));
      if (memcmp(d + at + 2, s + 2, len - 3) == 0) return at;
    }
  }
#endif
  for (; p <= last; ++p)
    if (d[p] == s[0] && d[p + 1] == s[1] && memcmp(d + p + 2, s + 2, len - 2) == 0) return p;
  return n;
}

bool starts_with_ci(const char* s, size_t n, const char* lit) {
  const size_t len = strlen(lit);
  if (n < len) return false;
  for (size_t i = 0; i < len; ++i)
    if (lower(s[i]) != lit[i]) return false;
  return true;
}

// Length of "<scheme> " at the start of s, or 0.
size_t scheme_prefix(const char* s, size_t n) {
  for (const char* scheme : kSchemes) {
    const size_t len = strlen(scheme);
    if (starts_with_ci(s, n, scheme) && n > len && s[len] == ' ') return len + 1;
  }
  return 0;
}

// Whether s[0, n) is a scheme word or the start of one.
bool may_be_scheme(const char* s, size_t n) {
  for (const char* scheme : kSchemes)
    if (n <= strlen(scheme)) {
      size_t i = 0;
      while (i < n && lower(s[i]) == scheme[i]) ++i;
      if (i == n) return true;
    }
  return false;
}

// Adds s unless too short, too long or known; reports whether the set changed.
bool add_secret(SecretSet& set, const char* s, size_t n) {
  if (n < kMinSecretLen || n > kMaxSecretLen) return false;
  for (size_t i = 0; i < set.count; ++i)
    if (set.len[i] == n && memcmp(set.value[i], s, n) == 0) return false;
  if (set.count == kMaxSecrets) {  // drop the oldest (slot 0); keep learning order
    memmove(set.value[0], set.value[1], (kMaxSecrets - 1) * kMaxSecretLen);
    memmove(set.len, set.len + 1, (kMaxSecrets - 1) * sizeof set.len[0]);
    --set.count;
  }
  memcpy(set.value[set.count], s, n);
  set.len[set.count] = static_cast<uint16_t>(n);
  ++set.count;
  return true;
}

// ---- key formats recognised without being learned ------------------------------------------

// A key of a known format: its prefix at the start of a word, then a run of key characters
// ([A-Za-z0-9_-], is_name_char). "sk-": OpenAI (sk-proj-…, sk-svcacct-…), Anthropic
// (sk-ant-api03-…), OpenRouter (sk-or-v1-…), DeepSeek and others; "AIza": Google API keys
// (39 characters). `mixed`: a digit or capital letter must appear within the first
// kDecideLen characters, so prose like "sk-learn-compatible-estimators" stays visible.
struct KeyFormat {
  const char* prefix;
  size_t prefix_len;
  size_t min_len;  // prefix included
  bool mixed;
};
constexpr KeyFormat kKeyFormats[] = {{"sk-", 3, 23, true}, {"AIza", 4, 39, false}};
constexpr size_t kDecideLen = 64;  // what the decision may look at: bounds the hold-back
static_assert(kDecideLen <= kMaxHoldBack);

struct KeyMatch {
  size_t at;       // where a key starts, or n
  size_t end;      // where its run of key characters ends (n when the run reaches the end of data)
  bool undecided;  // the data ends before it can be told whether a key starts at `at`
};

inline bool is_mixed_char(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'); }

// Whether a key of format f starts at p (a word start): 1 yes, 0 no, -1 undecided. *end
// is where its run ends. With `final` (the writer also flushes what waited 100 ms) and
// unless the text is whole, a whole prefix whose run reaches n is masked: it may be a key
// whose rest comes later.
int key_of_format(const KeyFormat& f, const char* d, size_t p, size_t n, bool final, bool whole, size_t* end) {
  size_t k = 0;
  while (k < f.prefix_len && p + k < n && d[p + k] == f.prefix[k]) ++k;
  if (k < f.prefix_len) return p + k < n || final ? 0 : -1;
  bool mixed = !f.mixed;
  size_t q = p + k;
  for (; q < n && is_name_char(d[q]); ++q)
    if (!mixed && q - p < kDecideLen && is_mixed_char(d[q])) mixed = true;
  *end = q;
  const size_t len = q - p;
  if (len >= f.min_len && mixed) return 1;
  if (q < n || len >= kDecideLen) return 0;
  if (final) return whole ? 0 : 1;
  return -1;  // the run goes on past n: too short yet, or no digit or capital yet
}

// Positions ≥ from where 's' is followed by 'k' or 'A' by 'I' (or the data ends after it).
size_t find_key_candidate(const char* d, size_t from, size_t n) {
  size_t p = from;
#if defined(__SSE2__)
  const __m128i s = _mm_set1_epi8('s'), k = _mm_set1_epi8('k'), a = _mm_set1_epi8('A'), i = _mm_set1_epi8('I');
  for (; p + 17 <= n; p += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(d + p));
    const __m128i w = _mm_loadu_si128(reinterpret_cast<const __m128i*>(d + p + 1));
    const __m128i m = _mm_or_si128(_mm_and_si128(_mm_cmpeq_epi8(v, s), _mm_cmpeq_epi8(w, k)),
                                   _mm_and_si128(_mm_cmpeq_epi8(v, a), _mm_cmpeq_epi8(w, i)));
    if (const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(m))) return p + static_cast<size_t>(__builtin_ctz(mask));
  }
#endif
  for (; p < n; ++p)
    if ((d[p] == 's' && (p + 1 == n || d[p + 1] == 'k')) || (d[p] == 'A' && (p + 1 == n || d[p + 1] == 'I'))) return p;
  return n;
}

// The original byte k (1..kLookBehind) before d[p]; `before` holds the stream's bytes before d[0].
inline char byte_before(const char* d, size_t p, size_t k, const char* before) {
  return p >= k ? d[p - k] : before[kLookBehind - (k - p)];
}

// Whether a word starts at d[p]: after a byte that is not a key character, or after an
// escape that ends in one — JSON "\nsk-…" (tool output lines), "\u201csk-…" (Python's
// json.dumps), URL-encoded "%22sk-…".
bool word_start(const char* d, size_t p, const char* before) {
  const char c = byte_before(d, p, 1, before);
  if (!is_name_char(c)) return true;
  if (byte_before(d, p, 2, before) == '\\' && (c == 'n' || c == 'r' || c == 't' || c == 'b' || c == 'f')) return true;
  if (byte_before(d, p, 3, before) == '%' && is_hex(byte_before(d, p, 2, before)) && is_hex(c)) return true;
  if (byte_before(d, p, 6, before) != '\\' || byte_before(d, p, 5, before) != 'u') return false;
  for (size_t k = 1; k <= 4; ++k)
    if (!is_hex(byte_before(d, p, k, before))) return false;
  return true;
}

// The first key of a known format starting at or after `from`. `before`: the stream's
// kLookBehind bytes before d[0]. Reads only original bytes: from d[from - kLookBehind] on,
// which the caller has not masked yet.
KeyMatch find_key(const char* d, size_t from, size_t n, const char* before, bool final, bool whole) {
  for (size_t p = find_key_candidate(d, from, n); p < n; p = find_key_candidate(d, p + 1, n)) {
    if (!word_start(d, p, before)) continue;
    for (const KeyFormat& f : kKeyFormats) {
      size_t end = n;
      const int found = key_of_format(f, d, p, n, final, whole, &end);
      if (found != 0) return {p, end, found < 0};
    }
  }
  return {n, n, false};
}

}  // namespace

void SecretSet::add(const char* s, size_t n) { add_secret(*this, s, n); }

// One call of process(): the automaton (advance and the mode handlers) plus the known
// secrets' next occurrences in this buffer.
struct Redactor::Pass {
  Pass(Redactor& self, char* data, size_t size, SecretSet& set, bool is_final)
      : r(self), d(data), n(size), secrets(set), final(is_final) {}

  Redactor& r;
  char* d;
  size_t n;
  SecretSet& secrets;
  bool final;
  size_t end = 0;           // the automaton stops here (next secret event, or just after learning)
  bool learned = false;     // the secret set changed: look for its values again
  bool stuck = false;       // a decision needs bytes beyond n
  size_t overlay_end = 0;   // bytes before this are masked as the automaton passes them
  size_t occ[kMaxSecrets];  // next full occurrence of each secret, or n
  size_t tail[kMaxSecrets];  // where the buffer ends in a proper prefix of the secret, or n
  KeyMatch key{};            // the next key of a known format (kKeyFormats)
  bool key_open = false;     // a key noted as the automaton passed it runs on past n
  char before[kLookBehind];  // the original bytes before the automaton's position i

  size_t run();
  void find_secrets(size_t from);
  size_t tail_start(size_t j, size_t from) const;
  bool on_secrets_at(size_t i);
  bool on_key_at(size_t i);
  size_t advance(size_t i);

  size_t scan(size_t i);
  size_t name(size_t i);
  size_t name_end(size_t i, const char* nm, size_t len);
  size_t header_colon(size_t i);
  size_t header_space(size_t i);
  size_t auth_scheme(size_t i);
  size_t scheme_word(size_t i);
  size_t scheme_space(size_t i);
  size_t header_value(size_t i);
  size_t query_value(size_t i);
  size_t json_key_quote(size_t i);
  size_t json_colon(size_t i);
  size_t json_space(size_t i);
  size_t json_open_quote(size_t i);
  size_t json_value(size_t i);

  bool chunk_framing(char c);
  void begin_value(Mode mode, bool learn);
  void mask(size_t from, size_t to);
  void finish_value(size_t at);
};

size_t Redactor::process(char* data, size_t n, SecretSet& secrets, bool final) {
  Pass pass(*this, data, n, secrets, final);
  return pass.run();
}

size_t Redactor::Pass::run() {
  overlay_end = r.overlay_left_;
  memcpy(before, r.before_, kLookBehind);
  size_t from = 0;
  if (r.key_run_) {  // a key of a known format ran past the end of the last call
    while (from < n && is_name_char(d[from])) ++from;
    if (from > overlay_end) overlay_end = from;
    key_open = from == n;
  }
  key = find_key(d, from, n, r.before_, final, r.whole_);  // r.before_: the bytes before d[0]
  find_secrets(0);
  size_t i = 0;
  while (i < n) {
    size_t next = key.at;
    for (size_t j = 0; j < secrets.count; ++j) {
      if (occ[j] < next) next = occ[j];
      if (tail[j] < next) next = tail[j];
    }
    if (next == i) {
      if (!on_key_at(i) || !on_secrets_at(i)) break;
      continue;
    }
    end = next;
    learned = false;
    const size_t planned_end = end;
    char before_end[kLookBehind];  // d[i, end) is still original; `before` holds what came before i
    for (size_t k = 1; k <= kLookBehind; ++k) before_end[kLookBehind - k] = byte_before(d + i, end - i, k, before);
    const size_t b = advance(i);
    const char last = b > i ? d[b - 1] : ' ';  // never masked by the automaton when it stops early
    if (overlay_end > i) memset(d + i, '*', (b < overlay_end ? b : overlay_end) - i);
    if (b == planned_end) {
      memcpy(before, before_end, kLookBehind);
    } else if (b > i) {
      // Stopped early: after a learned value's terminator, after ':' or a space (stuck on an
      // Authorization scheme), or before a backslash (stuck in a JSON value). The last byte
      // then decides what follows alone, as the original bytes would.
      memset(before, ' ', kLookBehind);
      if (learned) before[kLookBehind - 1] = last;
    }
    i = b;
    if (stuck) break;
    if (learned) find_secrets(i);
  }
  r.overlay_left_ = overlay_end > i ? overlay_end - i : 0;
  r.key_run_ = key_open;
  memcpy(r.before_, before, kLookBehind);
  return n - i;
}

// A key of a known format starting at i: masked as the automaton passes. Returns false to
// stop before i (more data will tell whether it is one).
bool Redactor::Pass::on_key_at(size_t i) {
  if (key.at != i) return true;
  if (key.undecided) return false;  // never when final
  if (key.end > overlay_end) overlay_end = key.end;
  if (key.end == n) key_open = true;  // its run may go on in the next call
  key = find_key(d, key.end, n, r.before_, final, r.whole_);  // a key's run holds no other key's start
  return true;
}

void Redactor::Pass::find_secrets(size_t from) {
  if (secrets.count > kMaxSecrets) secrets.count = kMaxSecrets;
  for (size_t j = 0; j < secrets.count; ++j) {
    if (secrets.len[j] < kMinSecretLen || secrets.len[j] > kMaxSecretLen) {  // not made by add()
      occ[j] = tail[j] = n;
      continue;
    }
    occ[j] = find_secret(d, from, n, secrets.value[j], secrets.len[j]);
    tail[j] = tail_start(j, from);
  }
}

// Earliest k ≥ from where d[k, n) is a proper prefix of secret j (no full occurrence can
// start at or after it).
size_t Redactor::Pass::tail_start(size_t j, size_t from) const {
  const char* s = secrets.value[j];
  const size_t len = secrets.len[j];
  size_t k = n - from >= len ? n - len + 1 : from;
#if defined(__SSE2__)
  const __m128i b0 = _mm_set1_epi8(s[0]), b1 = _mm_set1_epi8(s[1]);
  for (; k + 17 <= n; k += 16) {
    const __m128i m0 = _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(d + k)), b0);
    const __m128i m1 = _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(d + k + 1)), b1);
    for (unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_and_si128(m0, m1))); mask != 0; mask &= mask - 1) {
      const size_t at = k + static_cast<size_t>(__builtin_ctz(mask));
      if (memcmp(d + at + 2, s + 2, n - at - 2) == 0) return at;
    }
  }
#endif
  for (; k < n; ++k)
    if (d[k] == s[0] && (k + 1 == n || (d[k + 1] == s[1] && memcmp(d + k + 2, s + 2, n - k - 2) == 0))) return k;
  return n;
}

// Known secrets starting at i: mask them as the automaton passes. Returns false to stop
// before i (more data will tell whether the tail is a secret).
bool Redactor::Pass::on_secrets_at(size_t i) {
  for (size_t j = 0; j < secrets.count; ++j) {
    if (occ[j] == i) {
      const size_t e = i + secrets.len[j];
      if (e > overlay_end) overlay_end = e;
      occ[j] = find_secret(d, i + 1, n, secrets.value[j], secrets.len[j]);
    } else if (tail[j] == i) {
      if (!final) return false;
      overlay_end = n;  // the stream ends inside what may be a secret
      tail[j] = n;
    }
  }
  return true;
}

// Runs the automaton over [i, end); stops early only when stuck.
size_t Redactor::Pass::advance(size_t i) {
  while (i < end && !stuck) {
    switch (r.mode_) {
      case kScan: i = scan(i); break;
      case kName: i = name(i); break;
      case kHeaderColon: i = header_colon(i); break;
      case kHeaderSpace: i = header_space(i); break;
      case kAuthScheme: i = auth_scheme(i); break;
      case kSchemeWord: i = scheme_word(i); break;
      case kSchemeSpace: i = scheme_space(i); break;
      case kHeaderValue: i = header_value(i); break;
      case kQueryValue: i = query_value(i); break;
      case kJsonKeyQuote: i = json_key_quote(i); break;
      case kJsonColon: i = json_colon(i); break;
      case kJsonSpace: i = json_space(i); break;
      case kJsonOpenQuote: i = json_open_quote(i); break;
      case kJsonValue: i = json_value(i); break;
      default: r.mode_ = kScan; break;
    }
  }
  return i;
}

size_t Redactor::Pass::scan(size_t i) {
  const size_t t = find_trigger(d, i, end, n);
  if (t == end) return end;
  r.kind_ = kind_of(d[t]);
  r.name_len_ = 0;
  r.mode_ = kName;
  return t + 1;
}

// Reads name bytes (never masked) into the state; a non-name byte ends the name and is
// looked at again by whatever comes next. Name bytes are never triggers, so none is skipped.
size_t Redactor::Pass::name(size_t i) {
  const char* p = d + i;
  const size_t len = r.name_len_;
  if (len == 0 && is_name_char(*p) && !follower_ok(trigger_of(static_cast<Kind>(r.kind_)), *p)) {
    r.mode_ = kScan;
    return i;
  }
  const size_t room = kMaxName - len, avail = end - i;
  size_t k = 0;
  while (k < avail && k <= room && is_name_char(p[k])) ++k;
  if (k > room) {  // longer than any sensitive name
    r.mode_ = kScan;
    return i + room;
  }
  if (len == 0 && k < avail) return name_end(i + k, p, k);  // all in view: no copy
  memcpy(r.name_ + len, p, k);
  r.name_len_ = static_cast<uint8_t>(len + k);
  return k == avail ? end : name_end(i + k, r.name_, len + k);
}

// The name nm[0, len) (any case) ended before d[i].
size_t Redactor::Pass::name_end(size_t i, const char* nm, size_t len) {
  const char c = d[i];
  r.mode_ = kScan;
  if (r.kind_ == kLine) {
    if (c != ':' && c != ' ' && c != '\t') return i;
    r.field_ = header_field(nm, len);
    if (r.field_ == kNoField) return i;
    r.mode_ = c == ':' ? kHeaderSpace : kHeaderColon;
    return i + 1;
  }
  if (r.kind_ == kQuery) {
    if (c != '=' || !in_list(nm, len, kQueryNames)) return i;
    begin_value(kQueryValue, true);
    return i + 1;
  }
  if ((c != '"' && c != '\\') || !in_list(nm, len, kJsonNames)) return i;
  r.escaped_ = c == '\\';
  r.gap_ = 0;
  r.mode_ = r.escaped_ ? kJsonKeyQuote : kJsonColon;
  return i + 1;
}

size_t Redactor::Pass::header_colon(size_t i) {
  const char c = d[i];
  if (c == ' ' || c == '\t') return i + 1;
  r.mode_ = c == ':' ? kHeaderSpace : kScan;
  return c == ':' ? i + 1 : i;
}

size_t Redactor::Pass::header_space(size_t i) {
  const char c = d[i];
  if (c == ' ' || c == '\t') return i + 1;
  if (c == '\r' || c == '\n') {
    r.mode_ = kScan;
  } else if (r.field_ == kAuth) {
    r.mode_ = kAuthScheme;
  } else {
    begin_value(kHeaderValue, r.field_ == kLearn);
  }
  return i;
}

// Decides, looking ahead up to n, whether the value starts with "<scheme> ".
size_t Redactor::Pass::auth_scheme(size_t i) {
  size_t k = 0;
  while (i + k < n && k <= kMaxSchemeLen && (is_name_char(d[i + k]) && d[i + k] != '_')) ++k;
  if (i + k == n && k <= kMaxSchemeLen && !final && may_be_scheme(d + i, k)) {
    stuck = true;  // "Bea|" may be "Bearer " or a bare key
    return i;
  }
  const size_t visible = scheme_prefix(d + i, n - i);
  if (visible != 0 && visible == k + 1) {
    r.skip_ = static_cast<uint8_t>(visible);
    r.mode_ = kSchemeWord;
  } else {
    begin_value(kHeaderValue, true);
  }
  return i;
}

size_t Redactor::Pass::scheme_word(size_t i) {
  const size_t k = r.skip_ < end - i ? r.skip_ : end - i;
  r.skip_ = static_cast<uint8_t>(r.skip_ - k);
  if (r.skip_ == 0) r.mode_ = kSchemeSpace;
  return i + k;
}

size_t Redactor::Pass::scheme_space(size_t i) {
  const char c = d[i];
  if (c == ' ') return i + 1;
  if (c == '\r' || c == '\n')
    r.mode_ = kScan;
  else
    begin_value(kHeaderValue, true);
  return i;
}

size_t Redactor::Pass::header_value(size_t i) {
  size_t t = i;
  while (t < end && d[t] != '\r' && d[t] != '\n') ++t;
  mask(i, t);
  if (t < end) finish_value(t);
  return t;
}

size_t Redactor::Pass::query_value(size_t i) {
  size_t t = i;
  while (t < end && !ends_query_value(d[t])) ++t;
  mask(i, t);
  if (t < end) finish_value(t);
  return t;
}

size_t Redactor::Pass::json_key_quote(size_t i) {
  r.mode_ = d[i] == '"' ? kJsonColon : kScan;
  return d[i] == '"' ? i + 1 : i;
}

size_t Redactor::Pass::json_colon(size_t i) {
  const char c = d[i];
  if (chunk_framing(c) || is_json_space(c)) return i + 1;
  r.mode_ = c == ':' ? kJsonSpace : kScan;
  return c == ':' ? i + 1 : i;
}

size_t Redactor::Pass::json_space(size_t i) {
  const char c = d[i];
  if (chunk_framing(c) || is_json_space(c)) return i + 1;
  if (c == (r.escaped_ ? '\\' : '"')) {
    if (r.escaped_)
      r.mode_ = kJsonOpenQuote;
    else
      begin_value(kJsonValue, true);
    return i + 1;
  }
  r.mode_ = kScan;  // not a string (null, a number, an object)
  return i;
}

size_t Redactor::Pass::json_open_quote(size_t i) {
  if (d[i] != '"') {
    r.mode_ = kScan;
    return i;
  }
  begin_value(kJsonValue, true);
  return i + 1;
}

// A JSON string value. Inside an escaped string (\"api_key\": \"v\") the value ends at a
// quote after 4k+1 backslashes, whose last backslash stays visible so the outer string stays
// valid JSON; a quote after an even number ends the outer string and so the value too.
size_t Redactor::Pass::json_value(size_t i) {
  for (; i < end; ++i) {
    const char c = d[i];
    if (chunk_framing(c)) continue;
    if (c == '\\') {
      if (r.escaped_ && (r.run_ + 1) % 4 == 1) {
        if (i + 1 >= n && !final) {
          stuck = true;
          return i;
        }
        if (i + 1 < n && d[i + 1] == '"') {
          finish_value(i);
          return i;
        }
      }
      r.run_ = static_cast<uint8_t>((r.run_ + 1) & 3);
    } else {
      if (c == '"' && (r.run_ & 1) == 0) {
        finish_value(i);
        return i;
      }
      r.run_ = 0;
    }
    mask(i, i + 1);
  }
  return i;
}

// A JSON string holds no raw CR or LF, so one there is the chunked encoding of the body
// cutting the value ("\r\n1f4\r\n"): that size line stays visible, or the HTTP framing
// would be lost for the rest of the connection. Returns whether c belongs to it.
bool Redactor::Pass::chunk_framing(char c) {
  const bool eol = c == '\r' || c == '\n';
  switch (r.gap_) {
    case 0: r.gap_ = eol ? 1 : 0; return eol;
    case 1: r.gap_ = eol ? 1 : is_hex(c) ? 2 : 0; return r.gap_ != 0;
    case 2: r.gap_ = eol ? 3 : is_hex(c) ? 2 : 0; return r.gap_ != 0;
    default: r.gap_ = eol ? 3 : 0; return eol;
  }
}

void Redactor::Pass::begin_value(Mode mode, bool learn) {
  r.mode_ = mode;
  r.learn_ = learn;
  r.collected_len_ = 0;
  r.run_ = 0;
  r.gap_ = 0;
}

// Masks d[from, to), first keeping the original bytes when the value is to be learned.
void Redactor::Pass::mask(size_t from, size_t to) {
  if (from == to) return;
  if (r.learn_ && r.collected_len_ <= kMaxSecretLen) {
    const size_t k = to - from;
    if (r.collected_len_ + k <= kMaxSecretLen) {
      memcpy(r.collected_ + r.collected_len_, d + from, k);
      r.collected_len_ = static_cast<uint16_t>(r.collected_len_ + k);
    } else {
      r.collected_len_ = kMaxSecretLen + 1;
    }
  }
  memset(d + from, '*', to - from);
}

// The value ended just before `at`; `at` itself is read again in kScan. A newly learned
// secret counts from at + 1 on, so the automaton stops there to let run() look for it.
void Redactor::Pass::finish_value(size_t at) {
  r.mode_ = kScan;
  if (!r.learn_ || r.collected_len_ > kMaxSecretLen) return;
  const char* v = r.collected_;
  size_t len = r.collected_len_;
  while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t')) --len;
  const size_t scheme = scheme_prefix(v, len);  // "authorization": "Bearer sk-…" in JSON
  v += scheme;
  len -= scheme;
  while (len > 0 && *v == ' ') ++v, --len;
  if (add_secret(secrets, v, len)) {
    learned = true;
    end = at + 1;
  }
}

namespace {

// Command-line flags that take a credential, without their leading dashes.
constexpr const char* kSecretFlags[] = {"api-key", "api_key", "apikey", "key", "token",
                                        "access-token", "auth-token", "password"};

// Length of the flag name when `arg` is `-NAME` or `--NAME` (optionally `=…`), else 0.
size_t secret_flag_len(const char* arg, size_t n) {
  size_t dashes = 0;
  while (dashes < 2 && dashes < n && arg[dashes] == '-') ++dashes;
  if (dashes == 0) return 0;
  for (const char* flag : kSecretFlags) {
    const size_t len = strlen(flag);
    if (n - dashes >= len && memcmp(arg + dashes, flag, len) == 0 &&
        (n - dashes == len || arg[dashes + len] == '='))
      return dashes + len;
  }
  return 0;
}

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n'; }

// A command line inside one argument (`sh -c "agent --api-key sk-… --x"`): the word after
// a credential flag, or after its '=', is masked.
void mask_flag_words(char* s, size_t n) {
  bool mask_next = false;
  for (size_t at = 0; at < n;) {
    while (at < n && is_blank(s[at])) ++at;
    size_t end = at;
    while (end < n && !is_blank(s[end])) ++end;
    if (end == at) break;
    if (mask_next) {
      memset(s + at, '*', end - at);
      mask_next = false;
    } else if (const size_t flag = secret_flag_len(s + at, end - at)) {
      if (at + flag < end) memset(s + at + flag + 1, '*', end - at - flag - 1);  // --key=VALUE
      else mask_next = true;
    }
    at = end;
  }
}

// A quoted header inside a command line (`curl -H 'x-api-key: sk-…' …`): the value is
// masked up to the closing quote, an authorization scheme left visible.
void mask_quoted_headers(char* s, size_t n) {
  for (size_t q = 0; q < n; ++q) {
    if ((s[q] != '\'' && s[q] != '"') || (q > 0 && !is_blank(s[q - 1]))) continue;
    size_t at = q + 1, name = at;
    while (at < n && is_name_char(s[at])) ++at;
    if (at == name || at >= n || s[at] != ':' || header_field(s + name, at - name) == kNoField) continue;
    ++at;
    while (at < n && s[at] == ' ') ++at;
    at += scheme_prefix(s + at, n - at);
    while (at < n && s[at] != s[q]) s[at++] = '*';
    q = at;
  }
}

}  // namespace

void mask_key_formats(char* s, size_t n) {
  constexpr char kNothing[kLookBehind] = {' ', ' ', ' ', ' ', ' ', ' '};
  for (KeyMatch k = find_key(s, 0, n, kNothing, true, true); k.at < n; k = find_key(s, k.end, n, kNothing, true, true))
    memset(s + k.at, '*', k.end - k.at);
}

bool is_secret_flag(const char* arg) {
  const size_t n = strlen(arg);
  const size_t flag = secret_flag_len(arg, n);
  return flag != 0 && flag == n;
}

void redact_argument(char* s, size_t n) {
  static_assert(kMaxSecrets * kMaxSecretLen <= 16384, "SecretSet is meant to fit on a stack");
  if (const size_t flag = secret_flag_len(s, n); flag && flag < n) {
    memset(s + flag + 1, '*', n - flag - 1);  // --api-key=VALUE
    return;
  }
  mask_flag_words(s, n);
  mask_quoted_headers(s, n);
  SecretSet none;
  Redactor r(Redactor::WholeText{});
  char line_start = '\n';
  (void)r.process(&line_start, 1, none, false);
  (void)r.process(s, n, none, true);
}

}  // namespace clawtrace::preload
