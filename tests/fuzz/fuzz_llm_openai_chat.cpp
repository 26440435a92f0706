// Fuzzes the OpenAI Chat Completions adapter: request normalisation and JSON/SSE responses.
#include "llm_fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  clawtrace::fuzz::run_llm(clawtrace::llm::Api::openai_chat, "/v1/chat/completions",
                           "api.openai.com", data, size);
  return 0;
}
