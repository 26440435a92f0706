// Small text helpers of CostCraft: word sets for comparing rules and notes, path-like
// tokens for spotting task-specific rules, and UTF-8-safe excerpts.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace clawtrace::costcraft::wording {

// Lower-case words of 4+ letters or digits, minus common ones: what two texts share.
std::set<std::string> words(std::string_view text);
// Lower-case alphanumeric tokens minus stop words, for clustering equivalent rules.
std::set<std::string> rule_tokens(std::string_view rule);
// |a ∩ b| / |a ∪ b|; 1 for two empty sets.
double jaccard(const std::set<std::string>& a, const std::set<std::string>& b);
// Tokens that name something (a path, a file name, a dotted identifier): 4+ bytes with a
// '/' or '.' inside and a letter, trailing punctuation removed.
std::vector<std::string> path_tokens(std::string_view text);
// At most `max` bytes of `text`, cut at a UTF-8 character boundary (never mid-sequence).
std::string excerpt(std::string_view text, size_t max);

}  // namespace clawtrace::costcraft::wording
