// Fuzzes the OpenAI Responses adapter: input items and JSON/SSE responses.
#include "llm_fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  clawtrace::fuzz::run_llm(clawtrace::llm::Api::openai_responses, "/v1/responses",
                           "api.openai.com", data, size);
  return 0;
}
