// TraceCard compile time for sessions of N steps: half LLM calls (each adding the previous
// answer and a ~2 KB tool result to one growing conversation, with cache reads), half
// tool calls. Prints, per N, the median of 5 runs (thread CPU time) of: building the span
// tree from the events (the baseline: what `events --tree` does anyway), compiling the
// card, and writing its YAML.
//   bench_card_compile [N...]   (default 100 1000 10000)
#include <algorithm>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include <filesystem>

#include "card.h"
#include "store.h"
#include "tree.h"

using namespace clawtrace;
namespace json = boost::json;

namespace {

std::vector<Event> session_events(const std::string& id, size_t steps) {
  std::vector<Event> ev;
  uint64_t t = 1'700'000'000'000'000'000;
  auto push = [&](EventType type, const std::string& span, std::string parent, json::object d) {
    Event e;
    e.seq = ev.size() + 1;
    e.t_ns = t += 1'000'000;
    e.type = type;
    e.session = id;
    e.span = span;
    e.parent = std::move(parent);
    e.data = std::move(d);
    ev.push_back(std::move(e));
  };
  push(EventType::session_start, id, "", {{"pid", 1}});
  const std::string result(2000, 'r');
  size_t messages = 0;
  for (size_t k = 0; k < steps / 2; ++k) {
    const std::string n = std::to_string(k), llm = 'l' + n, tool = 't' + n, call = 'c' + n;
    json::array added;
    if (k == 0) {
      added.push_back(json::object{{"role", "user"}, {"content", json::array{json::object{{"type", "text"}, {"text", "go"}}}}});
    } else {
      added.push_back(json::object{{"role", "assistant"}, {"content", json::array{json::object{{"type", "text"}, {"text", "next"}}}}});
      added.push_back(json::object{{"role", "user"}, {"content", json::array{json::object{{"type", "tool_result"},
                                                                                          {"tool_use_id", "c" + std::to_string(k - 1)},
                                                                                          {"content", result}}}}});
    }
    const int64_t prompt = 1000 + static_cast<int64_t>(k) * 520;
    push(EventType::llm_input, llm, id,
         {{"model", "claude-sonnet-4-5"}, {"thread", "t"}, {"thread_role", "main"}, {"messages_added_from", messages},
          {"messages_added", added}, {"request_bytes", 4000 + 2100 * k}});
    messages += added.size();
    push(EventType::llm_output, llm, id,
         {{"model_returned", "claude-sonnet-4-5-20250929"},
          {"usage", json::object{{"input", 50}, {"output", 80}, {"cache_read", prompt - 600}, {"cache_write", 550},
                                 {"cache_write_5m", 550}, {"cache_write_1h", 0}, {"reasoning", 0}}},
          {"text", "next"},
          {"tool_calls", json::array{json::object{{"id", call}, {"name", "bash"}, {"arguments", "{}"}}}}});
    push(EventType::before_tool_call, tool, llm, {{"source", "model"}, {"id", call}, {"name", "bash"}, {"arguments", "{\"command\":\"step " + std::to_string(k) + "\"}"}});
    push(EventType::after_tool_call, tool, llm, {{"source", "model"}, {"id", call}, {"name", "bash"}, {"result", result}});
  }
  push(EventType::session_end, id, "", {{"status", "ok"}});
  return ev;
}

double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// CPU time of this thread (user + system), so that other work on a shared machine does
// not count; on an idle core it equals wall time. `prepare` runs outside the clock (a
// fresh copy of the inputs), so does the destruction of the previous result.
template <class P, class F>
double median_ms(P&& prepare, F&& f) {
  std::vector<double> runs;
  for (int i = 0; i < 5; ++i) {
    prepare();
    const double t0 = thread_cpu_ms();
    f();
    runs.push_back(thread_cpu_ms() - t0);
  }
  std::sort(runs.begin(), runs.end());
  return runs[2];
}

// The whole of `clawtrace card` but process start: the session written to a fresh LMDB
// store, then read back (events parsed, blobs inlined), compiled and written as YAML.
double from_store_ms(const SessionInfo& info, const std::vector<Event>& events, const pricing::PriceTable& prices) {
  std::string dir = (std::filesystem::temp_directory_path() / "clawtrace-bench-card-XXXXXX").string();
  if (!mkdtemp(dir.data())) return -1;
  double ms = -1;
  if (auto store = Store::open(dir)) {
    auto written = (*store)->write([&](Store::Writer& w) -> Result<void> {
      if (auto r = w.put_session(info); !r) return r;
      for (Event e : events)
        if (auto r = w.append_event(e); !r) return fail(r.error());
      return {};
    });
    std::string yaml;
    if (written)
      ms = median_ms([&] { yaml = {}; }, [&] {
        if (auto tree = load_span_tree(**store, info.id)) yaml = card::to_yaml(card::compile(*tree, prices), {});
      });
  }
  std::filesystem::remove_all(dir);
  return ms;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<size_t> sizes;
  for (int i = 1; i < argc; ++i) sizes.push_back(std::strtoul(argv[i], nullptr, 10));
  if (sizes.empty()) sizes = {100, 1000, 10000};
  auto prices = pricing::PriceTable::builtin();
  if (!prices) {
    std::fprintf(stderr, "%s\n", prices.error().c_str());
    return 1;
  }
  for (size_t n : sizes) {
    SessionInfo info;
    info.id = "00000000000000aa";
    info.start_ns = 1'700'000'000'000'000'000;
    std::map<std::string, std::vector<Event>> events{{info.id, session_events(info.id, n)}};
    SpanTree tree;
    card::Card c;
    std::string yaml;
    std::map<std::string, std::vector<Event>> input;
    const double t_tree = median_ms([&] { input = events, tree = {}; },
                                    [&] { tree = build_span_tree(info.id, {info}, std::move(input)); });
    const double t_card = median_ms([&] { c = {}; }, [&] { c = card::compile(tree, *prices); });
    const double t_yaml = median_ms([&] { yaml = {}; }, [&] { yaml = card::to_yaml(c, {}); });
    const double t_store = from_store_ms(info, events.at(info.id), *prices);
    std::printf("%6zu steps: tree %7.2f ms (baseline), card %7.2f ms (%.2fx), YAML %7.2f ms (%.2fx); "
                "events to YAML %7.2f ms; from the store %7.2f ms; %zu KB of YAML, $%.4f\n",
                c.steps.size(), t_tree, t_card, t_card / t_tree, t_yaml, t_yaml / t_tree, t_tree + t_card + t_yaml, t_store,
                yaml.size() / 1024, c.cost_usd);
  }
  return 0;
}
