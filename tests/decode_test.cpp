// Streaming content decoders: every coding at every split, stacking, errors, the cap.
#include "decode.h"

#include <gtest/gtest.h>

#include <functional>

#include "codec_fixtures.h"

namespace {

using namespace clawtrace::decode;

std::string sample() {
  std::string s;
  for (int i = 0; i < 400; ++i) s += "{\"i\":" + std::to_string(i) + ",\"text\":\"héllo wörld\"}\n";
  return s;
}

struct Case {
  std::vector<Coding> applied;
  std::function<std::string(const std::string&)> encode;
};

std::vector<Case> cases() {
  return {
      {{Coding::gzip}, fixtures::gzip},
      {{Coding::deflate}, fixtures::zlib_deflate},
      {{Coding::deflate}, fixtures::raw_deflate},
      {{Coding::br}, fixtures::brotli},
      {{Coding::zstd}, fixtures::zstd},
      {{Coding::gzip, Coding::br},
       [](const std::string& s) { return fixtures::brotli(fixtures::gzip(s)); }},
      {{Coding::zstd, Coding::deflate, Coding::gzip},
       [](const std::string& s) {
         return fixtures::gzip(fixtures::raw_deflate(fixtures::zstd(s)));
       }},
      {{}, [](const std::string& s) { return s; }},
  };
}

TEST(Decode, ParseCodings) {
  auto r = parse_codings(" gzip , identity,BR,x-gzip,,zstd ");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (std::vector<Coding>{Coding::gzip, Coding::br, Coding::gzip, Coding::zstd}));
  EXPECT_TRUE(parse_codings("").ok());
  EXPECT_TRUE(parse_codings("identity")->empty());
  auto bad = parse_codings("gzip, compress");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), "unsupported content coding: compress");
  EXPECT_FALSE(parse_codings("gzip,gzip,gzip,gzip,gzip").ok());
}

TEST(Decode, EveryCodingAtEverySplit) {
  const std::string text = sample();
  for (const auto& c : cases()) {
    std::string enc = c.encode(text);
    SCOPED_TRACE(enc.size());
    for (size_t k = 0; k <= enc.size(); k += (k < 40 || k + 40 > enc.size()) ? 1 : 17) {
      Decoder d(c.applied);
      std::string out;
      ASSERT_TRUE(d.feed(std::string_view(enc).substr(0, k), out).ok());
      ASSERT_TRUE(d.feed(std::string_view(enc).substr(k), out).ok());
      ASSERT_TRUE(d.finish(out).ok());
      ASSERT_EQ(out, text) << "split at " << k;
    }
    Decoder d(c.applied);
    std::string out;
    for (char ch : enc) ASSERT_TRUE(d.feed(std::string_view(&ch, 1), out).ok());
    ASSERT_TRUE(d.finish(out).ok());
    EXPECT_EQ(out, text);
  }
}

TEST(Decode, NoInputIsFine) {
  for (const auto& c : cases()) {
    Decoder d(c.applied);
    std::string out;
    EXPECT_TRUE(d.feed("", out).ok());
    EXPECT_TRUE(d.finish(out).ok());
    EXPECT_EQ(out, "");
  }
}

TEST(Decode, TruncatedStreamsFailAtFinish) {
  for (const auto& c : cases()) {
    if (c.applied.empty()) continue;
    std::string enc = c.encode(sample());
    for (size_t keep : {size_t{1}, enc.size() / 2, enc.size() - 1}) {
      Decoder d(c.applied);
      std::string out;
      EXPECT_TRUE(d.feed(std::string_view(enc).substr(0, keep), out).ok());
      auto r = d.finish(out);
      ASSERT_FALSE(r.ok()) << keep;
      EXPECT_NE(r.error().find("content decoding failed"), std::string::npos) << r.error();
    }
  }
}

TEST(Decode, CorruptInputFailsAndStaysFailed) {
  for (const auto& c : cases()) {
    if (c.applied.empty()) continue;
    std::string enc = c.encode(sample());
    std::string bad = enc.substr(0, 12) + std::string(64, '\xff') + enc.substr(12);
    Decoder d(c.applied);
    std::string out;
    auto r = d.feed(bad, out);
    if (r.ok()) r = d.finish(out);
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(d.failed());
    EXPECT_EQ(d.feed("more", out).error(), r.error());
  }
}

TEST(Decode, ConcatenatedGzipMembersAndTrailingGarbage) {
  std::string two = fixtures::gzip("first ") + fixtures::gzip("second");
  auto r = decode_all({Coding::gzip}, two);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(*r, "first second");
  auto g = decode_all({Coding::gzip}, fixtures::gzip("body") + "\n\0junk");
  ASSERT_TRUE(g.ok()) << g.error();
  EXPECT_EQ(*g, "body");
  auto z = decode_all({Coding::deflate}, fixtures::zlib_deflate("body") + "junk");
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(*z, "body");
  auto b = decode_all({Coding::br}, fixtures::brotli("body") + "junk");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, "body");
  auto zs = decode_all({Coding::zstd}, fixtures::zstd("a") + fixtures::zstd("b"));
  ASSERT_TRUE(zs.ok());
  EXPECT_EQ(*zs, "ab");
}

// RFC 8878 content is standard (and skippable) frames; a legacy v0.x frame, which libzstd
// would try, is refused the same way however the bytes are split.
TEST(Decode, ZstdTakesStandardAndSkippableFramesOnly) {
  const std::string skippable("\x50\x2a\x4d\x18\x03\x00\x00\x00" "abc", 11);
  auto ok = decode_all({Coding::zstd}, skippable + fixtures::zstd("body"));
  ASSERT_TRUE(ok.ok()) << ok.error();
  EXPECT_EQ(*ok, "body");
  const std::string legacy("\x26\xb5\x2f\xfd\x00\xfd\x00\xff", 8);  // v0.6 magic
  for (size_t piece = 1; piece <= legacy.size(); ++piece) {
    Decoder d({Coding::zstd});
    std::string out;
    bool failed = false;
    for (size_t at = 0; at < legacy.size(); at += piece)
      failed = failed || !d.feed(std::string_view(legacy).substr(at, piece), out).ok();
    EXPECT_TRUE(failed || !d.finish(out).ok()) << "piece " << piece;
    EXPECT_TRUE(d.failed()) << "piece " << piece;
  }
  auto whole = decode_all({Coding::zstd}, fixtures::zstd("a") + legacy);
  EXPECT_FALSE(whole.ok());
}

TEST(Decode, OutputIsCappedExactly) {
  const std::string zeros(3 << 20, '\0');
  for (const auto& c : cases()) {
    std::string enc = c.encode(zeros);
    Decoder d(c.applied, 1000000);
    std::string out;
    auto r = d.feed(enc, out);
    if (r.ok()) r = d.finish(out);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), "decoded body larger than 1000000 bytes");
    EXPECT_EQ(out.size(), 1000000u);
  }
}

TEST(Decode, DefaultCapStopsABombWithoutHoldingIt) {
  std::string bomb = fixtures::zstd_zeros((size_t{1} << 30));  // 1 GiB of zeros in ~32 KiB
  EXPECT_LT(bomb.size(), 100000u);
  Decoder d({Coding::zstd});
  uint64_t total = 0;
  clawtrace::Result<void> r;
  for (size_t i = 0; i < bomb.size() && r.ok(); i += 1000) {
    std::string out;
    r = d.feed(std::string_view(bomb).substr(i, 1000), out);
    total += out.size();
  }
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(total, kDefaultMaxOutput);
}

}  // namespace
