#include "app/trading_halt.hpp"

#include "actors/interfaces.hpp"
#include "actors/random.hpp"
#include "actors/runtime.hpp"
#include "consensus/bft/dolev_strong.hpp"
#include "consensus/crypto/signature.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <mutex>

namespace marketsim::app {

namespace bft = consensus::bft;
namespace crypto = consensus::crypto;

namespace {

using round_atom = caf::atom_constant<caf::atom("dsround")>;
using begin_atom = caf::atom_constant<caf::atom("dsbegin")>;

constexpr const char* halt_value = "halt";
constexpr const char* no_halt_value = "no-halt";

struct shared_result {
  std::mutex mutex;
  halt_result r;
};

struct group_state {
  static inline const char* name = "marketsim.trading_halt_broadcast";
  halt_config cfg;
  std::vector<bft::dolev_strong_node> nodes;
  std::vector<caf::actor> shards;
  std::vector<bft::ds_send> in_flight; ///< sent in the current round
  std::uint32_t round = 0;
  std::int64_t start_ns = 0; ///< the run's start on the actor clock
  std::shared_ptr<shared_result> out;
};

std::int64_t clock_ns(caf::actor_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

bool honest(const group_state& st, bft::node_id id) {
  return id != st.cfg.sender_id || st.cfg.sender == "honest";
}

/// Round 0: the sender's messages (or a Byzantine sender's).
void start(caf::stateful_actor<group_state>* self) {
  auto& st = self->state;
  auto& sender = st.nodes[st.cfg.sender_id];
  if (st.cfg.sender == "honest") {
    st.in_flight = sender.start(halt_value);
  } else if (st.cfg.sender == "equivocate") {
    // "halt" to half of the others, "no-halt" to the rest, both signed.
    const auto& ds = sender.config();
    auto key = crypto::key_pair::derive(st.cfg.key_seed, st.cfg.sender_id);
    auto a = bft::ds_make_initial(ds, halt_value, key);
    auto b = bft::ds_make_initial(ds, no_halt_value, key);
    std::uint32_t k = 0;
    for (bft::node_id to = 0; to < ds.n; ++to)
      if (to != st.cfg.sender_id)
        st.in_flight.push_back({to, (k++ % 2 == 0) ? a : b});
  } // silent: nothing
  {
    std::lock_guard<std::mutex> lock{st.out->mutex};
    st.out->r.started_ns = clock_ns(self->clock().now()) - st.start_ns;
  }
  spdlog::info("trading halt: validator {} starts the broadcast ({})", st.cfg.sender_id,
               st.cfg.sender);
}

/// Delivers what was sent last round; after the last round, decides.
void step(caf::stateful_actor<group_state>* self) {
  auto& st = self->state;
  ++st.round;
  std::vector<bft::ds_send> next;
  for (const auto& s : st.in_flight) {
    if (s.to >= st.nodes.size() || !honest(st, s.to))
      continue; // the Byzantine sender takes no further part
    auto res = st.nodes[s.to].receive(s.msg, st.round);
    for (auto& x : res.sends)
      next.push_back(std::move(x));
  }
  st.in_flight = std::move(next);
  const auto last = st.nodes.front().config().last_round();
  if (st.round < last)
    return;
  // Every honest validator outputs; they agree (the protocol's promise,
  // checked here and reported).
  std::optional<std::string> output;
  bool agree = true;
  std::uint64_t verifications = 0;
  for (const auto& n : st.nodes) {
    verifications += n.verifications();
    if (!honest(st, n.self()))
      continue;
    if (!output)
      output = n.output();
    agree = agree && n.output() == *output;
  }
  const bool halt = agree && output && *output == halt_value;
  {
    std::lock_guard<std::mutex> lock{st.out->mutex};
    auto& r = st.out->r;
    r.decided = true;
    r.halted = halt;
    r.agreement = agree;
    r.decided_ns = clock_ns(self->clock().now()) - st.start_ns;
    r.verifications = verifications;
  }
  spdlog::info("trading halt: after {} rounds the honest validators output '{}'{}", st.round,
               output.value_or("?"), agree ? "" : " (NO AGREEMENT)");
  if (halt)
    for (const auto& shard : st.shards)
      self->send(caf::actor_cast<actors::exchange_shard_actor>(shard),
                 actors::trading_halt{st.cfg.reason});
}

caf::behavior group(caf::stateful_actor<group_state>* self, halt_config cfg,
                    std::vector<caf::actor> shards, std::int64_t start_ns,
                    std::shared_ptr<shared_result> out) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.shards = std::move(shards);
  st.start_ns = start_ns;
  st.out = std::move(out);
  bft::ds_config ds;
  ds.n = st.cfg.validators;
  ds.f = st.cfg.faulty;
  ds.sender = st.cfg.sender_id;
  ds.instance = 1;
  ds.default_value = no_halt_value;
  std::vector<crypto::key_pair> keys;
  for (std::uint32_t i = 0; i < ds.n; ++i) {
    keys.push_back(crypto::key_pair::derive(st.cfg.key_seed, i));
    ds.keys.push_back(keys.back().public_part());
  }
  for (std::uint32_t i = 0; i < ds.n; ++i)
    st.nodes.emplace_back(ds, i, keys[i]);
  return {
      [self](begin_atom) {
        start(self);
        for (std::uint32_t r = 1; r <= self->state.nodes.front().config().last_round(); ++r)
          self->delayed_send(self, r * self->state.cfg.round, round_atom::value);
      },
      [self](round_atom) { step(self); },
  };
}

} // namespace

struct trading_halt_broadcast::impl {
  caf::actor actor;
  std::shared_ptr<shared_result> out = std::make_shared<shared_result>();
};

trading_halt_broadcast::trading_halt_broadcast(actors::runtime& rt, const halt_config& cfg,
                                               std::uint64_t seed,
                                               std::vector<caf::actor> shards)
  : impl_(std::make_unique<impl>()) {
  auto c = cfg;
  c.key_seed = actors::derive_seed(seed, 0xDA17);
  {
    auto& r = impl_->out->r;
    r.validators = c.validators;
    r.faulty = c.faulty;
    r.sender = c.sender;
  }
  impl_->actor = rt.system().spawn(group, std::move(c), std::move(shards),
                                   std::chrono::duration_cast<std::chrono::nanoseconds>(
                                       rt.start_time().time_since_epoch())
                                       .count(),
                                   impl_->out);
  caf::delayed_anon_send(impl_->actor, cfg.at, begin_atom::value);
}

trading_halt_broadcast::~trading_halt_broadcast() = default;

caf::actor trading_halt_broadcast::actor() const {
  return impl_->actor;
}

halt_result trading_halt_broadcast::result() const {
  std::lock_guard<std::mutex> lock{impl_->out->mutex};
  return impl_->out->r;
}

} // namespace marketsim::app
