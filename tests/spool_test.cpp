// Spool records: built by the preload's builder, read back by ingestion's reader,
// including torn writes and garbage.
#include <gtest/gtest.h>

#include <string>

#include "record_builder.h"
#include "spool_reader.h"

using namespace clawtrace;

namespace {

std::string make_record(wire::RecordType type, uint64_t t, const char* const* argv, uint64_t span) {
  auto fill = [&](RecordBuilder& b) {
    b.u64(wire::Field::span, span);
    b.strv(wire::Field::argv, argv);
    b.str(wire::Field::cwd, "/work");
  };
  RecordBuilder m(nullptr, type, t, 0, 0);
  fill(m);
  std::string buf(m.size(), '\0');
  RecordBuilder b(buf.data(), type, t, 77, 78);
  fill(b);
  EXPECT_EQ(b.finish(), buf.size());
  return buf;
}

const char* const kArgv[] = {"sh", "-c", "echo 'hi there'", "", nullptr};

}  // namespace

TEST(Spool, RecordRoundTrip) {
  std::string rec = make_record(wire::RecordType::spawn, 123456789, kArgv, 0xfeedull);
  SpoolChunk c = decode_records(rec.data(), rec.size(), 40);
  ASSERT_EQ(c.records.size(), 1u);
  const SpoolRecord& r = c.records[0];
  EXPECT_EQ(r.type, wire::RecordType::spawn);
  EXPECT_EQ(r.t_ns, 123456789u);
  EXPECT_EQ(r.pid, 77u);
  EXPECT_EQ(r.tid, 78u);
  EXPECT_EQ(r.offset, 40u);
  EXPECT_EQ(*r.span, 0xfeedull);
  ASSERT_TRUE(r.argv);
  EXPECT_EQ(*r.argv, (std::vector<std::string>{"sh", "-c", "echo 'hi there'", ""}));
  EXPECT_EQ(*r.cwd, "/work");
  EXPECT_FALSE(r.path);
  EXPECT_EQ(c.next_offset, 40 + rec.size());
  EXPECT_TRUE(c.at_end);
}

TEST(Spool, LargeRecordUsesAMapping) {
  std::string big(3 << 20, 'a');
  const char* argv[] = {"claude", "-p", big.c_str(), nullptr};
  std::string rec = make_record(wire::RecordType::exec, 1, argv, 1);
  SpoolChunk c = decode_records(rec.data(), rec.size(), 0);
  ASSERT_EQ(c.records.size(), 1u);
  EXPECT_EQ((*c.records[0].argv)[2].size(), big.size());
}

TEST(Spool, IncompleteTailWaitsForTheWriter) {
  std::string a = make_record(wire::RecordType::spawn, 1, kArgv, 1);
  std::string b = make_record(wire::RecordType::reap, 2, kArgv, 2);
  std::string both = a + b;
  for (size_t cut = a.size(); cut < both.size(); ++cut) {
    SpoolChunk c = decode_records(both.data(), cut, 0);
    ASSERT_EQ(c.records.size(), 1u) << cut;
    EXPECT_EQ(c.next_offset, a.size()) << cut;
    EXPECT_EQ(c.skipped_bytes, 0u) << cut;
  }
}

// A process that has exited will never finish its last record (ENOSPC or SIGKILL cut the
// write): once the reader is told so, the tail is torn, not awaited forever.
TEST(Spool, IncompleteTailOfAGoneWriterIsTorn) {
  std::string a = make_record(wire::RecordType::spawn, 1, kArgv, 1);
  std::string b = make_record(wire::RecordType::reap, 2, kArgv, 2);
  std::string both = a + b;
  for (size_t cut = a.size() + 1; cut < both.size(); ++cut) {
    SpoolChunk c = decode_records(both.data(), cut, 0, /*writer_gone=*/true);
    ASSERT_EQ(c.records.size(), 1u) << cut;
    EXPECT_EQ(c.next_offset, cut) << cut;
    EXPECT_EQ(c.skipped_bytes, cut - a.size()) << cut;
    EXPECT_TRUE(c.at_end) << cut;
  }
}

// A record appended after a torn one (`clawtrace run`'s observed exit) is still found,
// even when the torn record's length field reaches past it.
TEST(Spool, RecordAfterAGoneWritersTornTailIsFound) {
  std::string a = make_record(wire::RecordType::spawn, 1, kArgv, 1);
  std::string big_arg(4000, 'b');
  const char* big_argv[] = {"x", big_arg.c_str(), nullptr};
  std::string torn = make_record(wire::RecordType::exec, 2, big_argv, 2).substr(0, 100);
  std::string c = make_record(wire::RecordType::reap, 3, kArgv, 3);
  std::string all = a + torn + c;
  SpoolChunk waiting = decode_records(all.data(), all.size(), 0);
  EXPECT_EQ(waiting.records.size(), 1u);  // a live writer may still finish it
  SpoolChunk gone = decode_records(all.data(), all.size(), 0, /*writer_gone=*/true);
  ASSERT_EQ(gone.records.size(), 2u);
  EXPECT_EQ(gone.records[1].type, wire::RecordType::reap);
  EXPECT_EQ(gone.skipped_bytes, torn.size());
  EXPECT_TRUE(gone.at_end);
}

TEST(Spool, TornRecordIsSkippedAndReadingResumes) {
  std::string a = make_record(wire::RecordType::spawn, 1, kArgv, 1);
  std::string torn = make_record(wire::RecordType::spawn, 2, kArgv, 2).substr(0, 30);
  std::string b = make_record(wire::RecordType::reap, 3, kArgv, 3);
  std::string all = a + torn + b;
  SpoolChunk c = decode_records(all.data(), all.size(), 0);
  ASSERT_EQ(c.records.size(), 2u);
  EXPECT_EQ(c.records[1].type, wire::RecordType::reap);
  EXPECT_EQ(c.skipped_bytes, torn.size());
  EXPECT_TRUE(c.at_end);
}

TEST(Spool, FlippedBitFailsTheChecksum) {
  std::string a = make_record(wire::RecordType::spawn, 1, kArgv, 1);
  std::string b = make_record(wire::RecordType::reap, 2, kArgv, 2);
  a[a.size() - 3] ^= 0x10;
  std::string all = a + b;
  SpoolChunk c = decode_records(all.data(), all.size(), 0);
  ASSERT_EQ(c.records.size(), 1u);
  EXPECT_EQ(c.records[0].type, wire::RecordType::reap);
  EXPECT_EQ(c.skipped_bytes, a.size());
}

TEST(Spool, UnknownFieldsAndTypesAreTolerated) {
  auto fill = [](RecordBuilder& b) {
    b.u64(static_cast<wire::Field>(999), 5);
    b.u64(wire::Field::child_pid, 42);
  };
  RecordBuilder m(nullptr, static_cast<wire::RecordType>(77), 1, 0, 0);
  fill(m);
  std::string buf(m.size(), '\0');
  RecordBuilder b(buf.data(), static_cast<wire::RecordType>(77), 1, 0, 0);
  fill(b);
  b.finish();
  SpoolChunk c = decode_records(buf.data(), buf.size(), 0);
  ASSERT_EQ(c.records.size(), 1u);
  EXPECT_EQ(*c.records[0].child_pid, 42u);
}

TEST(Spool, HeaderValidation) {
  wire::FileHeader h{};
  memcpy(h.magic, wire::kFileMagic, 8);
  h.version = wire::kFormatVersion;
  h.header_size = sizeof h;
  h.pid = 9;
  h.session = 0xabc;
  auto ok = parse_spool_header(&h, sizeof h);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->session, 0xabcu);
  EXPECT_FALSE(parse_spool_header(&h, 10));
  h.version = 99;
  auto bad = parse_spool_header(&h, sizeof h);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("version 99"), std::string::npos);
  h.magic[0] = 'X';
  EXPECT_FALSE(parse_spool_header(&h, sizeof h));
}
