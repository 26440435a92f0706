#include "refs.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

namespace json = boost::json;

namespace clawtrace {
namespace {

// References point at most this far back (the preload keeps one request of up to 16 MiB).
constexpr uint64_t kReach = 64ull << 20;

bool number(const json::value& v, uint64_t& out) {
  if (v.is_uint64()) out = v.get_uint64();
  else if (v.is_int64() && v.get_int64() >= 0) out = static_cast<uint64_t>(v.get_int64());
  else return false;
  return true;
}

}  // namespace

void RefIndex::add(uint64_t conn, SentSegment s) {
  auto& segs = conns_[conn];
  if (!segs.empty() && segs.back().stream + segs.back().len == s.stream &&
      segs.back().file + segs.back().len == s.file) {
    segs.back().len += s.len;  // contiguous in both: one segment
  } else {
    segs.push_back(s);
  }
  const uint64_t end = s.stream + s.len;
  auto stale = std::find_if(segs.begin(), segs.end(),
                            [&](const SentSegment& x) { return x.stream + x.len + kReach > end; });
  segs.erase(segs.begin(), stale);
}

bool RefIndex::read(int fd, uint64_t conn, uint64_t stream, uint64_t len, std::string& out,
                    std::vector<SentSegment>& found) const {
  auto it = conns_.find(conn);
  if (it == conns_.end()) return false;
  out.clear();
  found.clear();
  const uint64_t end = stream + len;
  for (const auto& seg : it->second) {
    const uint64_t lo = std::max(stream + out.size(), seg.stream);
    const uint64_t hi = std::min(end, seg.stream + seg.len);
    if (lo != stream + out.size() || lo >= hi) continue;  // not the next piece
    const size_t n = static_cast<size_t>(hi - lo);
    const size_t at = out.size();
    out.resize(at + n);
    const uint64_t file_at = seg.file + (lo - seg.stream);
    if (pread(fd, out.data() + at, n, static_cast<off_t>(file_at)) != static_cast<ssize_t>(n)) return false;
    found.push_back({lo, n, file_at});
    if (stream + out.size() == end) return true;
  }
  return false;
}

void RefIndex::resolve(const std::filesystem::path& file, std::vector<SpoolRecord>& records) {
  int fd = -1;
  std::string bytes;
  std::vector<SentSegment> found;
  for (auto& r : records) {
    if (!r.conn) continue;
    if (r.type == wire::RecordType::conn_close) {
      conns_.erase(*r.conn);
      continue;
    }
    if (r.direction.value_or(1) != 0 || !r.stream_offset) continue;
    if (r.type == wire::RecordType::conn_data && r.payload && !r.payload->empty()) {
      add(*r.conn, {*r.stream_offset, r.payload->size(), r.payload_offset});
      continue;
    }
    if (r.type != wire::RecordType::conn_ref || !r.ref_length || !r.ref_source) continue;
    if (fd < 0) fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || !read(fd, *r.conn, *r.ref_source, *r.ref_length, bytes, found)) continue;
    uint64_t stream = *r.stream_offset;
    for (const auto& f : found) {  // the repeated bytes lie where their source lies
      add(*r.conn, {stream, f.len, f.file});
      stream += f.len;
    }
    r.type = wire::RecordType::conn_data;
    r.payload = std::move(bytes);
    bytes.clear();
  }
  if (fd >= 0) ::close(fd);
}

json::value RefIndex::to_json() const {
  json::object o;
  for (const auto& [conn, segs] : conns_) {
    json::array a;
    for (const auto& s : segs) a.push_back(json::array{s.stream, s.len, s.file});
    o[std::to_string(conn)] = std::move(a);
  }
  return o;
}

RefIndex RefIndex::from_json(const json::value& v) {
  RefIndex idx;
  const json::object* o = v.if_object();
  if (!o) return idx;
  for (const auto& [key, segs] : *o) {
    const uint64_t conn = std::strtoull(std::string(key).c_str(), nullptr, 10);
    if (!segs.is_array()) continue;
    for (const auto& s : segs.get_array()) {
      const json::array* t = s.if_array();
      SentSegment seg;
      if (!t || t->size() != 3 || !number((*t)[0], seg.stream) || !number((*t)[1], seg.len) ||
          !number((*t)[2], seg.file))
        continue;
      idx.conns_[conn].push_back(seg);
    }
  }
  return idx;
}

}  // namespace clawtrace
