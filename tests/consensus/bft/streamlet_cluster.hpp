#pragma once

/// A Streamlet test cluster: n cores on a perfect network stepped by hand
/// (NuRaft's fake network): tick, deliver, take nodes down, drop chosen
/// messages. Shared by the core's specifications.

#include "consensus/bft/streamlet.hpp"
#include "consensus/bft/streamlet_checker.hpp"

#include <deque>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace marketsim::test {

using namespace marketsim::consensus::bft::streamlet;

constexpr time_ns epoch_ns = 1'000;

struct cluster {
  /// True: the message `e` does not reach `to` (it is lost).
  using drop_rule = std::function<bool(const envelope& e, validator_id to)>;

  streamlet_params p;
  std::vector<consensus::crypto::key_pair> keys;
  std::vector<consensus::crypto::public_key> roster;
  std::vector<streamlet_core> nodes;
  std::vector<std::vector<std::shared_ptr<const block>>> finalized;
  std::vector<evidence> misbehaviour;
  std::vector<rejection> rejected;
  std::deque<envelope> wire;
  std::vector<envelope> log; ///< everything ever sent

  explicit cluster(std::uint32_t n, bool echo = false, bool sync = true)
      : cluster(defaults(n, echo, sync)) {}

  /// Round robin leaders, epochs of epoch_ns, no echo, sync on.
  static streamlet_params defaults(std::uint32_t n, bool echo = false, bool sync = true) {
    streamlet_params q;
    q.n = n;
    q.epoch_duration = epoch_ns;
    q.leader = leader_rule::round_robin;
    q.echo = echo;
    q.sync = sync;
    return q;
  }

  explicit cluster(streamlet_params params) : p(params) {
    const auto n = p.n;
    for (validator_id i = 0; i < n; ++i) {
      keys.push_back(consensus::crypto::key_pair::derive(99, i));
      roster.push_back(keys.back().public_part());
    }
    for (validator_id i = 0; i < n; ++i)
      nodes.emplace_back(p, i, keys[i], roster);
    finalized.resize(n);
  }

  void take(validator_id at, step_result r) {
    for (auto& b : r.finalized)
      finalized[at].push_back(b);
    for (auto& e : r.misbehaviour)
      misbehaviour.push_back(std::move(e));
    for (auto& x : r.rejected)
      rejected.push_back(x);
    for (auto& s : r.sends) {
      log.push_back(s);
      wire.push_back(std::move(s));
    }
  }

  /// Delivers until quiet; `up[i]` false: node i neither sends nor receives.
  void flush(time_ns now, const std::vector<bool>& up, const drop_rule& drop = {}) {
    while (!wire.empty()) {
      auto e = std::move(wire.front());
      wire.pop_front();
      if (!up[e.from])
        continue;
      for (validator_id d = 0; d < p.n; ++d)
        if (d != e.from && up[d] && (e.to == broadcast || e.to == d) && !(drop && drop(e, d)))
          take(d, nodes[d].receive(e, now));
    }
  }

  /// Ticks the nodes that are up at `now`, then delivers.
  void tick_all(time_ns now, std::vector<bool> up = {}, const drop_rule& drop = {}) {
    if (up.empty())
      up.assign(p.n, true);
    for (validator_id i = 0; i < p.n; ++i)
      if (up[i])
        take(i, nodes[i].tick(now));
    flush(now + 1, up, drop);
  }

  void run_epoch(epoch_t e, std::vector<bool> up = {}, const drop_rule& drop = {}) {
    tick_all(epoch_start(p, e), std::move(up), drop);
  }

  void deliver(validator_id to, const packet& m, validator_id from = 0) {
    take(to, nodes[to].receive({from, to, m}, nodes[to].epoch() > 0
                                                  ? epoch_start(p, nodes[to].epoch()) + 1
                                                  : 0));
  }

  /// The safety checker over the given nodes' finalized chains.
  safety_report safety() const {
    std::vector<std::pair<std::string, std::vector<hash256>>> chains;
    for (validator_id i = 0; i < p.n; ++i) {
      std::string name(1, 'v'); // (not "v" + ...: GCC 12 warns falsely, -Wrestrict)
      name += std::to_string(i);
      chains.emplace_back(std::move(name), nodes[i].finalized());
    }
    return check_finalized_prefixes(chains);
  }
};

} // namespace marketsim::test
