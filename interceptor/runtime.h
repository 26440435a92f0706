// The preload's per-process runtime: who this process is in the trace, the spool file it
// appends records to, and the record emitters the wrappers call. Nothing here parses
// traffic or touches LMDB; emitting is one write(2) of a record built without the heap.
#pragma once

#include <sys/socket.h>

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "context.h"
#include "record_format.h"

namespace clawtrace::preload {

// Lazily initialises (safe from any wrapper, any thread, before or after our
// constructor) and tells whether this process is being traced right now. False in
// children that did not come through our fork wrapper (raw clone/vfork): those must not
// touch our state, which they may share with their parent.
bool tracing();
// The cheap check of the traffic wrappers: tracing is active (no fork check: a child
// that did not come through our fork wrapper only execs). Initialises lazily.
bool capturing();
// This process's pid as of its last fork through our wrapper (no system call).
uint32_t self_pid();

// Our constructor: initialises with the real argv.
void init_from_constructor(int argc, char** argv);

// Context for a child about to be started by this process under `span`.
TraceContext child_context(uint64_t span);
// The same, for an exec in a process whose state is not ours (pid changed without our
// fork wrapper): the new image becomes a child of the session we know.
TraceContext foreign_child_context();
ChildEnvSpec child_env_spec(const TraceContext& ctx);
bool environment_ready();  // the static strings child_env_spec needs are set
// True in a child that did not come through our fork wrapper while its parent traces.
bool in_foreign_child();

// Called in the child right after our fork wrapper's real fork returned 0.
void become_fork_child(uint64_t fork_span);

void emit_spawn(uint64_t span, wire::SpawnKind kind, uint64_t t_ns, pid_t child, int err,
                const char* path, const char* const* argv);
void emit_spawn_end(uint64_t span, uint64_t t_ns, int wait_status, int err);
void emit_reap(pid_t child, int wait_status);
void emit_exec(const char* path, const char* const* argv);
void emit_exec_failed(int err);

void note_exit_code(int code);
// Emits proc_exit once per process image.
void emit_exit(wire::ExitVia via);

uint64_t new_span_id();

// For capture.cpp: appends whole records to this session's spool (false on failure, after
// which tracing is disabled and reported once); "address:port" of a socket's peer; whether
// CLAWTRACE_CAPTURE=all asked for every HTTP/1.x connection to be captured.
bool append_records(const struct iovec* iov, int iovcnt);
bool format_peer(int fd, char* out, size_t cap);
bool capture_all_http();
// True for a connection to the relay of `clawtrace run --relay` (CLAWTRACE_RELAY): the relay
// records those exchanges, so capturing them here too would count every call twice.
bool is_relay_peer(const struct sockaddr* addr, socklen_t len);

}  // namespace clawtrace::preload
