#include "raft_sim.hpp"

#include <algorithm>
#include <stdexcept>

namespace marketsim::consensus::raft::sim {

std::string encode_machine(const std::map<index_t, std::string>& m) {
  std::string s;
  for (const auto& [i, c] : m)
    s += std::to_string(i) + ':' + std::to_string(c.size()) + ':' + c;
  return s;
}

std::map<index_t, std::string> decode_machine(const std::string& s) {
  std::map<index_t, std::string> m;
  std::size_t pos = 0;
  while (pos < s.size()) {
    const std::size_t a = s.find(':', pos);
    const std::size_t b = s.find(':', a + 1);
    const index_t i = std::stoull(s.substr(pos, a - pos));
    const std::size_t len = std::stoull(s.substr(a + 1, b - a - 1));
    m.emplace(i, s.substr(b + 1, len));
    pos = b + 1 + len;
  }
  return m;
}

cluster::cluster(std::vector<node_id> founders, std::vector<node_id> joiners,
                 raft_params params, std::uint64_t seed)
    : params_(params), seed_(seed), rng_(actors::derive_seed(seed, 0)) {
  std::sort(founders.begin(), founders.end());
  founders_.voters = founders;
  for (node_id id : founders)
    replicas_[id].id = id;
  for (node_id id : joiners) {
    replicas_[id].id = id;
    replicas_[id].founding = false;
  }
  for (auto& [id, r] : replicas_) {
    r.n.emplace(make_node(r));
    schedule(event{r.n->wake_at(), 0, id, std::nullopt, r.timer_gen});
    r.timer_at = r.n->wake_at();
  }
}

node cluster::make_node(replica& r) {
  persistent_state disk{
      r.disk_state, r.disk_snap, {r.disk_log.begin(), r.disk_log.end()}};
  const std::uint64_t stream = (std::uint64_t{r.id} << 16) + std::uint64_t(r.incarnation);
  return node(r.id, r.founding ? founders_ : cluster_config{}, params_,
              actors::derive_seed(seed_, stream), now_, std::move(disk));
}

std::vector<node_id> cluster::ids() const {
  std::vector<node_id> v;
  for (const auto& [id, r] : replicas_)
    v.push_back(id);
  return v;
}

node* cluster::leader() {
  node* best = nullptr;
  for (auto& [id, r] : replicas_)
    if (r.n && r.n->role() == node_role::leader && (!best || r.n->term() > best->term()))
      best = &*r.n;
  return best;
}

// -- events -------------------------------------------------------------------

void cluster::schedule(event e) {
  e.seq = seq_++;
  queue_.push(std::move(e));
}

void cluster::run_until(time_ns t) {
  while (!queue_.empty() && queue_.top().at <= t) {
    event e = queue_.top();
    queue_.pop();
    now_ = std::max(now_, e.at);
    dispatch(e);
  }
  now_ = std::max(now_, t);
}

bool cluster::run_until(const std::function<bool()>& done, time_ns limit) {
  while (!done()) {
    if (queue_.empty() || queue_.top().at > limit) {
      now_ = std::max(now_, limit);
      return done();
    }
    event e = queue_.top();
    queue_.pop();
    now_ = std::max(now_, e.at);
    dispatch(e);
  }
  return true;
}

void cluster::dispatch(const event& e) {
  replica& r = replicas_.at(e.to);
  if (!r.n)
    return; // crashed: messages and timers are lost
  if (e.msg) {
    const node_id from = sender(*e.msg);
    if (!connected(from, e.to))
      return; // the partition began while it was in flight
    ++events_;
    ++delivered[std::string(message_name(*e.msg))];
    if (trace)
      trace_lines.push_back(std::to_string(now_) + " " + std::to_string(from) + "->" +
                            std::to_string(e.to) + " " +
                            std::string(message_name(*e.msg)) + " t" +
                            std::to_string(term_of(*e.msg)));
    handle(e.to, r.n->step(*e.msg, now_));
  } else {
    if (e.gen != r.timer_gen)
      return; // superseded
    ++events_;
    r.timer_at = -1;
    if (trace)
      trace_lines.push_back(std::to_string(now_) + " tick " + std::to_string(e.to) +
                            " (" + std::string(to_string(r.n->role())) + " t" +
                            std::to_string(r.n->term()) + ")");
    handle(e.to, r.n->tick(now_));
  }
}

bool cluster::connected(node_id a, node_id b) const {
  if (blocked_.contains({a, b}))
    return false;
  if (group_.empty())
    return true;
  auto ga = group_.find(a), gb = group_.find(b);
  return ga != group_.end() && gb != group_.end() && ga->second == gb->second;
}

void cluster::send(const message& m) {
  const node_id from = sender(m), to = receiver(m);
  if (!replicas_.contains(to) || !connected(from, to) || rng_.bernoulli(net.loss))
    return;
  const int copies = rng_.bernoulli(net.duplicate) ? 2 : 1;
  for (int c = 0; c < copies; ++c)
    schedule(event{now_ + rng_.uniform_int(net.min_delay, net.max_delay), 0, to, m, 0});
}

// -- outputs ------------------------------------------------------------------

void cluster::persist(replica& r, const output& out) {
  if (out.truncate_from) {
    ++truncations;
    const index_t base = r.disk_snap.meta.last_index;
    if (*out.truncate_from <= base)
      r.disk_log.clear();
    else if (*out.truncate_from - base - 1 < r.disk_log.size())
      r.disk_log.resize(*out.truncate_from - base - 1);
  }
  for (const log_entry& e : out.appended) {
    const index_t expected = r.disk_snap.meta.last_index + r.disk_log.size() + 1;
    if (e.index != expected)
      throw std::logic_error("persist: entry " + std::to_string(e.index) +
                             " appended at " + std::to_string(expected));
    r.disk_log.push_back(e);
  }
  if (out.persist_state)
    r.disk_state = *out.persist_state;
  if (out.installed_snapshot) {
    const index_t last = out.installed_snapshot->meta.last_index;
    while (!r.disk_log.empty() && r.disk_log.front().index <= last)
      r.disk_log.pop_front();
    r.disk_snap = *out.installed_snapshot;
  }
}

void cluster::apply(replica& r, const output& out) {
  if (out.installed_snapshot) {
    r.machine = decode_machine(out.installed_snapshot->data);
    r.machine_applied = out.installed_snapshot->meta.last_index;
    checker.observe_restore(r.id, r.machine_applied);
  }
  checker.observe_applied(r.id, out.committed);
  for (const log_entry& e : out.committed) {
    if (e.kind == entry_kind::command)
      r.machine[e.index] = e.data;
    r.machine_applied = e.index;
    auto p = pending_.find({r.id, e.index});
    if (p != pending_.end()) {
      if (p->second.first == e.term && p->second.second == e.data)
        acked_[e.index] = e.data;
      pending_.erase(p);
    }
  }
}

void cluster::handle(node_id id, output out) {
  replica& r = replicas_.at(id);
  persist(r, out);
  const node& n = *r.n;
  if (r.disk_snap.meta.last_index + r.disk_log.size() != n.last_index() ||
      r.disk_state != n.current_hard_state() ||
      (!r.disk_log.empty() && r.disk_log.back().term != n.last_term()))
    throw std::logic_error("node " + std::to_string(id) + ": disk and memory differ");
  for (const message& m : out.sends)
    send(m);
  apply(r, out);
  if (compact_every > 0 && r.n->applied_index() >= r.n->snapshot_index() + compact_every)
    compact(id);
  if (out.wake_at != r.timer_at) {
    r.timer_at = out.wake_at;
    schedule(event{out.wake_at, 0, id, std::nullopt, ++r.timer_gen});
  }
  observe_all();
}

void cluster::observe_all() {
  for (auto& [id, r] : replicas_)
    if (r.n)
      checker.observe(*r.n);
}

raft_error cluster::compact(node_id id) {
  replica& r = replicas_.at(id);
  const index_t upto = r.n->applied_index();
  const raft_error e = r.n->compact(upto, encode_machine(r.machine));
  if (e == raft_error::ok) {
    r.disk_snap = r.n->last_snapshot();
    while (!r.disk_log.empty() && r.disk_log.front().index <= upto)
      r.disk_log.pop_front();
  }
  return e;
}

// -- faults -------------------------------------------------------------------

void cluster::crash(node_id id) {
  replica& r = replicas_.at(id);
  r.n.reset();
  ++r.timer_gen;
  r.timer_at = -1;
  std::erase_if(pending_, [&](const auto& p) { return p.first.first == id; });
}

void cluster::restart(node_id id) {
  replica& r = replicas_.at(id);
  if (r.n)
    return;
  ++r.incarnation;
  r.n.emplace(make_node(r));
  r.machine = decode_machine(r.disk_snap.data);
  r.machine_applied = r.disk_snap.meta.last_index;
  checker.observe_restart(id);
  checker.observe_restore(id, r.machine_applied);
  r.timer_at = r.n->wake_at();
  schedule(event{r.timer_at, 0, id, std::nullopt, ++r.timer_gen});
  observe_all();
}

void cluster::partition(const std::vector<std::vector<node_id>>& groups) {
  group_.clear();
  for (std::size_t g = 0; g < groups.size(); ++g)
    for (node_id id : groups[g])
      group_[id] = static_cast<int>(g);
}

void cluster::heal() {
  group_.clear();
  blocked_.clear();
}

// -- clients --------------------------------------------------------------------

node::proposal cluster::propose(node_id to, std::string command) {
  if (!up(to)) {
    node::proposal down;
    down.error = raft_error::not_leader;
    return down;
  }
  node::proposal p = get(to).propose(command);
  if (p.error == raft_error::not_leader && p.leader_hint != no_node &&
      up(p.leader_hint) && connected(to, p.leader_hint)) {
    to = p.leader_hint;
    p = get(to).propose(command);
  }
  if (p.error == raft_error::ok) {
    pending_[{to, p.index}] = {p.term, command};
    handle(to, std::move(p.out));
  }
  return p;
}

node::proposal cluster::change_config(node_id id, bool add) {
  return through_leader(
      [&](node& l) { return add ? l.add_voter(id) : l.remove_voter(id); });
}

node::proposal cluster::transfer(node_id to) {
  return through_leader([&](node& l) { return l.transfer_leadership(to); });
}

node::proposal cluster::through_leader(const std::function<node::proposal(node&)>& call) {
  node* l = leader();
  if (!l) {
    node::proposal none;
    none.error = raft_error::not_leader;
    return none;
  }
  node::proposal p = call(*l);
  if (p.error == raft_error::ok)
    handle(l->id(), std::move(p.out));
  return p;
}

} // namespace marketsim::consensus::raft::sim
