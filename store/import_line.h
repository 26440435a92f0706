// One line of an events file (SPEC §3 envelope, JSON) checked and turned into an Event:
// what `clawtrace import` accepts. Pure: no store, no I/O; fuzzed (tests/fuzz).
#pragma once

#include <string_view>

#include "event.h"
#include "result.h"

namespace clawtrace {

// "seq", "parent" and "data" may be left out; errors name the field
// (`"type": "llm_inptu" is not an event type`). Lines nesting deeper than the store can
// read back, or session fields of the wrong type, are rejected too.
[[nodiscard]] Result<Event> import_line(std::string_view line);

}  // namespace clawtrace
