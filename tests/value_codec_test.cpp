// The store's packed values (store/value_codec.h): round trips, raw values of schema-1
// stores, records packed by an earlier build, and damaged frames.
#include "value_codec.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

using namespace clawtrace;

namespace {

std::string roundtrip(ValueCodec& codec, const std::string& raw) {
  const std::string stored = codec.pack(raw);
  std::string buf;
  auto back = codec.unpack(stored, buf);
  EXPECT_TRUE(back.ok()) << back.error();
  return back.ok() ? std::string(*back) : std::string();
}

std::string random_bytes(size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(gen() & 0xFF);
  return s;
}

const std::string kEvent =
    R"({"seq":3,"t_ns":1795791844433290810,"type":"after_tool_call","data":{"source":"process",)"
    R"("how":"vfork","name":"seq","argv":["seq","1","200"],"exit_code":0,"duration_s":1.8947487E-2,)"
    R"("child_session":"cacd910f82b078bd"},"span":"9686876e734b29de","parent":"0027d1d70b2281be"})";

// A session_end event packed by the build that introduced tag 0x01. Decoding it needs the
// exact dictionary of that tag: if this fails, kValueDict1 was changed (value_dict.h).
const std::string kPackedByV1(
    "\x01\x28\xb5\x2f\xfd\x24\xbc\x8d\x02\x00\x02\xc4\x0d\x14\xb0\xb5\xc5\x0c\x00\x93\xed\x22\x26"
    "\x45\xee\xcd\x26\x53\x4a\x19\x80\x96\x44\x09\x81\xa0\x00\x8e\x9a\x40\x68\xa1\xb4\xca\x8c\x57"
    "\x9a\x21\x13\xb9\x9a\x3a\x29\x14\xee\x21\xd9\x07\x1a\xec\xdb\xd6\xb6\xd9\x79\x39\x9f\x03\x08"
    "\x00\xc0\x29\xa0\x71\x59\xb3\xf1\x68\x86\x8e\xd4\x3f\x05\x88\xae\x1d\x80\x88\x28\x33\x40\x38"
    "\x87\x20\x2c",
    95);
const std::string kPackedByV1Text =
    R"({"seq":4,"t_ns":1795791844433337320,"type":"session_end","data":{"exit_code":0,"via":"_exit",)"
    R"("status":"ok","duration_s":2.7102934E-2},"span":"0027d1d70b2281be","parent":"4815ebaeaa643cf5"})";

}  // namespace

TEST(ValueCodec, RecordsAreCompressedAndReadBack) {
  ValueCodec codec;
  const std::string stored = codec.pack(kEvent);
  ASSERT_FALSE(stored.empty());
  EXPECT_EQ(stored[0], '\x01');
  // The dictionary holds the shape of such a record: what is left is mostly its values.
  EXPECT_LT(stored.size(), kEvent.size() * 2 / 3) << stored.size() << " of " << kEvent.size();
  EXPECT_EQ(roundtrip(codec, kEvent), kEvent);
  // Large values too (a blob), and many in a row with the same contexts.
  std::string big;
  for (int i = 0; i < 20000; ++i) big += "line " + std::to_string(i) + " of a tool result\n";
  EXPECT_LT(codec.pack(big).size(), big.size() / 4);
  EXPECT_EQ(roundtrip(codec, big), big);
  const std::string blank(size_t{4} << 20, ' ');  // as compressible as it gets
  EXPECT_LT(codec.pack(blank).size(), size_t{1000});
  EXPECT_EQ(roundtrip(codec, blank), blank);
  for (int i = 0; i < 100; ++i) {
    const std::string v = kEvent + std::string(static_cast<size_t>(i), ' ') + std::to_string(i);
    ASSERT_EQ(roundtrip(codec, v), v);
  }
}

TEST(ValueCodec, ShortOrIncompressibleValuesStayRaw) {
  ValueCodec codec;
  for (const std::string& v : {std::string(), std::string("42"), std::string("done"),
                              std::string(ValueCodec::kMinPacked - 1, 'a')}) {
    EXPECT_EQ(codec.pack(v), v);
    EXPECT_EQ(roundtrip(codec, v), v);
  }
  std::string noise = random_bytes(3000, 7);
  noise[0] = 'n';  // not a tag byte
  EXPECT_EQ(codec.pack(noise), noise) << "compressing made it no smaller";
  EXPECT_EQ(roundtrip(codec, noise), noise);
}

TEST(ValueCodec, ValuesThatLookLikeATagAreEscaped) {
  ValueCodec codec;
  for (char first : {'\x00', '\x01'}) {
    for (size_t n : {size_t{1}, size_t{5}, size_t{3000}}) {
      std::string v = random_bytes(n, static_cast<unsigned>(n));
      v[0] = first;
      const std::string stored = codec.pack(v);
      EXPECT_EQ(stored, std::string(1, '\x00') + v);
      EXPECT_EQ(roundtrip(codec, v), v);
    }
  }
}

// Schema-1 stores hold every value raw: anything not starting with a tag byte is itself,
// read in place without a copy.
TEST(ValueCodec, RawValuesOfOldStoresReadAsTheyAre) {
  ValueCodec codec;
  for (const std::string& stored : {kEvent, std::string("12345"), std::string("{}"), std::string("\x02z")}) {
    std::string buf;
    auto v = codec.unpack(stored, buf);
    ASSERT_TRUE(v.ok()) << v.error();
    EXPECT_EQ(*v, stored);
    EXPECT_EQ(v->data(), stored.data());
  }
}

TEST(ValueCodec, RecordsPackedByAnEarlierBuildStillRead) {
  ValueCodec codec;
  std::string buf;
  auto v = codec.unpack(kPackedByV1, buf);
  ASSERT_TRUE(v.ok()) << v.error();
  EXPECT_EQ(*v, kPackedByV1Text);
}

TEST(ValueCodec, DamagedFramesAreOneLineErrors) {
  ValueCodec codec;
  const std::string good = codec.pack(kEvent);
  std::string flipped = good;
  flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x40);
  // 2^40 bytes declared: refused before anything is allocated.
  const std::string huge("\x01\x28\xb5\x2f\xfd\xe0\x00\x00\x00\x00\x00\x01\x00\x00\x01\x00\x00", 17);
  // 16 MiB declared by a 16-byte frame: under the limit, but more than it could hold.
  const std::string overclaim("\x01\x28\xb5\x2f\xfd\xe0\x00\x00\x00\x01\x00\x00\x00\x00\x01\x00\x00", 17);
  const std::string cases[] = {
      std::string("\x01", 1),                    // tag only
      good.substr(0, good.size() - 5),           // truncated
      good + "trailing",                         // bytes after the frame
      flipped,                                   // fails its checksum or its structure
      std::string("\x01{\"seq\":1}"),            // not a zstd frame at all
      huge,
      overclaim,
  };
  for (const auto& stored : cases) {
    std::string buf;
    auto v = codec.unpack(stored, buf);
    ASSERT_FALSE(v.ok()) << "accepted a damaged frame of " << stored.size() << " bytes";
    EXPECT_FALSE(v.error().empty());
    EXPECT_EQ(v.error().find('\n'), std::string::npos) << v.error();
    EXPECT_LT(buf.size(), size_t{1} << 20) << "allocated from a damaged header";
  }
  // The codec still works after errors.
  EXPECT_EQ(roundtrip(codec, kEvent), kEvent);
}
