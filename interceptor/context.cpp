#include "context.h"

#include <string.h>

#include "sys.h"

namespace clawtrace {
namespace {

void format_dec10(uint64_t v, char* out) {
  for (int i = 9; i >= 0; --i, v /= 10) out[i] = static_cast<char>('0' + v % 10);
}

bool parse_dec10(const char* s, uint64_t* out) {
  uint64_t v = 0;
  for (int i = 0; i < 10; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + static_cast<uint64_t>(s[i] - '0');
  }
  *out = v;
  return true;
}

bool var_is(const char* entry, const char* name) {
  size_t n = strlen(name);
  return strncmp(entry, name, n) == 0 && entry[n] == '=';
}

// Appends "NAME=value" to the string area and returns it.
char* put_var(char*& area, const char* name, const char* value, size_t value_len) {
  char* start = area;
  size_t n = strlen(name);
  memcpy(area, name, n);
  area += n;
  *area++ = '=';
  memcpy(area, value, value_len);
  area += value_len;
  *area++ = '\0';
  return start;
}

}  // namespace

void format_ctx(const TraceContext& c, char* out) {
  out[0] = '1';
  out[1] = ':';
  sys::hex16(c.session, out + 2);
  out[18] = ':';
  format_dec10(c.owner_pid, out + 19);
  out[29] = ':';
  sys::hex16(c.span, out + 30);
  out[46] = ':';
  sys::hex16(c.trace_hi, out + 47);
  sys::hex16(c.trace_lo, out + 63);
  out[79] = ':';
  out[80] = c.flag;
}

bool parse_ctx(const char* v, TraceContext* out) {
  if (!v || strlen(v) != kCtxValueLen) return false;
  if (v[0] != '1' || v[1] != ':' || v[18] != ':' || v[29] != ':' || v[46] != ':' || v[79] != ':')
    return false;
  TraceContext c;
  if (!sys::parse_hex16(v + 2, &c.session) || !parse_dec10(v + 19, &c.owner_pid) ||
      !sys::parse_hex16(v + 30, &c.span) || !sys::parse_hex16(v + 47, &c.trace_hi) ||
      !sys::parse_hex16(v + 63, &c.trace_lo))
    return false;
  if (v[80] != '-' && v[80] != 'x') return false;
  c.flag = v[80];
  if (c.session == 0) return false;
  *out = c;
  return true;
}

void format_traceparent(uint64_t trace_hi, uint64_t trace_lo, uint64_t span, char* out) {
  memcpy(out, "00-", 3);
  sys::hex16(trace_hi, out + 3);
  sys::hex16(trace_lo, out + 19);
  out[35] = '-';
  sys::hex16(span, out + 36);
  memcpy(out + 52, "-01", 3);
}

bool parse_traceparent(const char* v, uint64_t* trace_hi, uint64_t* trace_lo, uint64_t* span) {
  if (!v || strlen(v) < kTraceparentValueLen) return false;
  if (v[2] != '-' || v[35] != '-' || v[52] != '-') return false;
  uint64_t hi, lo, sp;
  if (!sys::parse_hex16(v + 3, &hi) || !sys::parse_hex16(v + 19, &lo) ||
      !sys::parse_hex16(v + 36, &sp))
    return false;
  if ((hi | lo) == 0 || sp == 0) return false;  // all-zero ids are invalid per W3C
  *trace_hi = hi;
  *trace_lo = lo;
  *span = sp;
  return true;
}

bool preload_list_has_us(const char* list) {
  static const char kName[] = "libclawtrace.so";
  const size_t name_len = sizeof kName - 1;
  const char* p = list;
  while (p && *p) {
    while (*p == ':' || *p == ' ') ++p;
    const char* end = p;
    while (*end && *end != ':' && *end != ' ') ++end;
    size_t len = static_cast<size_t>(end - p);
    if (len >= name_len && memcmp(end - name_len, kName, name_len) == 0 &&
        (len == name_len || end[-static_cast<long>(name_len) - 1] == '/'))
      return true;
    p = end;
  }
  return false;
}

char** build_child_env(char* const* envp, const ChildEnvSpec& spec, Scratch& scratch) {
  size_t envc = 0;
  const char* preload = nullptr;
  bool has_store = false, has_tags = false, has_quiet = false;
  for (; envp && envp[envc]; ++envc) {
    const char* e = envp[envc];
    if (var_is(e, "LD_PRELOAD")) preload = e + sizeof("LD_PRELOAD");
    else if (var_is(e, "CLAWTRACE_STORE")) has_store = true;
    else if (var_is(e, "CLAWTRACE_TAGS")) has_tags = true;
    else if (var_is(e, "CLAWTRACE_QUIET")) has_quiet = true;
  }
  const bool preload_ok = preload && preload_list_has_us(preload);
  const size_t lib_len = strlen(spec.preload_path);
  const size_t old_len = preload ? strlen(preload) : 0;
  const size_t strings = sizeof(kCtxVar) + kCtxValueLen + 1 + sizeof("TRACEPARENT") +
                         kTraceparentValueLen + 1 + sizeof("LD_PRELOAD") + lib_len + 1 +
                         old_len + 1 + sizeof("CLAWTRACE_STORE") + strlen(spec.store_dir) + 1 +
                         sizeof("CLAWTRACE_TAGS") + strlen(spec.tags) + 1 +
                         sizeof("CLAWTRACE_QUIET=1");
  const size_t slots = envc + 7;
  char* mem = scratch.reserve(slots * sizeof(char*) + strings);
  if (!mem) return nullptr;
  char** out = reinterpret_cast<char**>(mem);
  char* area = mem + slots * sizeof(char*);
  size_t n = 0;
  for (size_t i = 0; i < envc; ++i) {
    const char* e = envp[i];
    if (var_is(e, kCtxVar) || var_is(e, "TRACEPARENT")) continue;
    if (var_is(e, "LD_PRELOAD") && !preload_ok) continue;  // replaced below
    out[n++] = const_cast<char*>(e);
  }
  char ctx[kCtxValueLen];
  format_ctx(spec.ctx, ctx);
  out[n++] = put_var(area, kCtxVar, ctx, kCtxValueLen);
  char tp[kTraceparentValueLen];
  format_traceparent(spec.ctx.trace_hi, spec.ctx.trace_lo,
                     spec.ctx.span ? spec.ctx.span : spec.ctx.session, tp);
  out[n++] = put_var(area, "TRACEPARENT", tp, kTraceparentValueLen);
  if (!preload_ok) {
    // Ours first; whatever the caller preloaded keeps its place after us.
    out[n++] = put_var(area, "LD_PRELOAD", spec.preload_path, lib_len);
    if (old_len) {
      area[-1] = ':';
      memcpy(area, preload, old_len);
      area += old_len;
      *area++ = '\0';
    }
  }
  if (!has_store) out[n++] = put_var(area, "CLAWTRACE_STORE", spec.store_dir, strlen(spec.store_dir));
  if (!has_tags && spec.tags[0]) out[n++] = put_var(area, "CLAWTRACE_TAGS", spec.tags, strlen(spec.tags));
  if (!has_quiet && spec.quiet) out[n++] = put_var(area, "CLAWTRACE_QUIET", "1", 1);
  out[n] = nullptr;
  return out;
}

}  // namespace clawtrace
