// Fuzzes the Anthropic Messages adapter: request normalisation and JSON/SSE responses.
#include "llm_fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  clawtrace::fuzz::run_llm(clawtrace::llm::Api::anthropic_messages, "/v1/messages?beta=true",
                           "api.anthropic.com", data, size);
  return 0;
}
