// Fuzzes the Gemini adapter: contents, and JSON object / JSON array / SSE responses.
// The target carries an API key in its query, which must never reach an output.
#include "llm_fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  clawtrace::fuzz::run_llm(clawtrace::llm::Api::gemini,
                           "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&key=FUZZSECRETKEY",
                           "generativelanguage.googleapis.com", data, size);
  return 0;
}
