// The context a traced process hands to its children through the environment, and the
// environment rewrite that puts it (and the preload) back into any custom envp.
// Pure functions over caller-provided buffers: no heap, unit-tested without the preload.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "record_builder.h"

namespace clawtrace {

// CLAWTRACE_CTX=1:<session 16 hex>:<owner pid, 10 digits>:<span 16 hex>:<trace 32 hex>:<flag>
// owner pid: the process whose session this is. A new image whose pid equals it continues
// the session (exec); owner 0 asks the first image to adopt the session id as a root
// (`clawtrace run`); any other pid makes a child session. flag: '-' normal, 'x' tracing
// disabled (the store failed upstream; stay silent).
struct TraceContext {
  uint64_t session = 0;
  uint64_t owner_pid = 0;
  uint64_t span = 0;  // the parent span for children; 0 = resolve at ingestion
  uint64_t trace_hi = 0;
  uint64_t trace_lo = 0;
  char flag = '-';
};

inline constexpr char kCtxVar[] = "CLAWTRACE_CTX";
inline constexpr size_t kCtxValueLen = 2 + 16 + 1 + 10 + 1 + 16 + 1 + 32 + 1 + 1;
// W3C trace context: 00-<trace 32>-<span 16>-01
inline constexpr size_t kTraceparentValueLen = 55;

// Writes exactly kCtxValueLen chars (no terminator).
void format_ctx(const TraceContext& c, char* out);
bool parse_ctx(const char* value, TraceContext* out);
// Writes exactly kTraceparentValueLen chars (no terminator).
void format_traceparent(uint64_t trace_hi, uint64_t trace_lo, uint64_t span, char* out);
bool parse_traceparent(const char* value, uint64_t* trace_hi, uint64_t* trace_lo, uint64_t* span);

// What a child's environment must carry for it to be traced into the same store.
struct ChildEnvSpec {
  TraceContext ctx;
  const char* preload_path;  // absolute path of libclawtrace.so
  const char* store_dir;     // absolute
  const char* tags;          // may be empty
  bool quiet;
};

// Builds the envp for exec/spawn: `envp` (may be null: treated as empty) with
// CLAWTRACE_CTX and TRACEPARENT replaced, our library put first in LD_PRELOAD unless it is
// already there, and CLAWTRACE_STORE / CLAWTRACE_TAGS / CLAWTRACE_QUIET restored when the
// caller dropped them. Everything lives in `scratch`. Returns null if memory ran out.
char** build_child_env(char* const* envp, const ChildEnvSpec& spec, Scratch& scratch);

// True if `list` (LD_PRELOAD syntax: ':' or ' ' separated) names libclawtrace.so.
bool preload_list_has_us(const char* list);

}  // namespace clawtrace
