#include "session.h"

#include <cstdlib>

namespace clawtrace::relay {

Result<RelaySession> start_relay_session(const RelayOptions& options, const SessionSpec& session) {
  RelaySession s;
  auto recorder = Recorder::open(session);
  if (!recorder) return fail(recorder.error());
  s.recorder = std::move(*recorder);
  auto server = RelayServer::start(options, s.recorder.get());
  if (!server) return fail(server.error());
  s.server = std::move(*server);
  return s;
}

std::string ca_file_from_environment() {
  for (const char* var : {"CURL_CA_BUNDLE", "SSL_CERT_FILE"})
    if (const char* v = std::getenv(var); v && *v) return v;
  return {};
}

std::vector<ProviderBase> provider_bases() {
  auto from_env = [](const char* var, const char* fallback) {
    const char* v = std::getenv(var);
    return std::string(v && *v ? v : fallback);
  };
  return {
      {"anthropic", "ANTHROPIC_BASE_URL", from_env("ANTHROPIC_BASE_URL", "https://api.anthropic.com")},
      {"openai", "OPENAI_BASE_URL", from_env("OPENAI_BASE_URL", "https://api.openai.com/v1")},
      {"gemini", "GOOGLE_GEMINI_BASE_URL",
       from_env("GOOGLE_GEMINI_BASE_URL", "https://generativelanguage.googleapis.com")},
  };
}

}  // namespace clawtrace::relay
