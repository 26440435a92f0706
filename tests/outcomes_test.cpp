// Outcome files for `clawtrace score --outcomes` (costcraft/outcomes.h): both shapes, and a
// clear "FILE:LINE: reason" for anything wrong.
#include <gtest/gtest.h>

#include "outcomes.h"

using namespace clawtrace::costcraft;

namespace {

TEST(Outcomes, LinesWithNotesCommentsAndTaskTags) {
  auto r = parse_outcomes("# grades\n\nabc123 1\n  task=fix-7\t0.5  half the tests pass \nlast 0 crashed\n", "o.txt");
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].selector, "abc123");
  EXPECT_EQ((*r)[0].quality, 1);
  EXPECT_EQ((*r)[0].note, "");
  EXPECT_EQ((*r)[1].selector, "task=fix-7");
  EXPECT_EQ((*r)[1].quality, 0.5);
  EXPECT_EQ((*r)[1].note, "half the tests pass");
  EXPECT_EQ((*r)[1].where, "o.txt:4");
  EXPECT_EQ((*r)[2].note, "crashed");
  EXPECT_TRUE(is_tag_selector("task=fix-7"));
  EXPECT_FALSE(is_tag_selector("abc123"));
  EXPECT_FALSE(is_tag_selector("=x"));
}

TEST(Outcomes, JsonObjectAndArray) {
  auto obj = parse_outcomes(R"({"abc": 1, "task=t2": {"q": 0.25, "note": "slow"}})", "o.json");
  ASSERT_TRUE(obj.ok()) << obj.error();
  ASSERT_EQ(obj->size(), 2u);
  EXPECT_EQ((*obj)[1].selector, "task=t2");
  EXPECT_EQ((*obj)[1].note, "slow");
  auto arr = parse_outcomes(R"([{"session": "abc", "quality": 0}, {"task": "t9", "q": 1}, {"tag": "suite=a", "q": 1}])", "o.json");
  ASSERT_TRUE(arr.ok()) << arr.error();
  ASSERT_EQ(arr->size(), 3u);
  EXPECT_EQ((*arr)[1].selector, "task=t9");
  EXPECT_EQ((*arr)[2].selector, "suite=a");
  EXPECT_EQ((*arr)[2].where, "o.json: entry 3");
}

TEST(Outcomes, ProblemsNameTheirPlace) {
  const std::pair<const char*, const char*> bad[] = {
      {"abc 1.5\n", "o:1: Q must be a number in [0,1], not '1.5'"},
      {"abc 1\nxyz -0.1\n", "o:2: Q must be a number in [0,1], not '-0.1'"},
      {"abc nan\n", "o:1: Q must be a number in [0,1], not 'nan'"},
      {"abc\n", "o:1: expected SESSION Q [NOTE]"},
      {"", "o: no outcomes in the file"},
      {"# only a comment\n", "o: no outcomes in the file"},
      {"{\"abc\": 2}", "o: entry 1: Q must be in [0,1], not 2"},
      {"{\"abc\": \"1\"}", "o: entry 1: Q must be a number in [0,1], not \"1\""},
      {"[{\"q\": 1}]", "o: entry 1: an entry needs \"session\", \"task\" or \"tag\""},
      {"[{\"session\": \"a\"}]", "o: entry 1: no \"q\" for a"},
      {"[1]", "o: entry 1: must be an object"},
      {"{\"a\": {\"q\": 1, \"note\": 3}}", "o: entry 1: \"note\" must be a string"},
      {"{\"a\": ", "o: not valid JSON: "},
  };
  for (const auto& [text, message] : bad) {
    auto r = parse_outcomes(text, "o");
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().rfind(message, 0), 0u) << r.error();
    EXPECT_EQ(r.error().find('\n'), std::string::npos);
  }
}

TEST(Outcomes, QualityOnTheCommandLine) {
  EXPECT_EQ(*parse_quality("0"), 0);
  EXPECT_EQ(*parse_quality("1"), 1);
  EXPECT_EQ(*parse_quality("0.75"), 0.75);
  for (const char* bad : {"", "1.01", "-1", "inf", "nan", "0.5x", "one"}) EXPECT_FALSE(parse_quality(bad).ok()) << bad;
}

}  // namespace
