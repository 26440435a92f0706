#include "tree.h"

#include <algorithm>
#include <deque>
#include <unordered_map>

namespace clawtrace {
namespace {

using Key = std::pair<std::string, std::string>;  // session, span

struct KeyHash {
  size_t operator()(const Key& k) const noexcept {
    const size_t a = std::hash<std::string>{}(k.first);
    return a ^ (std::hash<std::string>{}(k.second) + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
  }
};

SpanNode::Kind kind_of(const Event& e) {
  switch (e.type) {
    case EventType::llm_input:
    case EventType::llm_output: return SpanNode::Kind::llm;
    case EventType::subagent_spawned:
    case EventType::subagent_ended: return SpanNode::Kind::subagent;
    default: break;
  }
  const auto* source = e.data.if_contains("source");
  const bool process = source && source->is_string() && source->get_string() == "process";
  return process ? SpanNode::Kind::process : SpanNode::Kind::tool;
}

bool opens(EventType t) {
  return t == EventType::session_start || t == EventType::llm_input || t == EventType::before_tool_call ||
         t == EventType::subagent_spawned;
}

// The sessions of the tree: the root and its descendants by parent session, parents first.
std::vector<std::string> subtree(const std::string& root, const std::vector<SessionInfo>& sessions) {
  std::map<std::string, std::vector<std::string>> children;
  for (const auto& s : sessions)
    if (s.parent_session && *s.parent_session != s.id) children[*s.parent_session].push_back(s.id);
  std::vector<std::string> out;
  std::deque<std::string> todo{root};
  std::map<std::string, bool> seen;
  while (!todo.empty()) {
    std::string id = std::move(todo.front());
    todo.pop_front();
    if (seen[id]) continue;
    seen[id] = true;
    out.push_back(id);
    for (const auto& c : children[id]) todo.push_back(c);
  }
  return out;
}

class Builder {
 public:
  explicit Builder(SpanTree& tree) : t_(tree) {}

  // The events are moved into the nodes.
  void add_session(const std::string& id, std::vector<Event>* events) {
    size_t node = node_for({id, id}, SpanNode::Kind::session);
    if (!events) return;
    for (auto& e : *events) add_event(id, std::move(e), node);
  }

  // Parents for every node but the root, then children in start order.
  void link() {
    linked_.assign(t_.nodes.size(), false);
    linked_[0] = true;
    for (size_t i = 1; i < t_.nodes.size(); ++i) {
      size_t p = parent_of(i);
      if (p == i || reaches(p, i)) p = session_node(t_.nodes[i].session, i);
      if (p == i || reaches(p, i)) p = 0;
      t_.nodes[i].parent = p;
      t_.nodes[p].children.push_back(i);
      linked_[i] = true;
    }
    for (auto& n : t_.nodes)
      std::stable_sort(n.children.begin(), n.children.end(),
                       [&](size_t a, size_t b) { return t_.nodes[a].t_start() < t_.nodes[b].t_start(); });
  }

 private:
  size_t node_for(const Key& key, SpanNode::Kind kind) {
    auto [it, fresh] = index_.try_emplace(key, t_.nodes.size());
    if (fresh) {
      SpanNode n;
      n.kind = kind;
      n.session = key.first;
      n.span = key.second;
      t_.nodes.push_back(std::move(n));
      parent_key_.emplace_back();
    }
    return it->second;
  }

  void add_event(const std::string& session, Event&& e, size_t session_node) {
    if (e.type == EventType::session_start || e.type == EventType::session_end) {
      (e.type == EventType::session_start ? t_.nodes[session_node].open : t_.nodes[session_node].close) = std::move(e);
      return;
    }
    size_t i = node_for({session, e.span}, kind_of(e));
    if (!parent_key_[i]) parent_key_[i] = Key{session, e.parent.value_or(session)};
    if (e.type == EventType::subagent_spawned) {
      const auto* child = e.data.if_contains("child_session");
      if (child && child->is_string()) subagent_of_[std::string(child->get_string())] = i;
    }
    SpanNode& n = t_.nodes[i];
    (opens(e.type) ? n.open : n.close) = std::move(e);
  }

  size_t parent_of(size_t i) {
    const SpanNode& n = t_.nodes[i];
    if (n.kind == SpanNode::Kind::session) {
      if (auto it = subagent_of_.find(n.session); it != subagent_of_.end()) return it->second;
      const SessionInfo& info = t_.sessions.at(n.session);
      if (!info.parent_session) return 0;
      const std::string& ps = *info.parent_session;
      if (auto it = index_.find({ps, info.parent_span.value_or(ps)}); it != index_.end()) return it->second;
      return session_node(ps, 0);
    }
    if (const auto& key = parent_key_[i])
      if (auto it = index_.find(*key); it != index_.end()) return it->second;
    return session_node(n.session, 0);
  }

  size_t session_node(const std::string& session, size_t fallback) {
    auto it = index_.find({session, session});
    return it == index_.end() ? fallback : it->second;
  }

  // True if `from`, walking up the parents linked so far, reaches `target` (a cycle in
  // malformed or imported data).
  bool reaches(size_t from, size_t target) const {
    for (size_t at = from;; at = t_.nodes[at].parent) {
      if (at == target) return true;
      if (at == 0 || !linked_[at]) return false;
    }
  }

  SpanTree& t_;
  std::unordered_map<Key, size_t, KeyHash> index_;
  std::vector<std::optional<Key>> parent_key_;  // per node: its first event's parent span
  std::map<std::string, size_t> subagent_of_;  // child session -> its sub-agent node
  std::vector<bool> linked_;
};

}  // namespace

uint64_t SpanNode::t_start() const {
  if (open) return open->t_ns;
  return close ? close->t_ns : 0;
}

SpanTree build_span_tree(const std::string& root, const std::vector<SessionInfo>& sessions,
                         std::map<std::string, std::vector<Event>> events) {
  SpanTree tree;
  for (const auto& s : sessions) tree.sessions.emplace(s.id, s);
  const auto ids = subtree(root, sessions);
  for (auto it = tree.sessions.begin(); it != tree.sessions.end();)
    it = std::find(ids.begin(), ids.end(), it->first) == ids.end() ? tree.sessions.erase(it) : std::next(it);
  if (!tree.sessions.count(root)) {
    SessionInfo unknown;
    unknown.id = root;
    tree.sessions.emplace(root, unknown);
  }
  Builder b(tree);
  for (const auto& id : ids) {
    auto ev = events.find(id);
    b.add_session(id, ev == events.end() ? nullptr : &ev->second);
  }
  b.link();
  return tree;
}

Result<SpanTreeLoader> SpanTreeLoader::open(Store& store) {
  auto all = store.sessions();
  if (!all) return fail(all.error());
  SpanTreeLoader loader(store);
  for (auto& s : *all) {
    if (s.parent_session && *s.parent_session != s.id) loader.children_[*s.parent_session].push_back(s.id);
    std::string id = s.id;
    loader.sessions_.emplace(std::move(id), std::move(s));
  }
  return loader;
}

Result<SpanTree> SpanTreeLoader::load(const std::string& root) {
  std::vector<SessionInfo> infos;
  std::map<std::string, std::vector<Event>> events;
  std::vector<std::string> todo{root};
  while (!todo.empty()) {
    const std::string id = std::move(todo.back());
    todo.pop_back();
    if (events.count(id)) continue;
    auto ev = store_->events(id);
    if (!ev) return fail("events of session " + id + ": " + ev.error());
    events.emplace(id, std::move(ev.value()));
    if (auto it = sessions_.find(id); it != sessions_.end()) infos.push_back(it->second);
    if (auto it = children_.find(id); it != children_.end()) todo.insert(todo.end(), it->second.begin(), it->second.end());
  }
  return build_span_tree(root, infos, std::move(events));
}

Result<SpanTree> load_span_tree(Store& store, const std::string& root) {
  auto loader = SpanTreeLoader::open(store);
  if (!loader) return fail(loader.error());
  return loader->load(root);
}

}  // namespace clawtrace
