#pragma once

/// A deterministic simulation of a Raft cluster for tests: the nodes, a
/// simulated network (per-message delay, loss, duplication, reordering by
/// random delays, partitions), crashes that lose volatile state (the "disk",
/// hard state + log + snapshot, is kept here as the storage would keep it),
/// restarts, clients, and a virtual clock that jumps to the next event. The
/// invariants checker sees every node after every step.

#include "consensus/raft/raft.hpp"
#include "consensus/raft/raft_invariants.hpp"

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <vector>

namespace marketsim::consensus::raft::sim {

inline constexpr time_ns ms = 1'000'000;

struct network_params {
  time_ns min_delay = 1 * ms;
  time_ns max_delay = 10 * ms;
  double loss = 0;      ///< probability a message is dropped
  double duplicate = 0; ///< probability a message is delivered twice
};

/// What one replica is: its node (none while crashed), its disk and its
/// state machine (the applied commands by index).
struct replica {
  node_id id = no_node;
  bool founding = true; ///< false: joins later (empty bootstrap config)
  std::optional<node> n;
  hard_state disk_state;
  snapshot disk_snap;
  std::deque<log_entry> disk_log;
  std::map<index_t, std::string> machine;
  index_t machine_applied = 0;
  int incarnation = 0;
  std::uint64_t timer_gen = 0;
  time_ns timer_at = -1;
};

class cluster {
public:
  /// `founders` form the initial config; `joiners` start outside it.
  cluster(std::vector<node_id> founders, std::vector<node_id> joiners, raft_params params,
          std::uint64_t seed);

  // -- time -----------------------------------------------------------------
  time_ns now() const { return now_; }
  /// Processes events up to and including time `t`; the clock ends at `t`.
  void run_until(time_ns t);
  void run_for(time_ns d) { run_until(now_ + d); }
  /// Runs until `done()` holds (checked after every event) or `limit`.
  bool run_until(const std::function<bool()>& done, time_ns limit);
  std::size_t events() const { return events_; }
  /// Messages delivered, by kind (what a run exercised).
  std::map<std::string, std::size_t> delivered;
  std::size_t truncations = 0; ///< outputs that truncated a log

  // -- faults -------------------------------------------------------------
  network_params net;
  void crash(node_id id);
  void restart(node_id id);
  /// Nodes in different groups cannot talk; nodes in no group are isolated.
  void partition(const std::vector<std::vector<node_id>>& groups);
  void heal();
  /// Drop every message from `a` to `b` (one direction) until heal().
  void block(node_id a, node_id b) { blocked_.insert({a, b}); }
  bool connected(node_id a, node_id b) const;

  // -- clients --------------------------------------------------------------
  /// A client's request: sent to `to`, redirected once to the hint it gets.
  node::proposal propose(node_id to, std::string command);
  /// Membership changes through the current leader.
  node::proposal add_voter(node_id id) { return change_config(id, true); }
  node::proposal remove_voter(node_id id) { return change_config(id, false); }
  node::proposal change_config(node_id id, bool add);
  /// The current leader hands over to `to`.
  node::proposal transfer(node_id to);
  /// Commands committed and reported to their client: index -> command.
  const std::map<index_t, std::string>& acked() const { return acked_; }

  // -- state ----------------------------------------------------------------
  replica& at(node_id id) { return replicas_.at(id); }
  node& get(node_id id) { return *replicas_.at(id).n; }
  bool up(node_id id) const { return replicas_.at(id).n.has_value(); }
  std::vector<node_id> ids() const;
  /// The live leader of the highest term, if any.
  node* leader();
  /// Compact a node's log up to its applied index with its state machine.
  raft_error compact(node_id id);
  /// Compact automatically when a node has applied this many entries past
  /// its snapshot (0: never).
  index_t compact_every = 0;

  invariant_checker checker;
  /// Appends the trace of the last events (for failure reports).
  bool trace = false;
  std::vector<std::string> trace_lines;

  /// Hand an output of `id` to the "storage", the network and the state machine.
  void handle(node_id id, output out);

private:
  struct event {
    time_ns at;
    std::uint64_t seq;
    node_id to;
    std::optional<message> msg; ///< none: a timer
    std::uint64_t gen = 0;
    bool operator>(const event& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };

  void schedule(event e);
  void dispatch(const event& e);
  void send(const message& m);
  void persist(replica& r, const output& out);
  void apply(replica& r, const output& out);
  void observe_all();
  node::proposal through_leader(const std::function<node::proposal(node&)>& call);
  node make_node(replica& r);

  raft_params params_;
  std::uint64_t seed_;
  actors::random_stream rng_;
  cluster_config founders_;
  std::map<node_id, replica> replicas_;
  std::priority_queue<event, std::vector<event>, std::greater<>> queue_;
  std::uint64_t seq_ = 0;
  std::size_t events_ = 0;
  time_ns now_ = 0;
  std::map<node_id, int> group_; ///< partition group per node; empty: healed
  std::set<std::pair<node_id, node_id>> blocked_;
  std::map<std::pair<node_id, index_t>, std::pair<term_t, std::string>> pending_;
  std::map<index_t, std::string> acked_;
};

/// The state machine's snapshot encoding: "index:length:bytes" repeated.
std::string encode_machine(const std::map<index_t, std::string>& m);
std::map<index_t, std::string> decode_machine(const std::string& s);

} // namespace marketsim::consensus::raft::sim
