#include "app/settlement.hpp"

#include "actors/consensus_messages.hpp"
#include "actors/interfaces.hpp"
#include "actors/runtime.hpp"
#include "actors/runtime_ask.hpp"
#include "app/run.hpp"
#include "consensus/bft/byzantine.hpp"
#include "consensus/bft/streamlet_trades.hpp"
#include "consensus/bft/streamlet_validator.hpp"
#include "consensus/crypto/signature.hpp"
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
#include <set>
#include <unordered_map>
#include <stdexcept>

namespace marketsim::app {

namespace raft = consensus::raft;
namespace streamlet = consensus::bft::streamlet;
namespace crypto = consensus::crypto;
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

/// Where a feeder hands a trade: its number over the run (1, 2, ...), its
/// shard's own sequence number, the encoded settlement command, and the
/// time (actor clock, ns).
using submit_fn = std::function<void(std::uint64_t n, std::uint64_t shard_seq,
                                     std::string command, std::int64_t now)>;

/// Next to one shard: turns every trade it prints into a settlement command;
/// counts what it submitted.
struct feeder_state {
  static inline const char* name = "marketsim.settlement_feeder";
  submit_fn submit;
  std::shared_ptr<std::atomic<std::uint64_t>> submitted;
};

actors::md_listener_actor::behavior_type
feeder(actors::md_listener_actor::stateful_pointer<feeder_state> self, submit_fn submit,
       std::shared_ptr<std::atomic<std::uint64_t>> submitted) {
  self->state.submit = std::move(submit);
  self->state.submitted = std::move(submitted);
  return {
      [self](const actors::trade_print& t) {
        const auto r = settled_trade(t.symbol, t.price, t.qty, t.aggressor, t.maker_owner,
                                     t.taker_owner);
        auto n = self->state.submitted->fetch_add(1, std::memory_order_relaxed) + 1;
        self->state.submit(
            n, t.seq, raft::encode(raft::settlement_command{std::vector<raft::trade_record>{r}}),
            clock_ns(self->clock().now()));
      },
      [](const actors::l1_update&) {},
      [](const actors::l2_snapshot&) {},
  };
}

// -- Streamlet: shard-signed trade batches as transactions, settled on finalization --

/// The random stream tag of the shards' signing keys: shard i signs with
/// key_pair::derive(derive_seed(seed, shard_key_tag), i).
constexpr std::uint64_t shard_key_tag = 0x5348'4152'444B'4559ull; // "SHARDKEY"

/// A trade (shard, shard's sequence number).
using trade_id = std::pair<std::uint32_t, std::uint64_t>;

/// The command of one trade, as the ledger settles it.
std::string trade_command(const raft::trade_record& t) {
  return raft::encode(raft::settlement_command{std::vector<raft::trade_record>{t}});
}

/// What a Byzantine leader puts in its blocks: a batch of trades no shard
/// executed (shard 0's name, a signature it cannot make), one per epoch,
/// between two owners of the run; and, to settle trades twice, a batch of
/// its chain again: as is in even epochs, and in odd epochs a batch newly
/// signed by the shard it colludes with (`shards`: their keys) that starts
/// at the last trade of the settled one (an overlap of one trade).
streamlet::behaviour_params fake_trades(std::vector<crypto::key_pair> shards) {
  streamlet::behaviour_params p;
  p.fake_txs = [](const streamlet::block& draft, const streamlet::streamlet_core&) {
    const raft::trade_record fake{0, 1, 1000, 1, 2}; // 1000 units at 1 tick
    return std::vector<std::string>{streamlet::encode_forged_trade_batch(
        0, 1'000'000'000 + 2 * draft.epoch, {trade_command(fake), trade_command(fake)},
        draft.epoch)};
  };
  p.respend = [shards = std::move(shards)](
                  const std::string& tx,
                  const streamlet::streamlet_core& core) -> std::optional<std::string> {
    auto b = streamlet::decode_trade_batch(tx);
    if (!b || b.value->shard >= shards.size())
      return std::nullopt;
    if (core.epoch() % 2 == 0)
      return tx;
    const auto last = b.value->first_seq + (b.value->commands.size() - 1);
    return streamlet::encode_trade_batch(shards[b.value->shard], b.value->shard, last,
                                         {b.value->commands.back(), b.value->commands.back()});
  };
  return p;
}

/// When the shard printed each trade (ns on the validators' time base).
struct submit_log {
  std::mutex mutex;
  std::map<trade_id, std::int64_t> at;
};

using batch_trade_atom = caf::atom_constant<caf::atom("btrade")>;
using batch_flush_atom = caf::atom_constant<caf::atom("bflush")>;

struct batcher_config {
  std::uint32_t shard = 0;
  std::optional<crypto::key_pair> key; ///< the shard's (always set)
  std::vector<caf::actor> validators;
  std::shared_ptr<submit_log> log;
  std::int64_t origin = 0; ///< the validators' time base (actor clock, ns)
  std::uint32_t max_trades = 256;
  std::chrono::nanoseconds window{0};
};

/// Next to one shard's feeder: gathers the shard's consecutive trades into
/// a batch, signs it with the shard's key and hands it to every validator's
/// pool (whoever leads next proposes it). A batch leaves when it holds
/// `max_trades`, `window` after its first trade, or when a trade does not
/// follow the batch's last.
struct batcher_state {
  static inline const char* name = "marketsim.settlement_batcher";
  batcher_config cfg;
  std::uint64_t first_seq = 0;
  std::vector<std::string> commands;
  std::uint64_t generation = 0; ///< of the pending batch: a flush timer names it

  void flush() {
    if (commands.empty())
      return;
    actors::streamlet_submit tx{
        {streamlet::encode_trade_batch(*cfg.key, cfg.shard, first_seq, commands)}};
    for (const auto& v : cfg.validators)
      caf::anon_send(v, tx);
    commands.clear();
    ++generation;
  }
};

caf::behavior batcher(caf::stateful_actor<batcher_state>* self, batcher_config cfg) {
  self->state.cfg = std::move(cfg);
  return {
      [self](batch_trade_atom, std::uint64_t seq, std::string& command, std::int64_t now) {
        auto& st = self->state;
        if (!st.commands.empty() && seq != st.first_seq + st.commands.size())
          st.flush();
        {
          std::lock_guard<std::mutex> lock{st.cfg.log->mutex};
          st.cfg.log->at[{st.cfg.shard, seq}] = now - st.cfg.origin;
        }
        if (st.commands.empty()) {
          st.first_seq = seq;
          if (st.cfg.window.count() > 0)
            self->delayed_send(self, st.cfg.window, batch_flush_atom::value, st.generation);
        }
        st.commands.push_back(std::move(command));
        if (st.commands.size() >= st.cfg.max_trades || st.cfg.window.count() == 0)
          st.flush();
      },
      [self](batch_flush_atom, std::uint64_t generation) {
        if (generation == self->state.generation)
          self->state.flush();
      },
  };
}

} // namespace

struct settlement::impl {
  actors::runtime& rt;
  settlement_config cfg;
  std::vector<std::string> symbols; ///< names by symbol id
  std::shared_ptr<group> validators = std::make_shared<group>();
  caf::actor client;
  std::vector<caf::actor> feeders; ///< one per shard
  caf::actor chaos_actor;
  std::shared_ptr<std::atomic<std::uint64_t>> submitted =
      std::make_shared<std::atomic<std::uint64_t>>(0);
  // -- Streamlet
  std::vector<caf::actor> streamlet_validators;
  std::vector<bool> honest; ///< by validator id
  std::shared_ptr<streamlet::group_record> record;
  std::shared_ptr<submit_log> submits = std::make_shared<submit_log>();
  std::vector<crypto::public_key> shard_keys; ///< by shard index
  std::vector<caf::actor> batchers;           ///< by shard index

  void start_raft(const std::vector<caf::actor>& shards, std::uint64_t seed,
                  const std::string& persist_dir);
  void start_streamlet(const std::vector<caf::actor>& shards, std::uint64_t seed);
  /// One feeder per shard, handing its trades to `submit_of(shard index)`.
  void subscribe(const std::vector<caf::actor>& shards,
                 const std::function<submit_fn(std::uint32_t)>& submit_of);
  settlement_result settle_raft(settlement_result r, std::chrono::nanoseconds max_wait);
  settlement_result settle_streamlet(settlement_result r, std::chrono::nanoseconds max_wait);

  impl(actors::runtime& r, settlement_config c) : rt(r), cfg(std::move(c)) {}
};

settlement::settlement(actors::runtime& rt, const settlement_config& cfg, std::uint64_t seed,
                       const std::vector<caf::actor>& shards, std::string persist_dir,
                       std::vector<std::string> symbols)
  : impl_(std::make_unique<impl>(rt, cfg)) {
  impl_->symbols = std::move(symbols);
  if (cfg.protocol == settlement_protocol::streamlet)
    impl_->start_streamlet(shards, seed);
  else
    impl_->start_raft(shards, seed, persist_dir);
}

void settlement::impl::subscribe(const std::vector<caf::actor>& shards,
                                 const std::function<submit_fn(std::uint32_t)>& submit_of) {
  for (std::uint32_t i = 0; i < shards.size(); ++i) {
    feeders.push_back(
        caf::actor_cast<caf::actor>(rt.system().spawn(feeder, submit_of(i), submitted)));
    caf::anon_send(caf::actor_cast<actors::exchange_shard_actor>(shards[i]),
                   actors::md_subscribe{caf::actor_cast<actors::md_listener_actor>(feeders.back()),
                                        {}, true, false, 0, 0});
  }
}

void settlement::impl::start_raft(const std::vector<caf::actor>& shards, std::uint64_t seed,
                                  const std::string& persist_dir) {
  auto& sys = rt.system();
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
  auto make = [&sys, rp, voters, seed, c = cfg, persist_dir](std::uint32_t id) {
    raft::validator_params p;
    p.id = id;
    p.voters = voters;
    p.raft = rp;
    p.seed = actors::derive_seed(seed, 0x5E77'0000'0000'0000ull + id);
    if (c.persist)
      p.data_dir = (std::filesystem::path{persist_dir} / fmt::format("validator-{}", id)).string();
    p.snapshot_every = c.snapshot_every;
    p.machine = raft::ledger_machine();
    return raft::spawn_validator(sys, std::move(p));
  };
  auto& g = *validators;
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
  client = raft::spawn_raft_client(sys, std::move(cp));
  introduce(g, client);

  // Anonymous: the client then keeps its answer (its statistics count it).
  subscribe(shards, [c = client](std::uint32_t) -> submit_fn {
    return [c](std::uint64_t n, std::uint64_t, std::string command, std::int64_t) {
      caf::anon_send(c, actors::raft_submit{n, std::move(command)});
    };
  });

  if (cfg.crash_leader_at) {
    chaos_config cc{validators, client, cfg.restart_after, make};
    chaos_actor = sys.spawn(chaos, std::move(cc));
    caf::delayed_anon_send(chaos_actor, *cfg.crash_leader_at, crash_atom::value);
  }
}

void settlement::impl::start_streamlet(const std::vector<caf::actor>& shards,
                                       std::uint64_t seed) {
  auto& sys = rt.system();
  const auto n = cfg.validators;
  std::vector<streamlet::streamlet_validator_params> params(n);
  std::vector<crypto::key_pair> keys;
  std::vector<crypto::public_key> roster;
  for (std::uint32_t i = 0; i < n; ++i) {
    keys.push_back(crypto::key_pair::derive(seed, i));
    roster.push_back(keys.back().public_part());
  }
  // Each shard's signing key (its feeder signs the trades the shard prints);
  // every validator knows the public halves.
  std::vector<crypto::key_pair> signers;
  for (std::uint32_t i = 0; i < shards.size(); ++i) {
    signers.push_back(crypto::key_pair::derive(actors::derive_seed(seed, shard_key_tag), i));
    shard_keys.push_back(signers.back().public_part());
  }
  record = std::make_shared<streamlet::group_record>();
  const auto origin = clock_ns(rt.start_time());
  honest.assign(n, true);
  for (std::uint32_t i = 0; i < n; ++i) {
    auto& p = params[i];
    p.protocol.n = n;
    p.protocol.epoch_duration = cfg.epoch.count();
    p.protocol.max_block_txs = cfg.max_block_txs;
    p.id = i;
    p.keys = keys[i];
    p.roster = roster;
    p.payload = streamlet::trade_rules(shard_keys);
    if (auto it = cfg.byzantine.find(i); it != cfg.byzantine.end()) {
      p.behaviour = *streamlet::behaviour_from_string(it->second);
      p.behaviour_opts = fake_trades(signers);
      honest[i] = false;
    }
    p.origin_ns = origin;
    p.observer = streamlet::record_into(record);
  }
  streamlet_validators = streamlet::spawn_streamlet_group(sys, std::move(params));
  for (std::uint32_t i = 0; i < shards.size(); ++i)
    batchers.push_back(sys.spawn(batcher, batcher_config{i, signers[i], streamlet_validators,
                                                         submits, origin, cfg.trade_batch,
                                                         cfg.trade_batch_window}));
  subscribe(shards, [&](std::uint32_t shard) -> submit_fn {
    return [b = batchers[shard]](std::uint64_t, std::uint64_t seq, std::string command,
                                 std::int64_t now) {
      caf::anon_send(b, batch_trade_atom::value, seq, std::move(command), now);
    };
  });
}

settlement::~settlement() = default;

std::vector<caf::actor> settlement::actors() const {
  std::vector<caf::actor> out = impl_->feeders;
  out.insert(out.end(), impl_->batchers.begin(), impl_->batchers.end());
  if (impl_->client)
    out.push_back(impl_->client);
  for (const auto& v : impl_->streamlet_validators)
    out.push_back(v);
  if (impl_->chaos_actor)
    out.push_back(impl_->chaos_actor);
  std::lock_guard<std::mutex> lock{impl_->validators->mutex};
  for (auto& [id, h] : impl_->validators->handles)
    if (!impl_->validators->crashed || id != *impl_->validators->crashed ||
        impl_->validators->restarted)
      out.push_back(h);
  return out;
}

settlement_result settlement::impl::settle_raft(settlement_result r,
                                                std::chrono::nanoseconds max_wait) {
  auto client_stats = [&] {
    auto answers = actors::ask_all<actors::raft_client_stats>(
        rt, std::vector<caf::actor>{client}, actors::raft_client_stats_request{});
    return answers.front() ? *answers.front() : actors::raft_client_stats{};
  };
  // Every trade the feeder submitted gets an answer; in virtual time the
  // clock moves in small steps until then.
  const auto deadline = rt.now() + max_wait.count();
  actors::raft_client_stats cs;
  for (;;) {
    cs = client_stats();
    const auto answered = cs.committed + cs.rejected + cs.gave_up;
    if (answered >= submitted->load() && cs.requests >= submitted->load()) {
      r.settled = true;
      break;
    }
    if (rt.now() >= deadline)
      break;
    rt.run_for(std::min<std::int64_t>(50'000'000, deadline - rt.now()));
  }
  r.submitted = submitted->load();
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
    auto& g = *validators;
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
  rt.run_for(3 * cfg.heartbeat.count());
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

  return r;
}

settlement_result settlement::impl::settle_streamlet(settlement_result r,
                                                     std::chrono::nanoseconds max_wait) {
  // Until every honest validator has finalized every submitted trade.
  const auto deadline = rt.now() + max_wait.count();
  const auto n = static_cast<std::uint32_t>(honest.size());
  struct view {
    std::set<trade_id> seqs;
    raft::settlement_ledger ledger;
    std::uint64_t blocks = 0;
    std::uint64_t height = 0;
    std::uint64_t batches = 0; ///< shard-signed ones
  };
  std::vector<view> views;
  std::map<trade_id, std::int64_t> finalized_at; ///< trade -> when the last honest one had it
  // Finalized by an honest validator, though the payload rule forbids it:
  // must stay 0.
  std::uint64_t unsigned_txs = 0, twice = 0;
  // Each distinct batch's signature is checked once, not at every tally
  // (they repeat until everything is settled).
  std::unordered_map<std::string, bool> signed_by_shard;
  auto shard_signed = [&](const std::string& tx, const streamlet::trade_batch& b) {
    auto [it, fresh] = signed_by_shard.emplace(tx, false);
    if (fresh)
      it->second = streamlet::verify_trade_batch(b, shard_keys);
    return it->second;
  };
  auto tally = [&] {
    views.assign(n, view{});
    finalized_at.clear();
    unsigned_txs = twice = 0;
    std::lock_guard<std::mutex> lock{record->mutex};
    for (std::uint32_t v = 0; v < n; ++v) {
      if (!honest[v])
        continue;
      auto it = record->finalized.find(v);
      if (it == record->finalized.end())
        continue;
      for (const auto& f : it->second) {
        ++views[v].blocks;
        views[v].height = std::max(views[v].height, f.blk->height);
        for (const auto& tx : f.blk->txs) {
          // Checked again here, and counted rather than settled: not a
          // shard-signed batch, or trades this chain settled already.
          auto batch = streamlet::decode_trade_batch(tx);
          if (!batch || !shard_signed(tx, *batch.value)) {
            unsigned_txs += batch ? batch.value->commands.size() : 1;
            continue;
          }
          ++views[v].batches;
          for (std::size_t k = 0; k < batch.value->commands.size(); ++k) {
            const trade_id id{batch.value->shard, batch.value->first_seq + k};
            if (!views[v].seqs.insert(id).second) {
              ++twice;
              continue;
            }
            auto decoded = raft::decode_settlement_command(batch.value->commands[k]);
            auto* trades =
                decoded ? std::get_if<std::vector<raft::trade_record>>(&*decoded.value) : nullptr;
            if (trades)
              views[v].ledger.settle(*trades);
            auto& at = finalized_at[id];
            at = std::max(at, f.at);
          }
        }
      }
    }
  };
  for (;;) {
    tally();
    bool all = true;
    for (std::uint32_t v = 0; v < n; ++v)
      all = all && (!honest[v] || views[v].seqs.size() >= submitted->load());
    if (all) {
      r.settled = true;
      break;
    }
    if (rt.now() >= deadline)
      break;
    rt.run_for(std::min<std::int64_t>(cfg.epoch.count(), deadline - rt.now()));
  }
  r.submitted = submitted->load();
  r.unsigned_finalized = unsigned_txs;
  r.finalized_twice = twice;
  std::optional<std::uint64_t> settled_everywhere;
  r.replicas_agree = true;
  std::string first_hash;
  for (std::uint32_t v = 0; v < n; ++v) {
    if (!honest[v])
      continue;
    const auto hash = raft::to_hex(views[v].ledger.state_hash());
    if (first_hash.empty()) {
      first_hash = hash;
      r.batches = views[v].batches;
    }
    r.replicas_agree = r.replicas_agree && hash == first_hash;
    const auto count = views[v].seqs.size();
    settled_everywhere = std::min<std::uint64_t>(settled_everywhere.value_or(count), count);
    r.applied_index = std::max<std::uint64_t>(r.applied_index, views[v].height);
  }
  r.state_hash = first_hash;
  r.committed = settled_everywhere.value_or(0);
  r.gave_up = r.submitted - std::min(r.submitted, r.committed);
  // Finality latency: from the feeder's submission to the last honest
  // validator's finalization of the block holding the trade.
  std::vector<std::int64_t> lat;
  {
    std::lock_guard<std::mutex> lock{submits->mutex};
    for (const auto& [seq, at] : finalized_at)
      if (auto it = submits->at.find(seq); it != submits->at.end())
        lat.push_back(at - it->second);
  }
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double q) {
    return lat.empty() ? 0
                       : lat[std::min(lat.size() - 1,
                                      static_cast<std::size_t>(q * static_cast<double>(lat.size())))];
  };
  r.latency_p50_ns = pct(0.5);
  r.latency_p90_ns = pct(0.9);
  r.latency_p99_ns = pct(0.99);
  r.latency_max_ns = lat.empty() ? 0 : lat.back();
  if (!finalized_at.empty()) {
    std::int64_t first = INT64_MAX, last = 0;
    for (const auto& [seq, at] : finalized_at) {
      first = std::min(first, at);
      last = std::max(last, at);
    }
    if (last > first)
      r.committed_per_second = static_cast<double>(r.committed) * 1e9 / static_cast<double>(last - first);
  }
  {
    std::lock_guard<std::mutex> lock{record->mutex};
    std::set<std::pair<std::uint32_t, std::string>> seen;
    for (const auto& e : record->evidence)
      if (honest[e.reporter] && seen.emplace(e.ev.culprit, std::string{streamlet::to_string(e.ev.kind)}).second)
        r.misbehaviour.push_back(fmt::format("validator {}: {} (epoch {}, reported by {})",
                                             e.ev.culprit, streamlet::to_string(e.ev.kind),
                                             e.ev.epoch, e.reporter));
  }
  return r;
}

settlement_result settlement::settle(const std::vector<trade_record>& tape,
                                     std::chrono::nanoseconds max_wait) {
  settlement_result r;
  r.protocol = impl_->cfg.protocol == settlement_protocol::streamlet ? "streamlet" : "raft";
  r.validators = impl_->cfg.validators;
  r = impl_->cfg.protocol == settlement_protocol::streamlet
          ? impl_->settle_streamlet(std::move(r), max_wait)
          : impl_->settle_raft(std::move(r), max_wait);

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
