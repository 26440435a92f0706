// conn_ref records (repeated request bytes the preload did not write again) turn back into
// the bytes they stand for, read from the spool file: also references to bytes that were
// themselves references, and across ingestion passes (the index goes through JSON).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "record_builder.h"
#include "refs.h"
#include "spool_reader.h"

using namespace clawtrace;
namespace fs = std::filesystem;

namespace {

constexpr uint64_t kConn = 0xc0ffee;

std::string record(wire::RecordType type, uint64_t dir, uint64_t offset, const std::string& payload,
                   uint64_t ref_len = 0, uint64_t ref_src = 0) {
  auto fill = [&](RecordBuilder& b) {
    b.u64(wire::Field::conn, kConn);
    b.u64(wire::Field::direction, dir);
    b.u64(wire::Field::stream_offset, offset);
    if (type == wire::RecordType::conn_ref) {
      b.u64(wire::Field::ref_length, ref_len);
      b.u64(wire::Field::ref_source, ref_src);
    } else {
      b.bytes(wire::Field::payload, payload.data(), payload.size(), 0);
    }
  };
  RecordBuilder measure(nullptr, type, 1, 1, 1);
  fill(measure);
  std::string out(measure.size(), '\0');
  RecordBuilder b(out.data(), type, 1, 1, 1);
  fill(b);
  b.finish();
  return out;
}

std::string spool_file(const std::vector<std::string>& records) {
  wire::FileHeader h{};
  std::memcpy(h.magic, wire::kFileMagic, sizeof h.magic);
  h.version = wire::kFormatVersion;
  h.header_size = sizeof h;
  std::string bytes(reinterpret_cast<const char*>(&h), sizeof h);
  for (const auto& r : records) bytes += r;
  return bytes;
}

std::string pattern(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + static_cast<char>(i % 23));
  return s;
}

class RefsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = fs::temp_directory_path() / ("refs-test-" + std::to_string(getpid()) + ".spool");
    first_ = pattern(1000, 'a');
    answer_ = "HTTP/1.1 200 OK\r\n\r\n";
    // Request 1: 1000 bytes. Request 2: all of request 1 again (a ref), then 200 new bytes.
    // Request 3: request 2's first 1100 bytes (half of them were a ref themselves), new tail.
    std::vector<std::string> recs = {
        record(wire::RecordType::conn_data, 0, 0, first_),
        record(wire::RecordType::conn_data, 1, 0, answer_),
        record(wire::RecordType::conn_ref, 0, 1000, "", 1000, 0),
        record(wire::RecordType::conn_data, 0, 2000, pattern(200, 'A')),
        record(wire::RecordType::conn_data, 1, answer_.size(), answer_),
        record(wire::RecordType::conn_ref, 0, 2200, "", 1100, 1000),
        record(wire::RecordType::conn_data, 0, 3300, "tail"),
    };
    std::ofstream(path_, std::ios::binary) << spool_file(recs);
    auto chunk = read_spool(path_, sizeof(wire::FileHeader), 1 << 20);
    ASSERT_TRUE(chunk.ok()) << chunk.error();
    records_ = std::move(chunk->records);
    ASSERT_EQ(records_.size(), recs.size());
  }
  void TearDown() override { fs::remove(path_); }

  // The sent stream as the synthesiser sees it after resolution.
  static std::string sent(const std::vector<SpoolRecord>& records) {
    std::string out;
    for (const auto& r : records) {
      EXPECT_NE(r.type, wire::RecordType::conn_ref) << "unresolved reference at " << *r.stream_offset;
      if (r.type == wire::RecordType::conn_data && r.direction == 0u) {
        EXPECT_EQ(*r.stream_offset, out.size());
        out += *r.payload;
      }
    }
    return out;
  }

  std::string expected() const {
    const std::string second = first_ + pattern(200, 'A');
    return first_ + second + second.substr(0, 1100) + "tail";
  }

  fs::path path_;
  std::string first_, answer_;
  std::vector<SpoolRecord> records_;
};

TEST_F(RefsTest, ReferencesBecomeTheBytesTheyRepeat) {
  RefIndex idx;
  idx.resolve(path_, records_);
  EXPECT_EQ(sent(records_), expected());
}

TEST_F(RefsTest, IndexSurvivesJsonBetweenPasses) {
  for (size_t split = 1; split < records_.size(); ++split) {
    std::vector<SpoolRecord> a(records_.begin(), records_.begin() + static_cast<long>(split));
    std::vector<SpoolRecord> b(records_.begin() + static_cast<long>(split), records_.end());
    RefIndex first;
    first.resolve(path_, a);
    RefIndex second = RefIndex::from_json(boost::json::parse(boost::json::serialize(first.to_json())));
    second.resolve(path_, b);
    a.insert(a.end(), b.begin(), b.end());
    EXPECT_EQ(sent(a), expected()) << "split at " << split;
  }
}

TEST_F(RefsTest, UnresolvableReferenceStaysAGap) {
  records_[0].type = wire::RecordType::conn_note;  // the source bytes are not known
  RefIndex idx;
  idx.resolve(path_, records_);
  EXPECT_EQ(records_[2].type, wire::RecordType::conn_ref);
}

TEST_F(RefsTest, GarbageIndexIsIgnored) {
  RefIndex idx = RefIndex::from_json(boost::json::parse(R"({"1":[[1,2],[-1,2,3],"x"],"2":7})"));
  EXPECT_TRUE(idx.empty() || !idx.to_json().as_object().contains("2"));
}

}  // namespace
