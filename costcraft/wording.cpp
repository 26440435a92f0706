// Text helpers (wording.h).
#include "wording.h"

#include <algorithm>
#include <array>

namespace clawtrace::costcraft::wording {
namespace {

bool alnum(unsigned char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char lower(unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); }

constexpr std::array<std::string_view, 40> kCommon = {
    "a",    "an",   "and",  "are",  "as",   "at",   "be",   "by",    "for",   "from",  "has",   "have", "in",   "into",
    "is",   "it",   "its",  "of",   "on",   "or",   "so",   "than",  "that",  "the",   "their", "then", "there", "they",
    "this", "to",   "was",  "were", "what", "when", "with", "which", "would", "you",   "your",  "also"};

bool common(std::string_view w) { return std::find(kCommon.begin(), kCommon.end(), w) != kCommon.end(); }

template <class F>
void each_word(std::string_view text, F&& f) {
  std::string w;
  for (size_t i = 0; i <= text.size(); ++i) {
    const unsigned char c = i < text.size() ? static_cast<unsigned char>(text[i]) : ' ';
    if (alnum(c)) {
      w.push_back(lower(c));
    } else if (!w.empty()) {
      f(w);
      w.clear();
    }
  }
}

}  // namespace

std::set<std::string> words(std::string_view text) {
  std::set<std::string> out;
  each_word(text, [&](const std::string& w) {
    if (w.size() >= 4 && !common(w)) out.insert(w);
  });
  return out;
}

std::set<std::string> rule_tokens(std::string_view rule) {
  std::set<std::string> out;
  each_word(rule, [&](const std::string& w) {
    if (!common(w)) out.insert(w);
  });
  return out;
}

double jaccard(const std::set<std::string>& a, const std::set<std::string>& b) {
  if (a.empty() && b.empty()) return 1;
  size_t both = 0;
  for (const auto& w : a) both += b.count(w);
  return static_cast<double>(both) / static_cast<double>(a.size() + b.size() - both);
}

std::vector<std::string> path_tokens(std::string_view text) {
  std::vector<std::string> out;
  auto keep = [](unsigned char c) { return alnum(c) || c == '/' || c == '.' || c == '_' || c == '-' || c == '~'; };
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && !keep(static_cast<unsigned char>(text[i]))) ++i;
    size_t end = i;
    while (end < text.size() && keep(static_cast<unsigned char>(text[end]))) ++end;
    std::string_view t = text.substr(i, end - i);
    while (!t.empty() && (t.back() == '.' || t.back() == '-')) t.remove_suffix(1);
    const bool names = t.size() >= 4 && t.find_first_of("/.", 1) != std::string_view::npos &&
                       std::any_of(t.begin(), t.end(), [](char c) { return (c | 32) >= 'a' && (c | 32) <= 'z'; });
    if (names) out.emplace_back(t);
    i = end;
  }
  return out;
}

std::string excerpt(std::string_view text, size_t max) {
  if (text.size() <= max) return std::string(text);
  size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return std::string(text.substr(0, end));
}

}  // namespace clawtrace::costcraft::wording
