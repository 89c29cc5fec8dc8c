#include "consensus/bft/streamlet_validator.hpp"

#include "actors/consensus_messages.hpp"
#include "consensus/bft/price_codec.hpp"
#include "consensus/bft/streamlet_coins.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <map>
#include <set>
#include <stdexcept>
#include <utility>

namespace marketsim::consensus::bft::streamlet {

// -- the payload rule ----------------------------------------------------------------

std::optional<price_proposal> price_of(const block& b) {
  for (const auto& tx : b.txs)
    if (auto p = decode_price_proposal(tx))
      return p;
  return std::nullopt;
}

std::optional<price_proposal> last_price_on_chain(const streamlet_core& view,
                                                  const hash256& tip) {
  for (const block* a = view.find(tip); a && a->height > 0; a = view.find(a->parent))
    if (auto p = price_of(*a))
      return p;
  return std::nullopt;
}

payload_check price_and_coin_rules(
    const price_mode* prices, std::optional<crypto::public_key> coin_issuer,
    std::function<const std::vector<price_quote>*(epoch_t)> quotes_of,
    const streamlet_params& protocol) {
  payload_check coins = coin_issuer ? coin_rules(*coin_issuer) : payload_check{};
  return [prices, coins, quotes_of = std::move(quotes_of),
          protocol](const block& b, const streamlet_core& view) {
    std::optional<price_proposal> price;
    block rest = b;
    rest.txs.clear();
    for (const auto& tx : b.txs) {
      if (prices) {
        if (auto p = decode_price_proposal(tx)) {
          if (price)
            return false; // one price per block
          price = std::move(p);
          continue;
        }
      }
      rest.txs.push_back(tx);
    }
    if (coins && !rest.txs.empty() && !coins(rest, view))
      return false;
    if (!price)
      return true;
    auto last = last_price_on_chain(view, b.parent);
    validator_view own{prices->symbol, b.epoch, std::nullopt,
                       last ? std::optional<price_ticks>{last->price} : std::nullopt};
    if (const auto* quotes = quotes_of(b.epoch))
      own.own = aggregate(prices->symbol, b.epoch, *quotes, prices->rules, own.last_finalized,
                          epoch_start(protocol, b.epoch))
                    .proposal;
    auto verdict = check_proposal(*price, own, prices->rules, prices->tolerance);
    if (verdict == proposal_verdict::accept)
      return true;
    // A lying leader believes its own shifted price.
    const bool own_lie = prices->shift_bps != 0 && b.proposer == view.self();
    return own_lie && (verdict == proposal_verdict::price_disagrees ||
                       verdict == proposal_verdict::vwap_disagrees);
  };
}

// -- the actor -----------------------------------------------------------------------

namespace {

using namespace marketsim::actors;

struct streamlet_validator_state {
  static inline const char* name = "marketsim.streamlet_validator";

  streamlet_validator_params params;
  std::unique_ptr<streamlet_core> core;
  std::unique_ptr<behaviour> policy;
  std::map<validator_id, caf::actor> peers;
  bool started = false;
  /// Peers' messages that came before the first raft_peers: handled then (a
  /// vote cast with no peer known would reach nobody). Bounded.
  struct early_message {
    std::uint32_t from = 0;
    std::string bytes;
    bool sync = false;
  };
  std::vector<early_message> early;
  std::uint64_t early_dropped = 0;
  // Price mode: the validator's own feeds and their quotes per epoch.
  std::unique_ptr<simulated_feeds> feeds;
  std::map<epoch_t, std::vector<price_quote>> quotes;
  epoch_t sampled_upto = 0;
  epoch_t price_submitted = 0;
  std::set<validator_id> warned_malformed;
};

using validator_ptr = caf::stateful_actor<streamlet_validator_state>*;

time_ns now_of(validator_ptr self) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             self->clock().now().time_since_epoch())
             .count() -
         self->state.params.origin_ns;
}

void sample_until(streamlet_validator_state& st, epoch_t e) {
  for (; st.sampled_upto < e; ++st.sampled_upto) {
    auto k = st.sampled_upto + 1;
    st.quotes[k] = st.feeds->sample(epoch_start(st.params.protocol, k));
  }
}

/// Before any core call at `now`: the feeds' samples up to now's epoch and,
/// when this validator is about to lead a new epoch, its price proposal in
/// the pool (the core batches it into the block).
void prepare(streamlet_validator_state& st, time_ns now) {
  if (!st.feeds)
    return;
  const auto& proto = st.params.protocol;
  auto e = epoch_at(proto, now);
  sample_until(st, e);
  if (e <= st.core->epoch() || e <= st.price_submitted || leader_of(proto, e) != st.params.id)
    return;
  st.price_submitted = e;
  const auto& pm = *st.params.prices;
  auto last = last_price_on_chain(*st.core, st.core->longest_notarized_tip());
  auto agg = aggregate(pm.symbol, e, st.quotes[e], pm.rules,
                       last ? std::optional<price_ticks>{last->price} : std::nullopt,
                       epoch_start(proto, e));
  if (!agg.proposal) {
    spdlog::debug("streamlet validator {}: no price for epoch {}: {}", st.params.id, e,
                  to_string(agg.why));
    return;
  }
  auto p = *agg.proposal;
  if (pm.shift_bps != 0) {
    p.price = p.price * (bps_per_unit + pm.shift_bps) / bps_per_unit;
    p.vwap = p.vwap * (bps_per_unit + pm.shift_bps) / bps_per_unit;
  }
  st.core->submit(encode(p));
}

/// Live gossip as streamlet_wire, block sync as streamlet_sync: the same
/// peers' handles, so the same path (network proxies when configured).
void deliver(validator_ptr self, const envelope& env) {
  auto& st = self->state;
  auto bytes = encode_message(env.msg);
  const bool sync = is_sync(env.msg);
  for (const auto& [id, handle] : st.peers) {
    if (id == st.params.id || !handle || (env.to != broadcast && env.to != id))
      continue;
    if (sync)
      self->send(handle, streamlet_sync{env.from, bytes});
    else
      self->send(handle, streamlet_wire{env.from, bytes});
  }
}

void handle(validator_ptr self, step_result r, time_ns now) {
  auto& st = self->state;
  for (const auto& env : r.sends)
    deliver(self, env);
  const auto& obs = st.params.observer;
  for (const auto& b : r.finalized)
    if (obs.on_finalized)
      obs.on_finalized(st.params.id, b, now);
  for (const auto& ev : r.misbehaviour) {
    spdlog::debug("streamlet validator {}: {} by validator {} in epoch {}", st.params.id,
                  to_string(ev.kind), ev.culprit, ev.epoch);
    if (obs.on_evidence)
      obs.on_evidence(st.params.id, ev, now);
  }
  for (const auto& rej : r.rejected)
    if (obs.on_rejected)
      obs.on_rejected(st.params.id, rej, now);
}

time_ns interval_of(const streamlet_validator_params& p) {
  return p.tick_interval > 0 ? p.tick_interval
                             : std::max<time_ns>(p.protocol.epoch_duration / 4, 1);
}

void arm(validator_ptr self, time_ns now) {
  auto step = interval_of(self->state.params);
  auto next = (now / step + 1) * step;
  self->delayed_send(self, std::chrono::nanoseconds{next - now}, streamlet_tick{next});
}

void tick(validator_ptr self) {
  auto& st = self->state;
  auto now = now_of(self);
  prepare(st, now);
  handle(self, st.policy->on_tick(*st.core, now), now);
}

/// Wire bytes from a peer: live gossip (`sync` false: a proposal or a vote)
/// or block sync (a sync request or response). Anything else is malformed.
void receive(validator_ptr self, std::uint32_t from, const std::string& bytes, bool sync) {
  auto& st = self->state;
  if (!st.started) {
    constexpr std::size_t max_early = 100'000;
    if (st.early.size() < max_early)
      st.early.push_back({from, bytes, sync});
    else if (st.early_dropped++ == 0)
      spdlog::warn("streamlet validator {}: more than {} messages before its peers are known: "
                   "dropping (block sync recovers what they carried)",
                   st.params.id, max_early);
    return;
  }
  auto now = now_of(self);
  auto msg = decode_message(bytes);
  if (!msg || is_sync(*msg) != sync) {
    if (st.params.observer.on_malformed)
      st.params.observer.on_malformed(st.params.id, from, now);
    if (st.warned_malformed.insert(from).second)
      spdlog::warn("streamlet validator {}: malformed {} bytes from {} ({} bytes): rejected",
                   st.params.id, sync ? "sync" : "wire", from, bytes.size());
    return;
  }
  prepare(st, now);
  handle(self, st.policy->on_receive(*st.core, envelope{from, st.params.id, *msg}, now), now);
}

caf::behavior streamlet_validator(validator_ptr self, streamlet_validator_params params) {
  auto& st = self->state;
  st.params = std::move(params);
  st.policy = make_behaviour(st.params.behaviour, st.params.behaviour_opts);
  if (st.params.prices) {
    const auto& pm = *st.params.prices;
    st.feeds = std::make_unique<simulated_feeds>(pm.walk, pm.sources, pm.feed_seed);
  }
  auto quotes_of = [s = &st](epoch_t e) -> const std::vector<price_quote>* {
    // Blocks of epochs beyond the next one are judged without a view.
    if (!s->feeds || e > s->sampled_upto + 1)
      return nullptr;
    sample_until(*s, e);
    return &s->quotes[e];
  };
  auto rule = (st.params.prices || st.params.coin_issuer)
                  ? price_and_coin_rules(st.params.prices ? &*st.params.prices : nullptr,
                                         st.params.coin_issuer, quotes_of,
                                         st.params.protocol)
                  : payload_check{};
  if (rule && st.params.payload)
    rule = [a = std::move(rule), b = st.params.payload](const block& blk,
                                                        const streamlet_core& view) {
      return a(blk, view) && b(blk, view);
    };
  else if (st.params.payload)
    rule = st.params.payload;
  st.core = std::make_unique<streamlet_core>(st.params.protocol, st.params.id,
                                             st.params.keys, st.params.roster,
                                             std::move(rule));
  return {
      [self](const raft_peers& p) {
        auto& st = self->state;
        if (p.ids.size() != p.handles.size()) {
          spdlog::warn("streamlet validator {}: raft_peers with {} ids and {} handles: ignored",
                       st.params.id, p.ids.size(), p.handles.size());
          return;
        }
        for (std::size_t k = 0; k < p.ids.size(); ++k)
          if (p.ids[k] != st.params.id)
            st.peers[p.ids[k]] = p.handles[k];
        if (st.started)
          return;
        st.started = true;
        if (st.params.rejoin)
          st.core->abstain_through(epoch_at(st.params.protocol, now_of(self)));
        tick(self);
        arm(self, now_of(self));
        auto early = std::move(st.early);
        st.early.clear();
        for (const auto& m : early)
          receive(self, m.from, m.bytes, m.sync);
      },
      [self](const streamlet_tick& t) {
        tick(self);
        arm(self, std::max(t.at_ns, now_of(self)));
      },
      [self](streamlet_submit& s) {
        for (auto& tx : s.txs)
          self->state.core->submit(std::move(tx));
      },
      [self](const streamlet_wire& w) { receive(self, w.from, w.bytes, false); },
      [self](const streamlet_sync& w) { receive(self, w.from, w.bytes, true); },
  };
}

} // namespace

caf::actor spawn_streamlet_validator(caf::actor_system& sys,
                                     streamlet_validator_params params) {
  if (params.roster.size() != params.protocol.n || params.id >= params.protocol.n)
    throw std::invalid_argument("spawn_streamlet_validator: id or roster does not match n");
  if (params.roster[params.id] != params.keys.public_part())
    throw std::invalid_argument("spawn_streamlet_validator: keys do not match the roster");
  return sys.spawn(streamlet_validator, std::move(params));
}

validator_observer record_into(std::shared_ptr<group_record> rec) {
  validator_observer obs;
  obs.on_finalized = [rec](validator_id self, const std::shared_ptr<const block>& b,
                           time_ns now) {
    std::lock_guard<std::mutex> guard{rec->mutex};
    rec->finalized[self].push_back({b, now});
  };
  obs.on_evidence = [rec](validator_id self, const evidence& e, time_ns now) {
    std::lock_guard<std::mutex> guard{rec->mutex};
    rec->evidence.push_back({self, e, now});
  };
  obs.on_rejected = [rec](validator_id self, const rejection&, time_ns) {
    std::lock_guard<std::mutex> guard{rec->mutex};
    ++rec->rejected[self];
  };
  obs.on_malformed = [rec](validator_id self, validator_id, time_ns) {
    std::lock_guard<std::mutex> guard{rec->mutex};
    ++rec->malformed[self];
  };
  return obs;
}

std::vector<caf::actor> spawn_streamlet_group(caf::actor_system& sys,
                                              std::vector<streamlet_validator_params> params) {
  std::vector<caf::actor> handles;
  actors::raft_peers peers;
  for (auto& p : params) {
    peers.ids.push_back(p.id);
    handles.push_back(spawn_streamlet_validator(sys, std::move(p)));
  }
  peers.handles = handles;
  for (const auto& h : handles)
    caf::anon_send(h, peers);
  return handles;
}

} // namespace marketsim::consensus::bft::streamlet
