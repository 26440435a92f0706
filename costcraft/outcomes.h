// Outcome files for `clawtrace score --outcomes FILE`: an external oracle's grades, one per
// session or per task tag, read before anything is written so a bad file changes nothing.
//
// Two shapes, told apart by the first non-blank byte:
//   JSON   {"SEL": Q, "SEL": {"q": Q, "note": "…"}}   or
//          [{"session": "SEL" | "task": "X" | "tag": "K=V", "q": Q, "note": "…"}, …]
//          ("quality" is accepted for "q")
//   lines  SEL Q [NOTE…]        blank lines and lines starting with # are skipped
// SEL is a session id, a unique id prefix, `last`, or a tag selector K=V (e.g. task=X).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "result.h"

namespace clawtrace::costcraft {

struct OutcomeEntry {
  std::string selector;  // session spec, or K=V
  double quality = 0;
  std::string note;
  std::string where;  // "FILE:LINE" or "FILE: entry N", for messages
};

// A selector of the form K=V (a tag), as opposed to a session spec.
bool is_tag_selector(std::string_view selector);

// Q as typed on the command line: a finite number in [0,1], nothing else.
Result<double> parse_quality(std::string_view text);

// Every entry, or the first problem as "SOURCE:LINE: reason" / "SOURCE: entry N: reason".
Result<std::vector<OutcomeEntry>> parse_outcomes(std::string_view text, const std::string& source);

}  // namespace clawtrace::costcraft
