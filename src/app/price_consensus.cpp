#include "app/price_consensus.hpp"

#include "actors/interfaces.hpp"
#include "actors/runtime.hpp"
#include "consensus/bft/price_feed.hpp"
#include "consensus/bft/streamlet_validator.hpp"
#include "consensus/crypto/signature.hpp"

#include <caf/all.hpp>
#include <fmt/format.h>

#include <atomic>
#include <mutex>
#include <set>

namespace marketsim::app {

namespace streamlet = consensus::bft::streamlet;
namespace bft = consensus::bft;
namespace crypto = consensus::crypto;

namespace {

std::int64_t clock_ns(caf::actor_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

/// What the first honest validator finalized, and the proved misbehaviour.
struct tally {
  std::mutex mutex;
  price_consensus_result result;
  std::set<std::pair<std::uint32_t, std::string>> offences;
};

} // namespace

struct price_consensus::impl {
  std::vector<caf::actor> validators;
  std::shared_ptr<tally> t = std::make_shared<tally>();
};

price_consensus::price_consensus(actors::runtime& rt, const price_consensus_config& cfg,
                                 const scenario& sc, const caf::actor& shard)
  : impl_(std::make_unique<impl>()) {
  const auto symbol = static_cast<market::symbol_id>(sc.symbol_index(cfg.symbol));
  const auto reference = sc.symbols[symbol].reference_price;
  const auto n = cfg.validators;
  std::vector<crypto::key_pair> keys;
  std::vector<crypto::public_key> roster;
  for (std::uint32_t i = 0; i < n; ++i) {
    keys.push_back(crypto::key_pair::derive(actors::derive_seed(sc.seed, 0xB0B0), i));
    roster.push_back(keys.back().public_part());
  }
  streamlet::price_mode pm;
  pm.symbol = cfg.symbol;
  pm.walk.start = reference;
  pm.walk.step_bps = cfg.step_bps;
  pm.sources = bft::honest_sources(cfg.sources, actors::derive_seed(sc.seed, 0xFEED));
  for (auto& s : pm.sources)
    s.noise_bps = cfg.noise_bps;
  pm.feed_seed = actors::derive_seed(sc.seed, 0xFEED0001);
  // The symbol's own scale: prices between a tenth and ten times its
  // reference (the feeds' defaults are an AAPL-like $50 .. $500 in cents).
  pm.rules.quotes.min_price = std::max<std::int64_t>(1, reference / 10);
  pm.rules.quotes.max_price = reference * 10;
  pm.rules.min_sources = cfg.min_sources;
  pm.rules.quotes.max_age = 2 * cfg.epoch.count();

  auto& res = impl_->t->result;
  res.symbol = cfg.symbol;
  res.validators = n;
  // The first honest validator speaks for the group: its finalized prices go
  // to the shard (every honest one finalizes the same chain).
  std::uint32_t speaker = 0;
  while (cfg.byzantine.count(speaker))
    ++speaker;

  std::vector<streamlet::streamlet_validator_params> params(n);
  const auto origin = clock_ns(rt.start_time());
  auto t = impl_->t;
  auto to = caf::actor_cast<actors::exchange_shard_actor>(shard);
  for (std::uint32_t i = 0; i < n; ++i) {
    auto& p = params[i];
    p.protocol.n = n;
    p.protocol.epoch_duration = cfg.epoch.count();
    p.id = i;
    p.keys = keys[i];
    p.roster = roster;
    p.prices = pm;
    if (auto it = cfg.byzantine.find(i); it != cfg.byzantine.end()) {
      if (it->second == "shift_price") {
        p.prices->shift_bps = 300; // a lying leader: 3% off
      } else {
        p.behaviour = *streamlet::behaviour_from_string(it->second);
      }
    }
    p.origin_ns = origin;
    p.observer.on_finalized = [t, to, symbol, speaker](streamlet::validator_id self,
                                                        const std::shared_ptr<const streamlet::block>& b,
                                                        streamlet::time_ns) {
      if (self != speaker)
        return;
      auto price = streamlet::price_of(*b);
      if (!price)
        return;
      {
        std::lock_guard<std::mutex> lock{t->mutex};
        auto& r = t->result;
        if (r.finalized_prices++ == 0)
          r.first_price = price->price;
        r.last_price = price->price;
        r.last_epoch = price->epoch;
      }
      caf::anon_send(to, actors::finalized_price{symbol, price->epoch, price->price});
    };
    p.observer.on_evidence = [t](streamlet::validator_id reporter, const streamlet::evidence& e,
                                 streamlet::time_ns) {
      std::lock_guard<std::mutex> lock{t->mutex};
      if (t->offences.emplace(e.culprit, std::string{streamlet::to_string(e.kind)}).second)
        t->result.misbehaviour.push_back(fmt::format("validator {}: {} (epoch {}, reported by {})",
                                                     e.culprit, streamlet::to_string(e.kind),
                                                     e.epoch, reporter));
    };
  }
  impl_->validators = streamlet::spawn_streamlet_group(rt.system(), std::move(params));
}

price_consensus::~price_consensus() = default;

std::vector<caf::actor> price_consensus::actors() const {
  return impl_->validators;
}

price_consensus_result price_consensus::result() const {
  std::lock_guard<std::mutex> lock{impl_->t->mutex};
  return impl_->t->result;
}

} // namespace marketsim::app
