// conn_ref records back into bytes. The preload writes repeated request bytes (an agent
// re-sending its conversation) as a reference to where they were sent before on the same
// connection; ingestion reads those bytes back from the spool file and hands the
// synthesiser an ordinary conn_data record. The index of where each connection's sent
// bytes lie in the file is kept between ingestion passes.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <filesystem>
#include <map>
#include <vector>

#include "spool_reader.h"

namespace clawtrace {

struct SentSegment {
  uint64_t stream = 0;  // stream offset of the first byte
  uint64_t len = 0;
  uint64_t file = 0;    // file offset of the same first byte
};

class RefIndex {
 public:
  // Records where the sent bytes of conn_data records lie, and rewrites each conn_ref
  // (in file order) into conn_data carrying the bytes it stands for. A reference that
  // cannot be resolved is left as it is (the synthesiser then sees a gap).
  void resolve(const std::filesystem::path& file, std::vector<SpoolRecord>& records);

  boost::json::value to_json() const;
  static RefIndex from_json(const boost::json::value& v);
  bool empty() const { return conns_.empty(); }

 private:
  void add(uint64_t conn, SentSegment s);
  bool read(int fd, uint64_t conn, uint64_t stream, uint64_t len, std::string& out,
            std::vector<SentSegment>& found) const;
  std::map<uint64_t, std::vector<SentSegment>> conns_;
};

}  // namespace clawtrace
