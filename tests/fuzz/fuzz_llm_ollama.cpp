// Fuzzes the Ollama /api/chat adapter: request normalisation and NDJSON/JSON responses.
#include "llm_fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  clawtrace::fuzz::run_llm(clawtrace::llm::Api::ollama_chat, "/api/chat", "localhost:11434",
                           data, size);
  return 0;
}
