// The span tree (store/tree.*) from hand-made sessions and events: spans under their
// parents in start order, a child session under the process span that started it, a
// process sub-agent's session moved under its sub-agent node, and malformed links (an
// unknown parent, a span that is its own parent, two spans naming each other) kept in
// the tree under their session instead of lost or looping.
#include <gtest/gtest.h>

#include "tree.h"

using namespace clawtrace;
using K = SpanNode::Kind;

namespace {

Event ev(EventType type, uint64_t t, const std::string& session, const std::string& span,
         std::optional<std::string> parent, boost::json::object data = {}) {
  Event e;
  e.type = type;
  e.t_ns = t;
  e.session = session;
  e.span = span;
  e.parent = std::move(parent);
  e.data = std::move(data);
  return e;
}

SessionInfo session(const std::string& id, std::optional<std::string> parent = {},
                    std::optional<std::string> parent_span = {}) {
  SessionInfo s;
  s.id = id;
  s.parent_session = std::move(parent);
  s.parent_span = std::move(parent_span);
  return s;
}

const SpanNode* find(const SpanTree& t, const std::string& session, const std::string& span) {
  for (const auto& n : t.nodes)
    if (n.session == session && n.span == span) return &n;
  return nullptr;
}

std::string parent_of(const SpanTree& t, const std::string& session, const std::string& span) {
  const SpanNode* n = find(t, session, span);
  return n ? t.nodes[n->parent].span : "(missing)";
}

TEST(SpanTree, NestsSpansAndSessionsAcrossLinks) {
  std::vector<SessionInfo> sessions = {session("r"), session("sh", "r", "p1"), session("c", "sh", "p2"),
                                       session("other")};
  std::map<std::string, std::vector<Event>> events;
  events["r"] = {ev(EventType::session_start, 1, "r", "r", {}),
                 ev(EventType::llm_input, 2, "r", "l1", "r"),
                 ev(EventType::llm_output, 3, "r", "l1", "r"),
                 ev(EventType::before_tool_call, 4, "r", "t1", "l1", {{"source", "model"}}),
                 ev(EventType::before_tool_call, 5, "r", "p1", "t1", {{"source", "process"}}),
                 ev(EventType::subagent_spawned, 7, "r", "c", "t1", {{"how", "process"}, {"child_session", "c"}}),
                 ev(EventType::subagent_ended, 9, "r", "c", "t1"),
                 ev(EventType::after_tool_call, 10, "r", "p1", "t1", {{"source", "process"}}),
                 ev(EventType::after_tool_call, 11, "r", "t1", "l1", {{"source", "model"}}),
                 ev(EventType::llm_input, 12, "r", "l2", "r"),
                 ev(EventType::session_end, 13, "r", "r", {})};
  events["sh"] = {ev(EventType::session_start, 6, "sh", "sh", "p1"),
                  ev(EventType::before_tool_call, 6, "sh", "p2", "sh", {{"source", "process"}})};
  events["c"] = {ev(EventType::session_start, 6, "c", "c", "p2"), ev(EventType::llm_input, 8, "c", "cl", "c")};
  SpanTree t = build_span_tree("r", sessions, events);

  ASSERT_FALSE(t.nodes.empty());
  EXPECT_EQ(t.nodes[0].kind, K::session);
  EXPECT_EQ(t.nodes[0].span, "r");
  EXPECT_FALSE(t.sessions.count("other"));  // not below the root
  EXPECT_EQ(parent_of(t, "r", "l1"), "r");
  EXPECT_EQ(parent_of(t, "r", "t1"), "l1");
  EXPECT_EQ(find(t, "r", "t1")->kind, K::tool);
  EXPECT_EQ(find(t, "r", "p1")->kind, K::process);
  EXPECT_EQ(parent_of(t, "sh", "sh"), "p1");
  EXPECT_EQ(find(t, "r", "c")->kind, K::subagent);
  EXPECT_EQ(parent_of(t, "r", "c"), "t1");
  EXPECT_EQ(parent_of(t, "c", "c"), "c");  // the child session sits under the sub-agent node…
  EXPECT_EQ(t.nodes[find(t, "c", "c")->parent].session, "r");  // …of the root session
  EXPECT_EQ(parent_of(t, "c", "cl"), "c");
  const SpanNode& root = t.nodes[0];
  ASSERT_EQ(root.children.size(), 2u);  // l1, l2 in start order
  EXPECT_EQ(t.nodes[root.children[0]].span, "l1");
  EXPECT_EQ(t.nodes[root.children[1]].span, "l2");
  const SpanNode* tool = find(t, "r", "t1");
  ASSERT_EQ(tool->children.size(), 2u);  // the process (t=5) before the sub-agent (t=7)
  EXPECT_EQ(t.nodes[tool->children[0]].span, "p1");
  EXPECT_TRUE(find(t, "r", "t1")->close.has_value());
  EXPECT_FALSE(find(t, "r", "l2")->close.has_value());
}

TEST(SpanTree, MalformedLinksStayInTheTree) {
  std::vector<SessionInfo> sessions = {session("r")};
  std::map<std::string, std::vector<Event>> events;
  events["r"] = {ev(EventType::llm_input, 1, "r", "self", "self"),
                 ev(EventType::llm_input, 2, "r", "a", "b"),
                 ev(EventType::llm_input, 3, "r", "b", "a"),
                 ev(EventType::llm_input, 4, "r", "orphan", "nowhere")};
  SpanTree t = build_span_tree("r", sessions, events);
  for (const char* span : {"self", "a", "b", "orphan"}) ASSERT_NE(find(t, "r", span), nullptr) << span;
  EXPECT_EQ(parent_of(t, "r", "self"), "r");
  EXPECT_EQ(parent_of(t, "r", "orphan"), "r");
  // One of the pair hangs under the other, which hangs under the session.
  const bool a_top = parent_of(t, "r", "a") == "r";
  EXPECT_EQ(parent_of(t, "r", a_top ? "b" : "a"), a_top ? "a" : "b");
  // Every node reaches the root.
  for (size_t i = 0; i < t.nodes.size(); ++i) {
    size_t at = i, steps = 0;
    while (at != 0 && steps++ < t.nodes.size()) at = t.nodes[at].parent;
    EXPECT_EQ(at, 0u) << t.nodes[i].span;
  }
}

TEST(SpanTree, UnknownRootIsAnEmptySession) {
  SpanTree t = build_span_tree("x", {}, {});
  ASSERT_EQ(t.nodes.size(), 1u);
  EXPECT_EQ(t.nodes[0].span, "x");
  EXPECT_TRUE(t.nodes[0].children.empty());
}

}  // namespace
