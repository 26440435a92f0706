#include "api.h"

#include "text.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <ctime>
#include <set>

#include "assets.h"
#include "card.h"
#include "eval.h"
#include "session_cost.h"
#include "tree.h"

namespace clawtrace::serve {
namespace json = boost::json;
namespace {

constexpr size_t kMaxLimit = 1000;
constexpr const char* kCookie = "clawtrace_token";

Response json_response(unsigned status, const json::value& body) {
  Response r;
  r.status = status;
  r.body = json::serialize(body);
  return r;
}

Response error_response(unsigned status, const std::string& message) {
  return json_response(status, json::object{{"error", message}});
}

bool is_hex_id(std::string_view s) {
  return !s.empty() && s.size() <= 16 &&
         std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
}

// "1790000000", "1790000000.5", "2026-11-27", "2026-11-27T14:58:16Z" → ns since the epoch.
std::optional<uint64_t> parse_time(const std::string& s) {
  double seconds = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), seconds);
  if (ec == std::errc() && end == s.data() + s.size() && seconds >= 0 && seconds < 1e11)
    return static_cast<uint64_t>(seconds * 1e9);
  std::tm tm{};
  const char* rest = strptime(s.c_str(), "%Y-%m-%d", &tm);
  if (!rest) return std::nullopt;
  if (*rest == 'T' || *rest == ' ') {
    rest = strptime(rest + 1, "%H:%M:%S", &tm);
    if (!rest) return std::nullopt;
    if (*rest == 'Z') ++rest;
  }
  if (*rest) return std::nullopt;
  const time_t t = timegm(&tm);
  if (t < 0) return std::nullopt;
  return static_cast<uint64_t>(t) * 1000000000ull;
}

std::optional<size_t> parse_count(const std::string& s, size_t max) {
  size_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v > max) return std::nullopt;
  return v;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// What GET /api/sessions filters on.
struct Filter {
  std::vector<std::pair<std::string, std::string>> tags;  // all must match
  std::set<SessionStatus> statuses;                       // any; empty: all
  std::optional<uint64_t> since, until;                   // start time bounds, ns
  std::string text;                                       // lower case
  bool all = false;                                       // sub-sessions too
};

bool matches(const Filter& f, const SessionInfo& s) {
  if (!f.all && s.parent_session) return false;
  if (!f.statuses.empty() && !f.statuses.count(s.status)) return false;
  if (f.since && s.start_ns < *f.since) return false;
  if (f.until && s.start_ns > *f.until) return false;
  for (const auto& [k, v] : f.tags) {
    auto it = s.tags.find(k);
    if (it == s.tags.end() || it->second != v) return false;
  }
  if (f.text.empty()) return true;
  std::string hay = s.id + '\n' + s.name;
  for (const auto& a : s.argv) hay += '\n' + a;
  for (const auto& [k, v] : s.tags) hay += '\n' + k + '=' + v;
  return lower(hay).find(f.text) != std::string::npos;
}

// Parses the filter; on bad input, the message for a 400.
std::optional<std::string> parse_filter(const std::multimap<std::string, std::string>& q, Filter& f) {
  for (const auto& [k, v] : q) {
    if (k == "tag") {
      const size_t eq = v.find('=');
      if (eq == std::string::npos || eq == 0) return "tag must be KEY=VALUE, not '" + v + "'";
      f.tags.emplace_back(v.substr(0, eq), v.substr(eq + 1));
    } else if (k == "status") {
      size_t from = 0;
      while (from <= v.size()) {
        const size_t comma = std::min(v.find(',', from), v.size());
        const std::string one = v.substr(from, comma - from);
        auto st = parse_session_status(one);
        if (!st) return "status must be running, ok, failed or truncated, not '" + one + "'";
        f.statuses.insert(*st);
        from = comma + 1;
      }
    } else if (k == "since" || k == "until") {
      auto t = parse_time(v);
      if (!t) return k + " must be seconds since the epoch or a date (2026-11-27 or 2026-11-27T14:00:00Z), not '" + v + "'";
      (k == "since" ? f.since : f.until) = t;
    } else if (k == "q") {
      f.text = lower(v);
    } else if (k == "all") {
      if (v != "0" && v != "1" && v != "true" && v != "false") return "all must be 0 or 1, not '" + v + "'";
      f.all = v == "1" || v == "true";
    }
  }
  return std::nullopt;
}

struct Row {
  const SessionInfo* info;
  SessionSummary summary;
};

using Less = bool (*)(const Row&, const Row&);

std::optional<Less> sorter(std::string_view key) {
  if (key == "start") return [](const Row& a, const Row& b) { return a.info->start_ns < b.info->start_ns; };
  if (key == "cost") return [](const Row& a, const Row& b) { return a.summary.cost_usd < b.summary.cost_usd; };
  if (key == "calls") return [](const Row& a, const Row& b) { return a.summary.llm_calls < b.summary.llm_calls; };
  if (key == "name") return [](const Row& a, const Row& b) { return a.info->name < b.info->name; };
  if (key == "status") return [](const Row& a, const Row& b) { return a.info->status < b.info->status; };
  if (key == "duration")
    return [](const Row& a, const Row& b) {
      auto d = [](const SessionInfo& s) { return s.end_ns ? *s.end_ns - s.start_ns : UINT64_MAX; };
      return d(*a.info) < d(*b.info);
    };
  return std::nullopt;
}

void add(card::TokenSum& a, const card::TokenSum& b) {
  a.input += b.input;
  a.output += b.output;
  a.cache_read += b.cache_read;
  a.cache_write += b.cache_write;
  a.reasoning += b.reasoning;
}

// Totals over every matched session (not only the page shown): per model and per tag.
json::object totals_json(const std::vector<Row>& rows) {
  double cost = 0;
  uint64_t calls = 0, unpriced = 0;
  card::TokenSum tokens;
  std::map<std::string, ModelUse> models;
  std::map<std::pair<std::string, std::string>, std::pair<uint64_t, double>> tags;
  for (const Row& r : rows) {
    cost += r.summary.cost_usd;
    calls += r.summary.llm_calls;
    unpriced += r.summary.unpriced_calls;
    add(tokens, r.summary.tokens);
    for (const auto& [name, use] : r.summary.models) {
      ModelUse& m = models[name];
      m.calls += use.calls;
      m.unpriced_calls += use.unpriced_calls;
      m.cost_usd += use.cost_usd;
      add(m.tokens, use.tokens);
    }
    for (const auto& [k, v] : r.info->tags) {
      auto& t = tags[{k, v}];
      ++t.first;
      t.second += r.summary.cost_usd;
    }
  }
  json::array by_model, by_tag;
  for (const auto& [name, use] : models) {
    json::object o = to_json(use);
    o["model"] = name;
    by_model.push_back(std::move(o));
  }
  for (const auto& [kv, t] : tags)
    by_tag.push_back(json::object{{"key", kv.first}, {"value", kv.second}, {"sessions", t.first}, {"cost_usd", t.second}});
  return {{"sessions", rows.size()}, {"cost_usd", cost},          {"llm_calls", calls}, {"unpriced_calls", unpriced},
          {"tokens", to_json(tokens)}, {"by_model", std::move(by_model)}, {"by_tag", std::move(by_tag)}};
}

// Query parameters; a repeated key keeps every value in `all`, the last one in `last`.
std::optional<std::string> parse_query(std::string_view query, std::map<std::string, std::string>& last,
                                       std::multimap<std::string, std::string>& all) {
  while (!query.empty()) {
    const size_t amp = std::min(query.find('&'), query.size());
    const std::string_view pair = query.substr(0, amp);
    query.remove_prefix(std::min(amp + 1, query.size()));
    if (pair.empty()) continue;
    const size_t eq = std::min(pair.find('='), pair.size());
    auto k = url_decode(pair.substr(0, eq));
    auto v = url_decode(eq < pair.size() ? pair.substr(eq + 1) : std::string_view());
    if (!k || !v) return "malformed percent-encoding in the query";
    last[*k] = *v;
    all.emplace(*k, *v);
  }
  return std::nullopt;
}

std::optional<std::string> unknown_parameter(const std::map<std::string, std::string>& q,
                                             std::initializer_list<std::string_view> known) {
  for (const auto& [k, v] : q) {
    if (k == "token" || k == "_") continue;  // credentials, cache busting
    if (std::find(known.begin(), known.end(), k) == known.end()) return "unknown query parameter '" + k + "'";
  }
  return std::nullopt;
}

std::string cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const size_t semi = std::min(header.find(';'), header.size());
    std::string_view item = header.substr(0, semi);
    header.remove_prefix(std::min(semi + 1, header.size()));
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    if (item.size() > name.size() && item.substr(0, name.size()) == name && item[name.size()] == '=')
      return std::string(item.substr(name.size() + 1));
  }
  return {};
}

// Without a token only the loopback names are served: a web page elsewhere cannot reach the
// API through a DNS name re-pointed at 127.0.0.1 (DNS rebinding), as its Host stays that name.
bool loopback_host(std::string_view host) {
  if (host.empty()) return true;  // HTTP/1.0 clients
  if (host.front() == '[') host = host.substr(0, host.find(']') + 1);
  else host = host.substr(0, host.find(':'));
  return host == "127.0.0.1" || host == "localhost" || host == "[::1]" ||
         (host.rfind("127.", 0) == 0 && host.find_first_not_of("0123456789.") == std::string_view::npos);
}

Response asset_response(const Asset& a) {
  Response r;
  r.content_type = std::string(a.content_type);
  r.body = std::string(a.body);
  r.headers.emplace_back("Cache-Control", "no-cache");
  return r;
}

Result<std::unique_ptr<Store>> open_store(const std::filesystem::path& dir) {
  StoreOptions ro;
  ro.read_only = true;
  return Store::open(dir, ro);
}

}  // namespace

std::optional<std::string> url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
      };
      const int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

Api::Api(ApiConfig config, pricing::PriceTable prices) : config_(std::move(config)), prices_(std::move(prices)) {}

bool Api::authorized(const Request& request, const std::map<std::string, std::string>& query) const {
  if (config_.token.empty()) return true;
  constexpr std::string_view bearer = "Bearer ";
  if (request.authorization.rfind(bearer, 0) == 0 &&
      text::constant_time_equal(std::string_view(request.authorization).substr(bearer.size()), config_.token))
    return true;
  if (auto it = query.find("token"); it != query.end() && text::constant_time_equal(it->second, config_.token)) return true;
  const std::string cookie = cookie_value(request.cookie, kCookie);
  return !cookie.empty() && text::constant_time_equal(cookie, config_.token);
}

namespace {

// A decoded path with a dot segment, an empty one, a backslash or a NUL: no page or
// endpoint has one, so it can only be an attempt to step out (refused, not "not found").
bool traversal_attempt(std::string_view path) {
  if (path.empty() || path.front() != '/' || path.find_first_of(std::string_view("\\\0", 2)) != std::string_view::npos)
    return true;
  for (size_t at = 1; at <= path.size();) {
    const size_t next = std::min(path.find('/', at), path.size());
    const std::string_view segment = path.substr(at, next - at);
    if (segment == "." || segment == ".." || (segment.empty() && next < path.size())) return true;
    at = next + 1;
  }
  return false;
}

}  // namespace

Response Api::handle(const Request& request) try {
  if (request.method != "GET" && request.method != "HEAD") {
    Response r = error_response(405, "only GET is supported");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  const size_t qmark = std::min(request.target.find('?'), request.target.size());
  auto path = url_decode(std::string_view(request.target).substr(0, qmark));
  std::map<std::string, std::string> query;
  std::multimap<std::string, std::string> all;
  if (!path) return error_response(400, "malformed percent-encoding in the path");
  if (auto bad = parse_query(std::string_view(request.target).substr(std::min(qmark + 1, request.target.size())), query, all))
    return error_response(400, *bad);
  if (config_.token.empty() && !loopback_host(request.host))
    return error_response(403, "this server answers to 127.0.0.1 and localhost only (run it with --token to serve other names)");
  if (!authorized(request, query))
    return error_response(401, "a token is required: Authorization: Bearer TOKEN, or ?token=TOKEN in the address");
  if (traversal_attempt(*path)) return error_response(400, "refused: a path with '.', '..' or empty segments, a backslash or a NUL");
  if (*path == "/api/sessions") return sessions(query, all);
  if (*path == "/api/eval") return eval(query, all);
  constexpr std::string_view prefix = "/api/sessions/";
  if (path->rfind(prefix, 0) == 0) {
    const std::string rest = path->substr(prefix.size());
    const size_t slash = std::min(rest.find('/'), rest.size());
    return session(rest.substr(0, slash), rest.substr(slash), query);
  }
  if (path->rfind("/api/", 0) == 0 || *path == "/api") return error_response(404, "no such endpoint: " + *path);
  const Asset* asset = find_asset(*path == "/" ? "/index.html" : *path);
  if (!asset) return error_response(404, "no such page: " + *path);
  Response r = asset_response(*asset);
  if (!config_.token.empty() && query.count("token"))  // the page's own requests then carry it
    r.headers.emplace_back("Set-Cookie", std::string(kCookie) + "=" + config_.token + "; Path=/; HttpOnly; SameSite=Strict");
  return r;
} catch (const std::exception& e) {
  return error_response(500, std::string("internal error: ") + e.what());
}

// The sessions below `s` (and `s`), each once: parent links from imported data may form a cycle.
static std::vector<const SessionInfo*> family_of(const SessionInfo& s, const std::multimap<std::string, const SessionInfo*>& children) {
  std::vector<const SessionInfo*> below{&s};
  std::set<std::string> seen{s.id};
  for (size_t i = 0; i < below.size(); ++i) {
    auto [from, to] = children.equal_range(below[i]->id);
    for (auto it = from; it != to; ++it)
      if (seen.insert(it->second->id).second) below.push_back(it->second);
  }
  return below;
}

// Not load_span_tree: it lists every session of the store again, once per session shown.
static Result<SpanTree> tree_of(Store& store, const SessionInfo& s, const std::vector<const SessionInfo*>& family) {
  std::vector<SessionInfo> infos;
  std::map<std::string, std::vector<Event>> events;
  for (const SessionInfo* info : family) {
    auto ev = store.events(info->id);
    if (!ev) return Error{ev.error()};
    events.emplace(info->id, std::move(*ev));
    infos.push_back(*info);
  }
  return build_span_tree(s.id, infos, std::move(events));
}

Result<card::Card> Api::card_of(Store& store, const SessionInfo& s,
                                const std::multimap<std::string, const SessionInfo*>& children) {
  auto tree = tree_of(store, s, family_of(s, children));
  if (!tree) return Error{tree.error()};
  return card::compile(*tree, prices_);
}

Result<SessionSummary> Api::summary_of(Store& store, const SessionInfo& s,
                                       const std::multimap<std::string, const SessionInfo*>& children) {
  // The summary depends on the events of the session and of every session below it.
  const auto family = family_of(s, children);
  std::string key;
  for (const SessionInfo* info : family)
    key += info->id + ':' + std::to_string(info->events) + ':' + std::string(to_string(info->status)) + ';';
  if (auto it = cache_.find(s.id); it != cache_.end() && it->second.key == key) return it->second.summary;
  auto tree = tree_of(store, s, family);
  if (!tree) return Error{tree.error()};
  SessionSummary summary = summarize(*tree, card::compile(*tree, prices_), prices_);
  cache_[s.id] = {key, summary};
  return summary;
}

// GET /api/eval: `clawtrace eval` over HTTP. A selector is a root session's id, a unique
// prefix, last, or K=V (every root session with that tag); several, comma-separated.
Response Api::eval(const std::map<std::string, std::string>& query, const std::multimap<std::string, std::string>& all) {
  if (auto bad = unknown_parameter(query, {"baseline", "treated", "task_tag", "format"})) return error_response(400, *bad);
  const std::string format = query.count("format") ? query.at("format") : "json";
  if (format != "json" && format != "outcomes.svg" && format != "costs.svg" && format != "text")
    return error_response(400, "format must be json, text, outcomes.svg or costs.svg, not '" + format + "'");
  if (!query.count("baseline") || !query.count("treated"))
    return error_response(400, "eval needs baseline=SEL and treated=SEL (ids, prefixes, last or K=V)");
  auto store = open_store(config_.store_dir);
  if (!store) return error_response(503, store.error());
  auto listed = (*store)->sessions();
  if (!listed) return error_response(503, listed.error());
  std::multimap<std::string, const SessionInfo*> children;
  std::map<std::string, const SessionInfo*> by_id;
  for (const auto& s : *listed) {
    by_id[s.id] = &s;
    if (s.parent_session) children.emplace(*s.parent_session, &s);
  }
  std::set<std::string> used;
  auto runs_of = [&](const std::string& side, std::vector<eval::Run>& runs) -> std::optional<std::string> {
    for (auto [from, to] = all.equal_range(side); from != to; ++from) {
      std::string_view items = from->second;
      while (!items.empty()) {
        const size_t comma = std::min(items.find(','), items.size());
        const std::string item(items.substr(0, comma));
        items.remove_prefix(std::min(comma + 1, items.size()));
        if (item.empty()) continue;
        std::vector<const SessionInfo*> picked;
        if (const size_t eq = item.find('='); eq != std::string::npos) {
          if (eq == 0) return side + ": '" + cut_utf8(item, 80) + "' has no tag key (K=V)";
          for (const auto& s : *listed) {
            auto it = s.tags.find(item.substr(0, eq));
            if (!s.parent_session && it != s.tags.end() && it->second == item.substr(eq + 1)) picked.push_back(&s);
          }
          if (picked.empty()) return side + ": no root session is tagged " + cut_utf8(item, 80);
        } else {
          auto id = (*store)->resolve(item);
          if (!id || !by_id.count(*id)) return side + ": " + (id ? "no session " + *id : id.error());
          picked.push_back(by_id.at(*id));
        }
        for (const SessionInfo* s : picked) {
          if (!used.insert(side + s->id).second) continue;
          auto card = card_of(**store, *s, children);
          if (!card) return "session " + s->id + ": " + card.error();
          runs.push_back({*s, cli::card_cost(*card)});
        }
      }
    }
    return std::nullopt;
  };
  std::vector<eval::Run> baseline, treated;
  if (auto bad = runs_of("baseline", baseline)) return error_response(400, *bad);
  if (auto bad = runs_of("treated", treated)) return error_response(400, *bad);
  eval::Options options;
  if (query.count("task_tag")) options.task_tag = query.at("task_tag");
  auto report = eval::evaluate(baseline, treated, options);
  if (!report) return error_response(400, report.error());
  if (format == "json") return json_response(200, eval::to_json(*report));
  Response r;
  r.content_type = format == "text" ? "text/plain; charset=utf-8" : "image/svg+xml";
  r.body = format == "text" ? eval::to_table(*report) : format == "outcomes.svg" ? eval::outcomes_svg(*report) : eval::task_costs_svg(*report);
  return r;
}

Response Api::sessions(const std::map<std::string, std::string>& query, const std::multimap<std::string, std::string>& all) {
  if (auto bad = unknown_parameter(query, {"tag", "status", "since", "until", "q", "all", "sort", "limit", "offset"}))
    return error_response(400, *bad);
  Filter filter;
  if (auto bad = parse_filter(all, filter)) return error_response(400, *bad);
  std::string sort_key = query.count("sort") ? query.at("sort") : "-start";
  const bool descending = !sort_key.empty() && sort_key[0] == '-';
  auto less = sorter(descending ? sort_key.substr(1) : sort_key);
  if (!less) return error_response(400, "sort must be start, cost, calls, duration, name or status (prefix - for descending), not '" + sort_key + "'");
  size_t limit = 100, offset = 0;
  if (query.count("limit")) {
    auto v = parse_count(query.at("limit"), kMaxLimit);
    if (!v || *v == 0) return error_response(400, "limit must be a number from 1 to " + std::to_string(kMaxLimit));
    limit = *v;
  }
  if (query.count("offset")) {
    auto v = parse_count(query.at("offset"), SIZE_MAX);
    if (!v) return error_response(400, "offset must be a non-negative number");
    offset = *v;
  }
  auto store = open_store(config_.store_dir);
  if (!store) return error_response(503, store.error());
  auto listed = (*store)->sessions();
  if (!listed) return error_response(503, listed.error());
  std::multimap<std::string, const SessionInfo*> children;
  for (const auto& s : *listed)
    if (s.parent_session) children.emplace(*s.parent_session, &s);
  std::vector<Row> rows;
  for (const auto& s : *listed) {
    if (!matches(filter, s)) continue;
    auto summary = summary_of(**store, s, children);
    rows.push_back({&s, summary ? *summary : SessionSummary{}});
  }
  std::stable_sort(rows.begin(), rows.end(), [&](const Row& a, const Row& b) { return descending ? (*less)(b, a) : (*less)(a, b); });
  json::array page;
  for (size_t i = offset; i < rows.size() && i < offset + limit; ++i) page.push_back(session_row(*rows[i].info, rows[i].summary));
  return json_response(200, json::object{{"total", rows.size()}, {"offset", offset}, {"limit", limit},
                                         {"sessions", std::move(page)}, {"totals", totals_json(rows)}});
}

Response Api::session(const std::string& id, const std::string& rest, const std::map<std::string, std::string>& query) {
  if (id != "last" && !is_hex_id(id)) return error_response(400, "a session id is 1 to 16 hex digits (or last), not '" + cut_utf8(id, 40) + "'");
  const bool is_card = rest == "/card";
  const bool is_span = rest.rfind("/spans/", 0) == 0;
  if (!rest.empty() && !is_card && !is_span) return error_response(404, "no such endpoint: /api/sessions/" + id + cut_utf8(rest, 80));
  if (auto bad = unknown_parameter(query, is_card   ? std::initializer_list<std::string_view>{"format", "top"}
                                         : is_span ? std::initializer_list<std::string_view>{"session"}
                                                   : std::initializer_list<std::string_view>{}))
    return error_response(400, *bad);
  size_t top = 10;
  if (query.count("top")) {
    auto v = parse_count(query.at("top"), 100000);
    if (!v) return error_response(400, "top must be a number");
    top = *v;
  }
  const std::string format = query.count("format") ? query.at("format") : "json";
  if (format != "json" && format != "yaml") return error_response(400, "format must be json or yaml, not '" + format + "'");
  const std::string span = is_span ? rest.substr(7) : "";
  if (is_span && !is_hex_id(span) && span.find_first_not_of("0123456789abcdefABCDEF_-.:") != std::string::npos)
    return error_response(400, "not a span id: '" + cut_utf8(span, 40) + "'");
  auto store = open_store(config_.store_dir);
  if (!store) return error_response(503, store.error());
  auto resolved = (*store)->resolve(id);
  if (!resolved) return error_response(404, resolved.error());
  auto tree = load_span_tree(**store, *resolved);
  if (!tree) return error_response(500, tree.error());
  if (is_span) {
    const std::string in_session = query.count("session") ? query.at("session") : "";
    if (!in_session.empty() && !is_hex_id(in_session)) return error_response(400, "session must be a session id");
    auto found = span_json(*tree, span, in_session);
    if (!found) return error_response(404, "session " + *resolved + " has no span '" + span + "'");
    return json_response(200, *found);
  }
  const card::Card card = card::compile(*tree, prices_);
  if (is_card && format == "yaml") {
    Response r;
    r.content_type = "application/yaml; charset=utf-8";
    card::Options options;
    options.top = top;
    r.body = card::to_yaml(card, options);
    return r;
  }
  if (is_card) return json_response(200, card_json(card, top));
  const SessionInfo& info = card.session;
  json::object out{{"session", session_row(info, summarize(*tree, card, prices_))},
                   {"card", card_json(card, top)},
                   {"tree", tree_json(*tree, card, prices_)}};
  return json_response(200, out);
}

}  // namespace clawtrace::serve
