// A relay and the session it records into, started together: what `clawtrace relay` and
// `clawtrace run --relay` both run.
#pragma once

#include <memory>

#include "recorder.h"
#include "relay.h"

namespace clawtrace::relay {

struct RelaySession {
  std::unique_ptr<Recorder> recorder;  // declared first: destroyed after the server stops
  std::unique_ptr<RelayServer> server;
};

[[nodiscard]] Result<RelaySession> start_relay_session(const RelayOptions& options, const SessionSpec& session);

// The CA bundle libcurl should trust when none was given: $CURL_CA_BUNDLE, else
// $SSL_CERT_FILE (as the curl tool and OpenSSL read them), else empty (the system's).
std::string ca_file_from_environment();

// The base URLs of the providers an agent finds in its environment, with their usual
// defaults: {mount name, variable, upstream}.
struct ProviderBase {
  const char* name;
  const char* variable;
  std::string upstream;
};
std::vector<ProviderBase> provider_bases();

}  // namespace clawtrace::relay
