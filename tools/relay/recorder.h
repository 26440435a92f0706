// What the relay records: the same spool records the preload writes for a captured
// connection (interceptor/record_format.h), redacted by the same code
// (interceptor/redact.h), in a spool of the relay's own session. Ingestion (hooks/) then
// makes the same events from them as from the preload's.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "record_format.h"
#include "redact.h"
#include "result.h"

namespace clawtrace::relay {

struct SessionSpec {
  std::filesystem::path spool_dir;  // <store>/spool
  uint64_t parent_session = 0;      // `run --relay`: the command's session; 0: a root session
  uint64_t trace_hi = 0, trace_lo = 0;
  std::string name;                 // root sessions only
  std::string tags;                 // k=v,k=v
  std::vector<std::string> argv;
};

class Recorder;

// One forwarded exchange, recorded as one connection of its own. Not thread-safe: one
// exchange belongs to the thread forwarding it.
class RecordedExchange {
 public:
  RecordedExchange(Recorder& recorder, std::string_view upstream_host);
  RecordedExchange(const RecordedExchange&) = delete;
  RecordedExchange& operator=(const RecordedExchange&) = delete;
  ~RecordedExchange();  // close()s

  void sent(std::string_view bytes) { add(wire::Direction::out, bytes); }
  void received(std::string_view bytes) { add(wire::Direction::in, bytes); }
  // Writes what redaction held back and ends the connection.
  void close();

 private:
  void add(wire::Direction d, std::string_view bytes);
  void flush(int d, bool final);

  Recorder& recorder_;
  uint64_t conn_;
  bool closed_ = false;
  preload::Redactor redactor_[2];
  std::string pending_[2];  // bytes redaction held back (a credential may continue)
  uint64_t offset_[2] = {0, 0};
};

class Recorder {
 public:
  // Creates the session's spool and writes its start record.
  [[nodiscard]] static Result<std::unique_ptr<Recorder>> open(const SessionSpec& spec);
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;
  ~Recorder();  // writes the exit record

  uint64_t session() const { return session_; }
  // False once a write failed (disk full): the relay goes on forwarding, unrecorded.
  bool healthy() const;

 private:
  friend class RecordedExchange;
  Recorder(int fd, uint64_t session) : fd_(fd), session_(session) {}
  template <class Fill>
  void emit(wire::RecordType type, Fill&& fill);
  // Masks credentials in place, learning new ones (shared by all exchanges, as in one process).
  size_t redact(preload::Redactor& r, char* data, size_t n, bool final);

  int fd_;
  uint64_t session_;
  std::mutex secrets_mu_;
  preload::SecretSet secrets_;
  std::atomic<bool> failed_{false};
};

}  // namespace clawtrace::relay
