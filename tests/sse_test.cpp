// Server-Sent Events and NDJSON line splitting over bodies split anywhere.
#include "sse.h"

#include <gtest/gtest.h>

#include <random>

namespace {

using clawtrace::http::BodyPiece;
using namespace clawtrace::sse;

std::string dump(const std::vector<Event>& es, bool times = true) {
  std::string r;
  for (const auto& e : es) {
    r += "[" + e.event + "|" + e.data + "|" + e.id + "]";
    if (times) r += "@" + std::to_string(e.t_ns);
    r += "\n";
  }
  return r;
}

std::string dump(const std::vector<Line>& ls) {
  std::string r;
  for (const auto& l : ls) r += l.text + "@" + std::to_string(l.t_ns) + "\n";
  return r;
}

std::vector<Event> parse_whole(std::string_view s) { return parse({BodyPiece{1, std::string(s)}}); }

TEST(Sse, FieldsCommentsAndMultiLineData) {
  auto es = parse_whole(
      ": a comment\n"
      "event: delta\n"
      "id: 7\n"
      "data: first\n"
      "data:second\n"
      "data\n"
      "retry: 100\n"
      "unknown: x\n"
      "\n"
      "data: {\"a\":1}\n\n");
  EXPECT_EQ(dump(es, false), "[delta|first\nsecond\n|7]\n[|{\"a\":1}|]\n");
}

TEST(Sse, OnlyOneLeadingSpaceIsDropped) {
  EXPECT_EQ(dump(parse_whole("data:  two spaces\ndata:\tx\n\n"), false), "[| two spaces\n\tx|]\n");
}

TEST(Sse, CommentsAndBlankLinesAloneDispatchNothing) {
  EXPECT_TRUE(parse_whole(": ping\n\n\n\r\n: ping\r\n\r\n").empty());
}

TEST(Sse, AllLineEndingsAndEverySplitGiveTheSameEvents) {
  const std::string lf = "event: a\ndata: 1\n\ndata: 2\ndata: 3\n\n: c\nevent: b\ndata: é€😀\n\n";
  std::string crlf, cr;
  for (char c : lf) {
    crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
    cr += c == '\n' ? '\r' : c;
  }
  const std::string ref = dump(parse_whole(lf), false);
  ASSERT_EQ(ref, "[a|1|]\n[|2\n3|]\n[b|é€😀|]\n");
  for (const std::string* s :
       {&lf, static_cast<const std::string*>(&crlf), static_cast<const std::string*>(&cr)}) {
    EXPECT_EQ(dump(parse_whole(*s), false), ref);
    for (size_t i = 0; i <= s->size(); ++i)
      for (size_t j = i; j <= s->size(); j += 3) {
        std::vector<BodyPiece> body = {
            {1, s->substr(0, i)}, {1, s->substr(i, j - i)}, {1, s->substr(j)}};
        ASSERT_EQ(dump(parse(body), false), ref) << "split at " << i << "," << j;
      }
  }
}

TEST(Sse, CrLfSplitBetweenPiecesIsOneLineEnd) {
  // A CR ending one piece and the LF starting the next must not make an empty line.
  Parser p;
  std::vector<Event> out;
  p.feed("data: x\r", 1, out);
  p.feed("\ndata: y\r", 2, out);
  EXPECT_TRUE(out.empty());
  p.feed("\n", 3, out);
  EXPECT_TRUE(out.empty());
  p.feed("", 4, out);  // an empty piece keeps the pending LF skip
  p.feed("\r\n", 5, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, "x\ny");
  EXPECT_EQ(out[0].t_ns, 5u);
}

TEST(Sse, EventTimeIsWhenItsBlankLineArrived) {
  std::vector<BodyPiece> body = {{10, "event: message_start\ndata: {}\n"},
                                 {20, "\nda"},
                                 {30, "ta: [DONE]"},
                                 {40, "\n"},
                                 {50, "\n"}};
  auto es = parse(body);
  ASSERT_EQ(es.size(), 2u);
  EXPECT_EQ(es[0].t_ns, 20u);
  EXPECT_EQ(es[1].data, "[DONE]");
  EXPECT_EQ(es[1].t_ns, 50u);
}

TEST(Sse, MissingFinalBlankLineStillDelivers) {
  auto es = parse({{1, "data: a\n\n"}, {2, "data: last"}});
  ASSERT_EQ(es.size(), 2u);
  EXPECT_EQ(es[1].data, "last");
  EXPECT_EQ(es[1].t_ns, 2u);

  Parser p;
  std::vector<Event> out;
  p.feed("data: b\n", 1, out);
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(p.finish(9, out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].t_ns, 9u);
  EXPECT_FALSE(p.finish(10, out));  // nothing left
  EXPECT_TRUE(parse({}).empty());
}

TEST(Sse, ByteOrderMarkAtTheStartIsDropped) {
  std::string s =
      "\xEF\xBB\xBF"
      "event: first\ndata: 1\n\n\xEF\xBB\xBF: not a comment\ndata: 2\n\n";
  for (size_t i = 0; i <= 4; ++i) {
    auto es = parse({{1, s.substr(0, i)}, {1, s.substr(i)}});
    ASSERT_EQ(es.size(), 2u);
    EXPECT_EQ(es[0].event, "first");
    EXPECT_EQ(es[1].data, "2");  // a later BOM is an unknown field name, ignored
  }
}

TEST(Sse, Utf8SplitAcrossPieces) {
  std::string s = "data: 😀é\n\n";
  for (size_t i = 0; i <= s.size(); ++i) {
    auto es = parse({{1, s.substr(0, i)}, {2, s.substr(i)}});
    ASSERT_EQ(es.size(), 1u);
    EXPECT_EQ(es[0].data, "😀é");
  }
}

TEST(Sse, RandomPiecesMatchTheWholeParse) {
  std::string s;
  for (int i = 0; i < 300; ++i) {
    s += i % 7 == 0 ? ": ping\r\n" : "";
    s += "event: e" + std::to_string(i % 5) + (i % 2 ? "\r\n" : "\n");
    s += "data: {\"i\":" + std::to_string(i) + "}" + (i % 3 ? "\r" : "\n");
    s += i % 3 ? "\r" : "\n";
  }
  const std::string ref = dump(parse_whole(s), false);
  std::mt19937 rng(5);
  for (int round = 0; round < 200; ++round) {
    std::vector<BodyPiece> body;
    for (size_t i = 0; i < s.size();) {
      size_t n = 1 + rng() % 12;
      body.push_back({static_cast<uint64_t>(i), s.substr(i, n)});
      i += n;
    }
    ASSERT_EQ(dump(parse(body), false), ref);
  }
}

TEST(SplitLines, LineEndingsFinalLineAndTimes) {
  std::vector<BodyPiece> body = {
      {1, "{\"a\":1}\r\n{\"b\""}, {2, ":2}\n\n\r\n"}, {3, "{\"done\":true}"}};
  EXPECT_EQ(dump(split_lines(body)), "{\"a\":1}@1\n{\"b\":2}@2\n{\"done\":true}@3\n");
  EXPECT_TRUE(split_lines({}).empty());
  EXPECT_TRUE(split_lines({{1, "\n\r\n\n"}}).empty());
}

TEST(SplitLines, EverySplitGivesTheSameLines) {
  std::string s = "{\"m\":\"é\"}\n{\"n\":2}\r\n\n{\"done\":true}\n";
  for (size_t i = 0; i <= s.size(); ++i) {
    auto ls = split_lines({{1, s.substr(0, i)}, {1, s.substr(i)}});
    ASSERT_EQ(dump(ls), "{\"m\":\"é\"}@1\n{\"n\":2}@1\n{\"done\":true}@1\n") << i;
  }
}

}  // namespace
