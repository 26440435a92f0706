// The TraceCard's YAML scalars (compiler/yaml_text.*): what is written plain is read back
// as a string by YAML 1.1 and 1.2 parsers, quoted text reads back exactly (yaml-cpp), and
// numbers keep 15 significant digits in a form both YAML versions read as floats. Plus the
// JSON size the compiler splits costs by (json_fields::serialized_size).
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cfloat>
#include <cmath>
#include <random>
#include <regex>

#include "json_fields.h"
#include "yaml_text.h"

using namespace clawtrace;

namespace {

std::string yaml_quoted(std::string_view s) {
  std::string out;
  yaml::append_quoted(out, s);
  return out;
}

std::string written(std::string_view s) {
  std::string out;
  yaml::append_string(out, s);
  return out;
}

std::string number(double v) {
  std::string out;
  yaml::append_double(out, v);
  return out;
}

std::string read_back(const std::string& scalar) { return YAML::Load("k: " + scalar)["k"].as<std::string>(); }

// Non-string plain scalars: YAML 1.2 core schema and YAML 1.1 types (bool, null, int,
// float, timestamp), from the two specs' regular expressions.
bool typed_in_some_yaml(const std::string& s) {
  static const std::regex kTyped(
      "null|Null|NULL|~|"                                                                  // null
      "y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|"  // 1.1 bool
      "[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+|"                                              // 1.2 int
      "[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?|"                            // 1.2 float
      "[-+]?\\.(inf|Inf|INF)|\\.nan|\\.NaN|\\.NAN|"
      "[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|"           // 1.1 int
      "[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+|"
      "[-+]?([0-9][0-9_]*)?\\.[0-9.]*([eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\\.[0-9_]*|"  // 1.1 float
      "[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?.*");                                  // 1.1 timestamp
  return std::regex_match(s, kTyped);
}

TEST(YamlText, PlainOnlyWhenEveryParserReadsAString) {
  for (const char* s : {"read_file", "claude-sonnet-4-5-20250929", "3f2a9c0d11e4b7aa", "gpt-4o", "a/b.c", "mcp__fs__read"})
    EXPECT_EQ(written(s), s);
  for (const char* s : {"true", "yes", "No", "null", "~", "1e5", "0000000000001000", "0000000000001e5", "0x1F", "1_000",
                        "2026-11-27", ".inf", "-.inf", "-", "?q", "a: b", "x #y", "[l]", "{m}", "*a", "&a", "!t", "%d",
                        "@a", "`b", "'s", "\"d", ",c", "|l", ">f", "", " lead", "trail ", "a:b", "café"})
    EXPECT_EQ(written(s).front(), '"') << s;
}

TEST(YamlText, PlainStringsAreNeverTypedByYaml11Or12) {
  std::mt19937 rng(7);
  const std::string alphabet = "0123456789eExXob_.-+:/@aYnNtf";
  for (int i = 0; i < 200000; ++i) {
    std::string s(1 + rng() % 6, ' ');
    for (char& c : s) c = alphabet[rng() % alphabet.size()];
    if (yaml::is_plain_safe(s)) {
      ASSERT_FALSE(typed_in_some_yaml(s)) << s;
    }
  }
}

TEST(YamlText, QuotedTextReadsBackExactly) {
  for (std::string s : {std::string("plain"), std::string("quote \" and \\ backslash"), std::string("new\nline\ttab\r"),
                        std::string("ctl\x01\x1f\x7f", 6), std::string("nul\0byte", 8), std::string("café ✓ 🚀"),
                        std::string("\xc2\x85 nel \xe2\x80\xa8 ls \xef\xbb\xbf bom"), std::string("  spaces  ")})
    EXPECT_EQ(read_back(yaml_quoted(s)), s) << yaml_quoted(s);
  EXPECT_EQ(yaml_quoted("a\nb"), "\"a\\nb\"");
  EXPECT_EQ(yaml_quoted(std::string("\x7f", 1)), "\"\\x7f\"");
}

TEST(YamlText, InvalidUtf8BecomesReplacementCharacter) {
  EXPECT_EQ(read_back(yaml_quoted("a\xff" "b")), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(read_back(yaml_quoted("\xe2\x82")), "\xEF\xBF\xBD\xEF\xBF\xBD");     // truncated
  EXPECT_EQ(read_back(yaml_quoted("\xc0\xaf")), "\xEF\xBF\xBD\xEF\xBF\xBD");     // overlong '/'
  EXPECT_EQ(read_back(yaml_quoted("\xed\xa0\x80")).size(), 9u);                 // a surrogate: 3 x U+FFFD
}

TEST(YamlText, NumbersKeepFifteenDigitsAndReadAsFloats) {
  EXPECT_EQ(number(0.0089222542447421), "0.0089222542447421");
  EXPECT_EQ(number(1e-5), "1.0e-05");
  EXPECT_EQ(number(2.5e-7), "2.5e-07");
  EXPECT_EQ(number(3), "3");
  EXPECT_EQ(number(INFINITY), ".inf");
  EXPECT_EQ(number(-INFINITY), "-.inf");
  EXPECT_EQ(number(NAN), ".nan");
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> exponent(-12, 6);
  for (int i = 0; i < 10000; ++i) {
    const double v = std::pow(10.0, exponent(rng)) * static_cast<double>(rng() % 1000 + 1) / 7.0;
    const double back = YAML::Load("k: " + number(v))["k"].as<double>();
    ASSERT_NEAR(back, v, v * 1e-14) << number(v);
    static const std::regex kFloat12("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
    static const std::regex kNumber11("[-+]?([0-9][0-9_]*)?\\.[0-9.]*([eE][-+][0-9]+)?|[-+]?(0|[1-9][0-9_]*)");
    ASSERT_TRUE(std::regex_match(number(v), kFloat12)) << number(v);
    ASSERT_TRUE(std::regex_match(number(v), kNumber11)) << number(v);
  }
}

// Found by fuzz_yaml_text: 15 digits round the largest doubles past DBL_MAX, which a reader
// then rejects as out of range.
TEST(YamlText, TheLargestDoublesReadBack) {
  for (double v : {DBL_MAX, -DBL_MAX, std::nextafter(DBL_MAX, 0.0), -1.7976931348623e308}) {
    const double back = YAML::Load("k: " + number(v))["k"].as<double>();
    EXPECT_EQ(back, v) << number(v);
  }
  EXPECT_EQ(number(-DBL_MAX), "-1.7976931348623157e+308");
}

TEST(JsonSize, EqualsTheSerializedLength) {
  std::mt19937 rng(3);
  auto text = [&] {
    std::string s(rng() % 12, ' ');
    for (char& c : s) c = static_cast<char>(rng() % 3 == 0 ? rng() % 0x20 : rng() % 2 ? '"' + (rng() % 2) * 58 : 'a' + rng() % 26);
    return s;
  };
  std::function<boost::json::value(int)> make = [&](int depth) -> boost::json::value {
    switch (depth > 3 ? rng() % 5 : rng() % 7) {
      case 0: return nullptr;
      case 1: return rng() % 2 == 0;
      case 2: return static_cast<int64_t>(rng()) - (1 << 30);
      case 3: return static_cast<double>(rng()) / 977.0;
      case 4: return boost::json::string(text());
      case 5: {
        boost::json::array a;
        for (unsigned i = rng() % 4; i > 0; --i) a.push_back(make(depth + 1));
        return a;
      }
      default: {
        boost::json::object o;
        for (unsigned i = rng() % 4; i > 0; --i) o[text()] = make(depth + 1);
        return o;
      }
    }
  };
  for (int i = 0; i < 5000; ++i) {
    const boost::json::value v = make(0);
    ASSERT_EQ(json_fields::serialized_size(v), boost::json::serialize(v).size()) << boost::json::serialize(v);
  }
}

}  // namespace
