#include "app/trading_halt.hpp"

#include "actors/consensus_messages.hpp"
#include "actors/interfaces.hpp"
#include "actors/random.hpp"
#include "actors/runtime.hpp"
#include "consensus/bft/dolev_strong_validator.hpp"
#include "consensus/crypto/signature.hpp"
#include "network/endpoints.hpp"

#include <caf/all.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <map>
#include <mutex>
#include <set>

namespace marketsim::app {

namespace bft = consensus::bft;
namespace crypto = consensus::crypto;

namespace {

constexpr const char* halt_value = "halt";
constexpr const char* no_halt_value = "no-halt";

struct shared_result {
  std::mutex mutex;
  halt_result r;
};

std::int64_t clock_ns(caf::actor_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

struct collector_state {
  static inline const char* name = "marketsim.trading_halt_collector";
  std::string reason;
  std::set<std::uint32_t> honest;
  std::vector<caf::actor> shards;
  std::int64_t start_ns = 0; ///< the run's start on the actor clock
  std::shared_ptr<shared_result> out;
  std::map<std::uint32_t, std::string> outputs; ///< of honest validators
  std::uint32_t rounds = 0;
};

/// Once every honest validator has reported: the outcome, and the halt.
void conclude(caf::stateful_actor<collector_state>* self) {
  auto& st = self->state;
  const auto& first = st.outputs.begin()->second;
  bool agree = true;
  for (const auto& [id, value] : st.outputs)
    agree = agree && value == first;
  const bool halt = agree && first == halt_value;
  {
    std::lock_guard<std::mutex> lock{st.out->mutex};
    auto& r = st.out->r;
    r.decided = true;
    r.halted = halt;
    r.agreement = agree;
    r.decided_ns = clock_ns(self->clock().now()) - st.start_ns;
  }
  spdlog::info("trading halt: after {} rounds the honest validators output '{}'{}", st.rounds,
               first, agree ? "" : " (NO AGREEMENT)");
  if (halt)
    for (const auto& shard : st.shards)
      self->send(caf::actor_cast<actors::exchange_shard_actor>(shard),
                 actors::trading_halt{st.reason});
}

caf::behavior collector(caf::stateful_actor<collector_state>* self, collector_state init) {
  self->state = std::move(init);
  return {
      [self](const actors::ds_decision& d) {
        auto& st = self->state;
        {
          std::lock_guard<std::mutex> lock{st.out->mutex};
          st.out->r.verifications += d.verifications;
          if (st.honest.count(d.validator) > 0)
            st.out->r.refused += d.refused;
        }
        // Reports from Byzantine validators say whatever their node holds:
        // they count for nothing.
        if (st.honest.count(d.validator) == 0 || st.outputs.count(d.validator) > 0)
          return;
        st.outputs[d.validator] = d.value;
        st.rounds = d.rounds;
        if (st.outputs.size() == st.honest.size())
          conclude(self);
      },
  };
}

/// The sender's policy from `sender:`, a relay's from `byzantine:`.
bft::ds_behaviour_kind behaviour_of(const halt_config& cfg, std::uint32_t id) {
  if (id == cfg.sender_id)
    return cfg.sender == "honest" ? bft::ds_behaviour_kind::honest
                                  : *bft::ds_behaviour_from_string(cfg.sender);
  auto it = cfg.byzantine.find(id);
  return it == cfg.byzantine.end() ? bft::ds_behaviour_kind::honest
                                   : *bft::ds_behaviour_from_string(it->second);
}

} // namespace

struct trading_halt_broadcast::impl {
  std::vector<caf::actor> validators;
  caf::actor collector;
  std::shared_ptr<shared_result> out = std::make_shared<shared_result>();
  std::shared_ptr<bft::ds_record> record = std::make_shared<bft::ds_record>();
  std::set<std::uint32_t> honest;
};

trading_halt_broadcast::trading_halt_broadcast(actors::runtime& rt, const halt_config& cfg,
                                               std::uint64_t seed,
                                               std::vector<caf::actor> shards, halt_network net)
  : impl_(std::make_unique<impl>()) {
  auto& sys = rt.system();
  const auto key_seed = actors::derive_seed(seed, 0xDA17);
  {
    auto& r = impl_->out->r;
    r.validators = cfg.validators;
    r.faulty = cfg.faulty;
    r.sender = cfg.sender;
    r.started_ns = cfg.at.count();
  }
  bft::ds_config ds;
  ds.n = cfg.validators;
  ds.f = cfg.faulty;
  ds.sender = cfg.sender_id;
  ds.instance = 1;
  ds.default_value = no_halt_value;
  std::vector<crypto::key_pair> keys;
  for (std::uint32_t i = 0; i < ds.n; ++i) {
    keys.push_back(crypto::key_pair::derive(key_seed, i));
    ds.keys.push_back(keys.back().public_part());
  }
  for (std::uint32_t i = 0; i < ds.n; ++i)
    if (behaviour_of(cfg, i) == bft::ds_behaviour_kind::honest)
      impl_->honest.insert(i);

  collector_state init;
  init.reason = cfg.reason;
  init.honest = impl_->honest;
  init.shards = std::move(shards);
  init.start_ns = clock_ns(rt.start_time());
  init.out = impl_->out;
  impl_->collector = sys.spawn(collector, std::move(init));

  for (std::uint32_t i = 0; i < ds.n; ++i) {
    bft::ds_validator_params p;
    p.protocol = ds;
    p.id = i;
    p.keys = keys[i];
    p.behaviour = behaviour_of(cfg, i);
    p.value = halt_value;
    p.origin_ns = clock_ns(rt.start_time());
    p.start_ns = cfg.at.count();
    p.round_ns = cfg.round.count();
    p.report_to = impl_->collector;
    p.observer = bft::ds_record_into(impl_->record);
    impl_->validators.push_back(bft::spawn_ds_validator(sys, std::move(p)));
  }
  if (net.ports && !net.sites.empty()) {
    auto site = [&net](std::size_t i) { return net.sites[i % net.sites.size()]; };
    for (std::size_t i = 0; i < impl_->validators.size(); ++i)
      net.ports->place(impl_->validators[i], site(i));
    bft::introduce_ds_group(impl_->validators, [&](std::size_t from, std::size_t to) {
      return net.ports->reach(impl_->validators[to], site(from));
    });
  } else {
    bft::introduce_ds_group(impl_->validators);
  }
  spdlog::info("trading halt: {} validator actors (f = {}), validator {} broadcasts at {} ms ({})",
               ds.n, ds.f, cfg.sender_id, cfg.at.count() / 1'000'000, cfg.sender);
}

trading_halt_broadcast::~trading_halt_broadcast() = default;

std::vector<caf::actor> trading_halt_broadcast::actors() const {
  auto out = impl_->validators;
  out.push_back(impl_->collector);
  return out;
}

halt_result trading_halt_broadcast::result() const {
  halt_result r;
  {
    std::lock_guard<std::mutex> lock{impl_->out->mutex};
    r = impl_->out->r;
  }
  // One line per validator convicted by evidence an honest validator holds.
  std::lock_guard<std::mutex> lock{impl_->record->mutex};
  std::map<std::uint32_t, std::uint32_t> convicted; // culprit -> first reporter
  for (const auto& ref : impl_->record->refused)
    if (impl_->honest.count(ref.reporter) > 0 && ref.r.evidence && ref.r.evidence->culprit)
      convicted.emplace(*ref.r.evidence->culprit, ref.reporter);
  for (const auto& [culprit, reporter] : convicted)
    r.misbehaviour.push_back(fmt::format(
        "validator {}: signed a chain with a forged signature (reported by {})", culprit,
        reporter));
  return r;
}

} // namespace marketsim::app
