#include "recorder.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "event.h"
#include "record_builder.h"
#include "sys.h"

namespace clawtrace::relay {
namespace {

// Records stay far below the format's size limit (a request body can be megabytes).
constexpr size_t kMaxPiece = size_t{1} << 20;

std::string join_cwd() {
  std::error_code ec;
  auto p = std::filesystem::current_path(ec);
  return ec ? std::string() : p.string();
}

}  // namespace

Result<std::unique_ptr<Recorder>> Recorder::open(const SessionSpec& spec) {
  const uint64_t session = sys::random_id();
  const std::filesystem::path file = spec.spool_dir / (hex_id(session) + ".spool");
  int fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return fail("cannot create " + file.string() + ": " + std::strerror(errno));
  wire::FileHeader h{};
  std::memcpy(h.magic, wire::kFileMagic, sizeof h.magic);
  h.version = wire::kFormatVersion;
  h.header_size = sizeof h;
  h.pid = static_cast<uint32_t>(getpid());
  h.proc_start_ticks = sys::self_start_ticks();
  h.session = session;
  h.created_ns = sys::now_ns();
  if (!sys::write_all(fd, &h, sizeof h)) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    return fail("cannot write " + file.string() + ": " + why);
  }
  std::unique_ptr<Recorder> r(new Recorder(fd, session));
  std::vector<const char*> argv;
  for (const auto& a : spec.argv) argv.push_back(a.c_str());
  argv.push_back(nullptr);
  const std::string cwd = join_cwd();
  r->emit(wire::RecordType::proc_start, [&](RecordBuilder& b) {
    b.u64(wire::Field::session, session);
    b.u64(wire::Field::trace_hi, spec.trace_hi);
    b.u64(wire::Field::trace_lo, spec.trace_lo);
    b.u64(wire::Field::via, static_cast<uint64_t>(spec.parent_session ? wire::Via::child : wire::Via::root));
    b.u64(wire::Field::ppid, static_cast<uint64_t>(getppid()));
    b.u64(wire::Field::proc_start_ticks, h.proc_start_ticks);
    if (spec.parent_session) {
      b.u64(wire::Field::parent_session, spec.parent_session);
      b.u64(wire::Field::parent_span, 0);
      b.u64(wire::Field::parent_exact, 0);
    }
    b.strv(wire::Field::argv, argv.data());
    b.str(wire::Field::cwd, cwd.c_str());
    if (!spec.tags.empty()) b.str(wire::Field::tags, spec.tags.c_str());
    if (!spec.parent_session && !spec.name.empty()) b.str(wire::Field::name, spec.name.c_str());
  });
  return r;
}

Recorder::~Recorder() {
  emit(wire::RecordType::proc_exit, [](RecordBuilder& b) {
    b.u64(wire::Field::exit_via, static_cast<uint64_t>(wire::ExitVia::exit));
    b.u64(wire::Field::exit_code, 0);
  });
  ::close(fd_);
}

bool Recorder::healthy() const { return !failed_.load(std::memory_order_relaxed); }

// One record, one write(2) on an O_APPEND descriptor: records of concurrent exchanges
// never interleave inside each other.
template <class Fill>
void Recorder::emit(wire::RecordType type, Fill&& fill) {
  const uint64_t t_ns = sys::now_ns();
  RecordBuilder measure(nullptr, type, t_ns, 0, 0);
  fill(measure);
  std::vector<char> buf(measure.size());
  RecordBuilder b(buf.data(), type, t_ns, static_cast<uint32_t>(getpid()), static_cast<uint32_t>(sys::tid()));
  fill(b);
  if (!sys::write_all(fd_, buf.data(), b.finish())) failed_.store(true, std::memory_order_relaxed);
}

size_t Recorder::redact(preload::Redactor& r, char* data, size_t n, bool final) {
  std::lock_guard lock(secrets_mu_);
  return r.process(data, n, secrets_, final);
}

RecordedExchange::RecordedExchange(Recorder& recorder, std::string_view upstream_host)
    : recorder_(recorder), conn_(sys::random_id()) {
  const std::string host(upstream_host);
  recorder_.emit(wire::RecordType::conn_open, [&](RecordBuilder& b) {
    b.u64(wire::Field::conn, conn_);
    b.u64(wire::Field::layer, static_cast<uint64_t>(wire::Layer::relay));
    b.str(wire::Field::host, host.c_str());
  });
}

RecordedExchange::~RecordedExchange() { close(); }

void RecordedExchange::add(wire::Direction d, std::string_view bytes) {
  if (closed_ || bytes.empty()) return;
  const int i = d == wire::Direction::out ? 0 : 1;
  pending_[i].append(bytes);
  flush(i, false);
}

// Redacts what is pending and records all but the bytes redaction holds back.
void RecordedExchange::flush(int d, bool final) {
  std::string& p = pending_[d];
  if (p.empty()) return;
  size_t hold = recorder_.redact(redactor_[d], p.data(), p.size(), final);
  hold = std::min(hold, p.size());
  const size_t n = p.size() - hold;
  for (size_t at = 0; at < n;) {
    const size_t piece = std::min(n - at, kMaxPiece);
    recorder_.emit(wire::RecordType::conn_data, [&](RecordBuilder& b) {
      b.u64(wire::Field::conn, conn_);
      b.u64(wire::Field::direction, static_cast<uint64_t>(d == 0 ? wire::Direction::out : wire::Direction::in));
      b.u64(wire::Field::stream_offset, offset_[d]);
      b.bytes(wire::Field::payload, p.data() + at, piece, 0);
    });
    offset_[d] += piece;
    at += piece;
  }
  p.erase(0, n);
}

void RecordedExchange::close() {
  if (closed_) return;
  flush(0, true);
  flush(1, true);
  closed_ = true;
  recorder_.emit(wire::RecordType::conn_close, [&](RecordBuilder& b) { b.u64(wire::Field::conn, conn_); });
}

}  // namespace clawtrace::relay
