#include "app/settlement.hpp"

#include "actors/consensus_messages.hpp"
#include "actors/interfaces.hpp"
#include "actors/runtime.hpp"
#include "actors/runtime_ask.hpp"
#include "app/run.hpp"
#include "consensus/raft/client.hpp"
#include "consensus/raft/settlement_ledger.hpp"
#include "consensus/raft/state_digest.hpp"
#include "consensus/raft/validator.hpp"

#include <caf/all.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <stdexcept>

namespace marketsim::app {

namespace raft = consensus::raft;
using namespace std::chrono_literals;

namespace {

using crash_atom = caf::atom_constant<caf::atom("crashlead")>;
using restart_atom = caf::atom_constant<caf::atom("restartv")>;

std::int64_t clock_ns(caf::actor_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

/// What the chaos actor and the session share: the validators' current
/// handles, and what happened to them. Guarded: in real time the chaos
/// actor runs on a worker thread.
struct group {
  std::mutex mutex;
  std::vector<std::uint32_t> ids;
  std::map<std::uint32_t, caf::actor> handles;
  std::optional<std::uint32_t> crashed;
  std::int64_t crash_at = -1; ///< actor clock, ns
  bool restarted = false;
};

/// Introduces every validator to the others, and the client to all of them.
void introduce(group& g, const caf::actor& client) {
  actors::raft_peers all;
  for (auto& [id, h] : g.handles) {
    all.ids.push_back(id);
    all.handles.push_back(h);
  }
  for (auto& [id, h] : g.handles)
    caf::anon_send(h, all);
  if (client)
    caf::anon_send(client, all);
}

struct chaos_config {
  std::shared_ptr<group> validators;
  caf::actor client;
  std::optional<std::chrono::nanoseconds> restart_after;
  std::function<caf::actor(std::uint32_t)> respawn;
};

/// At `crash_atom`, asks every validator for its status and kills the first
/// that says it leads; at `restart_atom`, spawns it again.
caf::behavior chaos(caf::event_based_actor* self, chaos_config cfg) {
  return {
      [self, cfg](crash_atom) {
        std::vector<caf::actor> all;
        {
          std::lock_guard<std::mutex> lock{cfg.validators->mutex};
          for (auto& [id, h] : cfg.validators->handles)
            all.push_back(h);
        }
        for (auto& h : all)
          self->send(h, actors::raft_status_request{});
      },
      [self, cfg](const actors::raft_status& s) {
        auto& g = *cfg.validators;
        std::lock_guard<std::mutex> lock{g.mutex};
        if (g.crashed || s.role != static_cast<std::uint8_t>(raft::node_role::leader))
          return;
        g.crashed = s.id;
        g.crash_at = clock_ns(self->clock().now());
        spdlog::info("settlement: crashing the leader, validator {} (term {})", s.id, s.term);
        self->send_exit(g.handles.at(s.id), caf::exit_reason::kill);
        if (cfg.restart_after)
          self->delayed_send(self, *cfg.restart_after, restart_atom::value);
      },
      [self, cfg](restart_atom) {
        auto& g = *cfg.validators;
        std::lock_guard<std::mutex> lock{g.mutex};
        if (!g.crashed)
          return;
        spdlog::info("settlement: restarting validator {}", *g.crashed);
        g.handles[*g.crashed] = cfg.respawn(*g.crashed);
        g.restarted = true;
        introduce(g, cfg.client);
      },
  };
}

/// A printed trade as the ledger settles it: the aggressor is the taker.
raft::trade_record settled_trade(market::symbol_id symbol, market::price_t price,
                                 market::qty_t qty, market::side aggressor,
                                 market::owner_id maker, market::owner_id taker) {
  const bool taker_buys = aggressor == market::side::buy;
  return {symbol, price, qty, taker_buys ? taker : maker, taker_buys ? maker : taker};
}

/// Turns every trade the shards print into a settlement command for the
/// client; counts what it submitted.
struct feeder_state {
  static inline const char* name = "marketsim.settlement_feeder";
  caf::actor client;
  std::shared_ptr<std::atomic<std::uint64_t>> submitted;
};

actors::md_listener_actor::behavior_type
feeder(actors::md_listener_actor::stateful_pointer<feeder_state> self, caf::actor client,
       std::shared_ptr<std::atomic<std::uint64_t>> submitted) {
  self->state.client = std::move(client);
  self->state.submitted = std::move(submitted);
  return {
      [self](const actors::trade_print& t) {
        const auto r = settled_trade(t.symbol, t.price, t.qty, t.aggressor, t.maker_owner,
                                     t.taker_owner);
        auto n = self->state.submitted->fetch_add(1, std::memory_order_relaxed) + 1;
        // Anonymous: the client then keeps its answer (its statistics count
        // it) instead of sending it to a market-data listener.
        caf::anon_send(self->state.client,
                   actors::raft_submit{n, raft::encode(raft::settlement_command{
                                              std::vector<raft::trade_record>{r}})});
      },
      [](const actors::l1_update&) {},
      [](const actors::l2_snapshot&) {},
  };
}

} // namespace

struct settlement::impl {
  actors::runtime& rt;
  settlement_config cfg;
  std::vector<std::string> symbols; ///< names by symbol id
  std::shared_ptr<group> validators = std::make_shared<group>();
  caf::actor client;
  caf::actor feeder_actor;
  caf::actor chaos_actor;
  /// The feeder's answers from the client arrive at this sink.
  std::shared_ptr<std::atomic<std::uint64_t>> submitted =
      std::make_shared<std::atomic<std::uint64_t>>(0);

  impl(actors::runtime& r, settlement_config c) : rt(r), cfg(std::move(c)) {}
};

settlement::settlement(actors::runtime& rt, const settlement_config& cfg, std::uint64_t seed,
                       const std::vector<caf::actor>& shards, std::string persist_dir,
                       std::vector<std::string> symbols)
  : impl_(std::make_unique<impl>(rt, cfg)) {
  auto& sys = rt.system();
  impl_->symbols = std::move(symbols);
  raft::raft_params rp;
  rp.election_timeout_min = cfg.election_timeout_min.count();
  rp.election_timeout_max = cfg.election_timeout_max.count();
  rp.heartbeat_interval = cfg.heartbeat.count();
  raft::cluster_config voters;
  for (std::uint32_t i = 1; i <= cfg.validators; ++i)
    voters.voters.push_back(i);
  if (cfg.persist) {
    std::error_code ec;
    std::filesystem::remove_all(persist_dir, ec); // a fresh run starts from empty logs
  }
  auto make = [&sys, rp, voters, seed, cfg, persist_dir](std::uint32_t id) {
    raft::validator_params p;
    p.id = id;
    p.voters = voters;
    p.raft = rp;
    p.seed = actors::derive_seed(seed, 0x5E77'0000'0000'0000ull + id);
    if (cfg.persist)
      p.data_dir = (std::filesystem::path{persist_dir} / fmt::format("validator-{}", id)).string();
    p.snapshot_every = cfg.snapshot_every;
    p.machine = raft::ledger_machine();
    return raft::spawn_validator(sys, std::move(p));
  };
  auto& g = *impl_->validators;
  for (auto id : voters.voters) {
    g.ids.push_back(id);
    g.handles[id] = make(id);
  }
  raft::client_params cp;
  for (auto& [id, h] : g.handles) {
    cp.ids.push_back(id);
    cp.handles.push_back(h);
  }
  cp.retry_after = cfg.election_timeout_max; // a dead leader: try the next one soon
  cp.max_batch = cfg.batch;
  cp.batch_window = cfg.batch_window;
  cp.max_attempts = 1000; // until the end of the run, in practice
  impl_->client = raft::spawn_raft_client(sys, std::move(cp));
  introduce(g, impl_->client);

  impl_->feeder_actor =
      caf::actor_cast<caf::actor>(sys.spawn(feeder, impl_->client, impl_->submitted));
  for (const auto& shard : shards)
    caf::anon_send(caf::actor_cast<actors::exchange_shard_actor>(shard),
                   actors::md_subscribe{caf::actor_cast<actors::md_listener_actor>(
                                            impl_->feeder_actor),
                                        {}, true, false, 0, 0});

  if (cfg.crash_leader_at) {
    chaos_config cc{impl_->validators, impl_->client, cfg.restart_after, make};
    impl_->chaos_actor = sys.spawn(chaos, std::move(cc));
    caf::delayed_anon_send(impl_->chaos_actor, *cfg.crash_leader_at, crash_atom::value);
  }
}

settlement::~settlement() = default;

std::vector<caf::actor> settlement::actors() const {
  std::vector<caf::actor> out{impl_->client, impl_->feeder_actor};
  if (impl_->chaos_actor)
    out.push_back(impl_->chaos_actor);
  std::lock_guard<std::mutex> lock{impl_->validators->mutex};
  for (auto& [id, h] : impl_->validators->handles)
    if (!impl_->validators->crashed || id != *impl_->validators->crashed ||
        impl_->validators->restarted)
      out.push_back(h);
  return out;
}

settlement_result settlement::settle(const std::vector<trade_record>& tape,
                                     std::chrono::nanoseconds max_wait) {
  auto& rt = impl_->rt;
  settlement_result r;
  r.validators = impl_->cfg.validators;
  auto client_stats = [&] {
    auto answers = actors::ask_all<actors::raft_client_stats>(
        rt, std::vector<caf::actor>{impl_->client}, actors::raft_client_stats_request{});
    return answers.front() ? *answers.front() : actors::raft_client_stats{};
  };
  // Every trade the feeder submitted gets an answer; in virtual time the
  // clock moves in small steps until then.
  const auto deadline = rt.now() + max_wait.count();
  actors::raft_client_stats cs;
  for (;;) {
    cs = client_stats();
    const auto answered = cs.committed + cs.rejected + cs.gave_up;
    if (answered >= impl_->submitted->load() && cs.requests >= impl_->submitted->load()) {
      r.settled = true;
      break;
    }
    if (rt.now() >= deadline)
      break;
    rt.run_for(std::min<std::int64_t>(50'000'000, deadline - rt.now()));
  }
  r.submitted = impl_->submitted->load();
  r.committed = cs.committed;
  r.rejected = cs.rejected;
  r.gave_up = cs.gave_up + (cs.requests - std::min(cs.requests, cs.committed + cs.rejected +
                                                                    cs.gave_up));
  r.retries = cs.sends - std::min(cs.sends, cs.requests);
  r.latency_p50_ns = cs.latency_p50_ns;
  r.latency_p90_ns = cs.latency_p90_ns;
  r.latency_p99_ns = cs.latency_p99_ns;
  r.latency_max_ns = cs.latency_max_ns;
  r.longest_gap_ns = cs.longest_gap_ns;
  if (cs.last_commit_ns > cs.first_commit_ns)
    r.committed_per_second = static_cast<double>(cs.committed) * 1e9 /
                             static_cast<double>(cs.last_commit_ns - cs.first_commit_ns);

  // The replicas.
  std::vector<caf::actor> live;
  std::vector<std::uint32_t> live_ids;
  {
    auto& g = *impl_->validators;
    std::lock_guard<std::mutex> lock{g.mutex};
    r.crashed = g.crashed;
    r.restarted = g.restarted;
    const auto start = clock_ns(rt.start_time());
    if (g.crash_at >= 0)
      r.crash_at_ns = g.crash_at - start;
    for (auto& [id, h] : g.handles)
      if (!g.crashed || id != *g.crashed || g.restarted) {
        live.push_back(h);
        live_ids.push_back(id);
      }
  }
  // Let followers learn the last commit index (one heartbeat or two).
  rt.run_for(3 * impl_->cfg.heartbeat.count());
  auto statuses = actors::ask_all<actors::raft_status>(rt, live, actors::raft_status_request{});
  std::vector<actors::raft_status> ok;
  for (auto& s : statuses)
    if (s)
      ok.push_back(*s);
  r.replicas_agree = !ok.empty() && ok.size() == live.size();
  for (const auto& s : ok) {
    if (s.role == static_cast<std::uint8_t>(raft::node_role::leader)) {
      r.new_leader = s.id;
      if (r.crashed && s.became_leader_ns >= 0 && r.crash_at_ns >= 0)
        r.failover_ns = s.became_leader_ns - clock_ns(rt.start_time()) - r.crash_at_ns;
    }
    r.replicas_agree = r.replicas_agree && s.state_hash == ok.front().state_hash &&
                       s.applied_index == ok.front().applied_index;
  }
  if (!ok.empty()) {
    r.state_hash = ok.front().state_hash;
    r.applied_index = ok.front().applied_index;
  }

  // The ledger of the tape itself: the same trades, settled in one go.
  raft::settlement_ledger expected;
  std::vector<raft::trade_record> trades;
  trades.reserve(tape.size());
  std::map<std::string, market::symbol_id> ids;
  for (std::size_t i = 0; i < impl_->symbols.size(); ++i)
    ids[impl_->symbols[i]] = static_cast<market::symbol_id>(i);
  for (const auto& t : tape) {
    trades.push_back(settled_trade(ids.at(t.symbol), t.price, t.qty, t.aggressor,
                                   t.maker_owner, t.taker_owner));
  }
  if (auto why = expected.settle(trades); !why.empty())
    spdlog::warn("settlement: the tape's own ledger refused a trade: {}", why);
  r.tape_hash = raft::to_hex(expected.state_hash());
  r.matches_tape = r.replicas_agree && r.tape_hash == r.state_hash;
  return r;
}

} // namespace marketsim::app
