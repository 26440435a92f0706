// OTLP export (`clawtrace export --otlp URL`): a session and the sessions below it as one
// trace of OTLP/JSON spans following the OpenTelemetry GenAI semantic conventions, with
// ClawTrace's cost attribution as attributes; sent in batches over OTLP/HTTP with retries,
// and resumable: a ledger in the store directory remembers, per endpoint and session, how
// many spans the endpoint accepted, so a rerun after a failure sends only the rest.
// Attribute mapping and ledger format: docs/otlp.md.
#pragma once

#include <boost/json.hpp>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "http_post.h"
#include "pricing.h"
#include "result.h"
#include "store.h"
#include "tree.h"

namespace clawtrace::otlp {

// The spans of `root`'s tree (its sub-sessions included), parents before children, each
// in the OTLP/JSON encoding (hex ids, times as decimal strings, typed attributes). The same
// store gives the same spans.
[[nodiscard]] Result<std::vector<boost::json::object>> session_spans(SpanTreeLoader& trees, const std::string& root,
                                                                     const pricing::PriceTable& prices);

// An ExportTraceServiceRequest of one resource (the root session) holding `spans`.
boost::json::object export_request(const SessionInfo& root, const std::vector<boost::json::object>& spans);

struct Options {
  std::string url;              // e.g. http://127.0.0.1:4318/v1/traces
  http::PostOptions post;       // headers (--header K=V), timeouts, retries
  size_t batch_spans = 512;     // spans per request
  std::filesystem::path ledger; // the resume ledger file
  std::function<void(const std::string&)> on_note;  // "SESSION: 12 spans, 12 accepted", warnings
};

struct Stats {
  size_t sessions = 0, skipped = 0, spans_sent = 0, requests = 0;
};

// Exports each root session whose whole tree has ended (else it is skipped with a note:
// its spans would still change). A session whose batch the endpoint does not accept after
// retries is noted and the others still go; the result then fails, naming the first.
// What was accepted stays recorded in the ledger.
[[nodiscard]] Result<Stats> export_sessions(Store& store, const std::vector<std::string>& roots,
                                            const pricing::PriceTable& prices, const Options& options);

}  // namespace clawtrace::otlp
