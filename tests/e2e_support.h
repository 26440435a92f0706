// Support for the end-to-end tests: a stand-in per test, clients run under `clawtrace run`,
// the resulting store read back, and the field-by-field comparison of llm_output events
// with what the stand-in logged it sent.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "event.h"
#include "tree.h"

namespace clawtrace::e2e {

// The credential every client sends; it must not appear in any file of the store.
inline constexpr const char* kSecret = "sk-e2e-SECRET-7f3a9c1b5d2e8f40";

struct Output {
  std::string out, err;
  int status = -1;  // exit code, or 128 + signal
};

struct ToolSpan {
  const Event* open = nullptr;
  const Event* close = nullptr;
};

// Every event of every session in a store, in time order.
class Trace {
 public:
  std::vector<Event> events;
  std::vector<SessionInfo> infos;
  size_t session_count = 0;
  std::vector<const Event*> of(EventType t) const;
  std::vector<ToolSpan> model_tool_calls() const;
  // before_tool_call events with source process whose parent is `span`.
  std::vector<const Event*> process_spans_under(const std::string& span) const;
  size_t sessions() const { return session_count; }
  // The after_tool_call that closes this before_tool_call, if any.
  const Event* end_of(const Event& open) const;
};

class Fixture {
 public:
  Fixture();
  ~Fixture();
  // Starts the stand-in (HTTP and HTTPS) with an optional script; false on failure.
  bool start_standin(const std::string& script_json = "");
  std::string https_url() const;
  std::string http_url() const;
  const std::string& cert() const { return cert_; }
  std::string write_file(const std::string& name, const std::string& text) const;
  // `clawtrace run [RUN_OPTIONS] -- ARGV` on the fixture's store.
  Output run_traced(const std::vector<std::string>& argv,
                    const std::vector<std::string>& extra_env = {},
                    const std::vector<std::string>& run_options = {}) const;
  Trace trace() const;
  SpanTree tree(const std::string& root) const;  // after trace() has ingested
  std::vector<boost::json::object> standin_log() const;  // LLM exchanges only
  void expect_no_secret_in_store() const;
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  int pid_ = -1;
  int http_port_ = 0, https_port_ = 0;
  std::string cert_;
};

struct Request {
  std::string target;
  std::string body;
  std::vector<std::string> headers;
};
// One request of a provider format, with the credential in that format's place.
Request single_request(const std::string& api, bool stream);

// Checks an llm_output event against the stand-in's log line of the same exchange.
void expect_output_matches(const Event& out, const boost::json::object& log, const std::string& api,
                           bool stream);

// The TraceCard of `root` against the stand-in's ledger: every logged exchange priced from
// the provider's own usage fields (bundled prices); the card's calls, tokens and total
// must be exactly those, and its steps must add up to the total.
void expect_card_matches_ledger(const Fixture& f, const std::string& root);
std::string api_key_of(const std::string& log_api);  // "anthropic.messages" -> "anthropic"

std::string python();                                 // the real interpreter, not a shim
std::string client_script(const std::string& name);   // tests/clients/NAME
std::string curl_post();                              // the libcurl test client
Output run_process(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                   int timeout_s = 120);

std::string s(const boost::json::object& o, std::string_view key);
uint64_t u(const boost::json::object& o, std::string_view key);

}  // namespace clawtrace::e2e
