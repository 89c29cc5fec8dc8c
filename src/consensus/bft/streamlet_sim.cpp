#include "consensus/bft/streamlet_sim.hpp"

#include "actors/random.hpp"
#include "consensus/bft/streamlet_coins.hpp"

#include <algorithm>
#include <queue>
#include <sstream>

namespace marketsim::consensus::bft::streamlet {

namespace {

/// The run's random stream (actors/random.hpp: specified bit for bit, the
/// same on every standard library).
struct rng {
  actors::random_stream stream;
  std::uint64_t next() { return stream(); }
  /// Uniform in [0, bound] (inclusive); the modulo bias is irrelevant here.
  time_ns upto(time_ns bound) {
    return bound <= 0
               ? 0
               : static_cast<time_ns>(next() % static_cast<std::uint64_t>(bound + 1));
  }
};

struct endpoint {
  std::string name;
  validator_id id = 0;
  int side = 0;
  bool honest = true;
  std::unique_ptr<streamlet_core> core;
  std::unique_ptr<behaviour> policy;
  std::uint64_t finalized_at_gst = 0;
  std::uint64_t finalized_txs = 0;
  std::vector<std::shared_ptr<const block>> finalized_blocks;
};

struct event {
  time_ns at = 0;
  std::uint64_t seq = 0;
  bool tick = false; ///< tick every endpoint; else deliver `env` to `dest`
  std::size_t dest = 0;
  envelope env;
};

struct later {
  bool operator()(const event& a, const event& b) const {
    return a.at != b.at ? a.at > b.at : a.seq > b.seq;
  }
};

class simulation {
public:
  explicit simulation(const sim_params& p)
      : p_(p), rng_{actors::random_stream(
                   actors::derive_seed(p.seed, 0x5354524d /* "STRM" */))},
        issuer_(crypto::key_pair::derive(p.seed, 1'000'000)),
        heal_(p.heal >= 0 ? p.heal : p.gst),
        tick_(p.tick_interval > 0 ? p.tick_interval : p.protocol.epoch_duration / 4) {
    setup();
  }

  sim_result run();

private:
  void setup();
  void add_endpoint(std::string name, validator_id id, int side, bool honest,
                    std::unique_ptr<behaviour> policy);
  void submit_transactions(epoch_t epoch);
  void handle(std::size_t from, step_result&& r, time_ns now);
  void route(std::size_t from, const envelope& e, time_ns now);
  time_ns arrival(std::size_t from, std::size_t to, time_ns now);
  bool cut_off(std::size_t ep, time_ns t) const;
  void push(event ev) {
    ev.seq = seq_++;
    queue_.push(std::move(ev));
  }

  sim_params p_;
  rng rng_;
  crypto::key_pair issuer_;
  time_ns heal_;
  time_ns tick_;
  std::vector<crypto::key_pair> keys_;
  std::vector<crypto::public_key> roster_;
  std::vector<endpoint> eps_;
  std::priority_queue<event, std::vector<event>, later> queue_;
  std::uint64_t seq_ = 0;
  std::uint64_t next_coin_ = 1;
  sim_result result_;
  double latency_ns_sum_ = 0;
  double latency_epochs_sum_ = 0;
  std::uint64_t latency_count_ = 0;
};

void simulation::setup() {
  const auto n = p_.protocol.n;
  for (validator_id i = 0; i < n; ++i) {
    keys_.push_back(crypto::key_pair::derive(p_.seed, i));
    roster_.push_back(keys_.back().public_part());
  }
  std::uint32_t honest_count = n - static_cast<std::uint32_t>(p_.byzantine.size());
  std::uint32_t honest_seen = 0;
  for (validator_id i = 0; i < n; ++i) {
    std::string name(1, 'v'); // (not "v" + ...: GCC 12 warns falsely, -Wrestrict)
    name += std::to_string(i);
    auto byz = p_.byzantine.find(i);
    if (byz == p_.byzantine.end()) {
      // Twins: honest nodes split in two halves; else a random side.
      int side = p_.twins ? (honest_seen++ < honest_count / 2 ? 0 : 1)
                          : static_cast<int>(rng_.next() & 1);
      add_endpoint(name, i, side, true, make_behaviour(behaviour_kind::honest, {}));
    } else if (p_.twins) {
      add_endpoint(name + "/twin-a", i, 0, false,
                   make_behaviour(behaviour_kind::honest, {}));
      add_endpoint(name + "/twin-b", i, 1, false,
                   make_behaviour(behaviour_kind::honest, {}));
    } else {
      behaviour_params bp;
      bp.crash_at = rng_.upto(p_.duration / 2);
      bp.issuer = issuer_;
      add_endpoint(name + "/" + std::string(to_string(byz->second)), i,
                   static_cast<int>(rng_.next() & 1), false,
                   make_behaviour(byz->second, bp));
    }
  }
}

void simulation::add_endpoint(std::string name, validator_id id, int side, bool honest,
                              std::unique_ptr<behaviour> policy) {
  endpoint ep;
  ep.name = std::move(name);
  ep.id = id;
  ep.side = side;
  ep.honest = honest;
  ep.core = std::make_unique<streamlet_core>(
      p_.protocol, id, keys_[id], roster_,
      p_.tx_bytes == 0 ? coin_rules(issuer_.public_part()) : payload_check{});
  ep.policy = std::move(policy);
  eps_.push_back(std::move(ep));
}

void simulation::submit_transactions(epoch_t epoch) {
  for (std::uint32_t i = 0; i < p_.txs_per_epoch; ++i) {
    std::string tx;
    if (p_.tx_bytes == 0) {
      tx = encode_transfer(issuer_, next_coin_++, epoch);
    } else {
      tx.assign(p_.tx_bytes, 'x');
      auto id = std::to_string(next_coin_++);
      tx.replace(0, std::min(tx.size(), id.size()), id);
    }
    for (auto& ep : eps_)
      ep.core->submit(tx);
  }
}

time_ns simulation::arrival(std::size_t from, std::size_t to, time_ns now) {
  if (eps_[from].side != eps_[to].side && now < heal_)
    return heal_ + rng_.upto(p_.delta);
  if (now < p_.gst)
    return std::min(now + rng_.upto(p_.pre_gst_max_delay), p_.gst + p_.delta);
  return now + rng_.upto(p_.delta);
}

bool simulation::cut_off(std::size_t ep, time_ns t) const {
  return std::any_of(p_.outages.begin(), p_.outages.end(), [&](const outage& o) {
    return o.who == eps_[ep].id && t >= o.from && t < o.until;
  });
}

void simulation::route(std::size_t from, const envelope& e, time_ns now) {
  const auto sender = eps_[from].id;
  if (cut_off(from, now))
    return;
  for (std::size_t d = 0; d < eps_.size(); ++d) {
    if (eps_[d].id == sender || (e.to != broadcast && eps_[d].id != e.to))
      continue;
    auto at = arrival(from, d, now);
    if (at > p_.duration || cut_off(d, now) || cut_off(d, at))
      continue; // would arrive after the run, or is lost
    event ev;
    ev.at = at;
    ev.dest = d;
    ev.env = e;
    push(std::move(ev));
  }
}

void simulation::handle(std::size_t from, step_result&& r, time_ns now) {
  auto& ep = eps_[from];
  for (const auto& b : r.finalized) {
    ep.finalized_txs += b->txs.size();
    if (p_.keep_blocks)
      ep.finalized_blocks.push_back(b);
    if (ep.honest) {
      latency_ns_sum_ += static_cast<double>(now - epoch_start(p_.protocol, b->epoch));
      latency_epochs_sum_ += static_cast<double>(epoch_at(p_.protocol, now) - b->epoch);
      ++latency_count_;
    }
  }
  if (ep.honest) {
    for (auto& ev : r.misbehaviour) {
      result_.evidence_verifies =
          result_.evidence_verifies && verify_evidence(ev, p_.protocol, roster_);
      result_.misbehaviour.push_back(std::move(ev));
    }
    for (const auto& rej : r.rejected)
      result_.rejected_bad_signature += rej.reason == reject_reason::bad_signature;
  }
  for (const auto& s : r.sends)
    route(from, s, now);
}

sim_result simulation::run() {
  push({0, 0, true, 0, {}});
  bool gst_seen = false;
  while (!queue_.empty() && queue_.top().at <= p_.duration) {
    auto ev = queue_.top();
    queue_.pop();
    if (!gst_seen && ev.at >= p_.gst) {
      gst_seen = true;
      for (auto& ep : eps_)
        ep.finalized_at_gst = ep.core->finalized().size();
    }
    if (ev.tick) {
      if (ev.at % p_.protocol.epoch_duration == 0)
        submit_transactions(epoch_at(p_.protocol, ev.at));
      for (std::size_t i = 0; i < eps_.size(); ++i)
        handle(i, eps_[i].policy->on_tick(*eps_[i].core, ev.at), ev.at);
      push({ev.at + tick_, 0, true, 0, {}});
      continue;
    }
    ++result_.messages;
    auto& ep = eps_[ev.dest];
    handle(ev.dest, ep.policy->on_receive(*ep.core, ev.env, ev.at), ev.at);
  }
  std::vector<std::pair<std::string, std::vector<hash256>>> honest_chains;
  for (auto& ep : eps_) {
    result_.nodes.push_back({ep.name, ep.id, ep.honest, ep.core->finalized(),
                             std::move(ep.finalized_blocks), ep.finalized_at_gst,
                             ep.finalized_txs, ep.core->stats()});
    if (ep.honest)
      honest_chains.emplace_back(ep.name, ep.core->finalized());
  }
  result_.safety = check_finalized_prefixes(honest_chains);
  if (latency_count_ > 0) {
    result_.mean_latency_ns = latency_ns_sum_ / static_cast<double>(latency_count_);
    result_.mean_latency_epochs =
        latency_epochs_sum_ / static_cast<double>(latency_count_);
  }
  return std::move(result_);
}

} // namespace

bool sim_result::live(std::uint64_t k) const {
  return std::all_of(nodes.begin(), nodes.end(), [k](const sim_node_report& n) {
    return !n.honest || n.finalized.size() >= n.finalized_at_gst + k;
  });
}

sim_result run_simulation(const sim_params& p) {
  return simulation(p).run();
}

std::string describe(const sim_params& p) {
  std::ostringstream os;
  os << "seed=" << p.seed << " n=" << p.protocol.n << " byzantine={";
  for (const auto& [id, kind] : p.byzantine)
    os << " v" << id << ":" << to_string(kind);
  os << " }" << (p.twins ? " twins" : "")
     << " leader=" << (p.protocol.leader == leader_rule::hash ? "hash" : "round_robin")
     << " gst=" << p.gst << " heal=" << p.heal << " delta=" << p.delta
     << " pre_gst_max_delay=" << p.pre_gst_max_delay << " duration=" << p.duration;
  for (const auto& o : p.outages)
    os << " outage=v" << o.who << "@[" << o.from << "," << o.until << ")";
  if (!p.protocol.sync)
    os << " sync=off";
  return os.str();
}

} // namespace marketsim::consensus::bft::streamlet
