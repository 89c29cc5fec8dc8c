#include "consensus/bft/dolev_strong_validator.hpp"

#include "actors/consensus_messages.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <set>
#include <stdexcept>
#include <tuple>
#include <utility>

namespace marketsim::consensus::bft {

std::string_view to_string(ds_refusal_kind k) {
  switch (k) {
  case ds_refusal_kind::invalid:
    return "invalid";
  case ds_refusal_kind::late:
    return "late";
  case ds_refusal_kind::over_limit:
    return "over_limit";
  case ds_refusal_kind::unknown_sender:
    return "unknown_sender";
  }
  return "ds_refusal_kind?";
}

namespace {

using actors::ds_decision;
using actors::ds_tick;
using actors::ds_wire;
using actors::raft_peers;

/// An honest node sends at most two chains (two values) per round to each
/// other node; a sender past this many in one round is flooding.
constexpr std::size_t max_per_sender_round = 4;

struct ds_validator_state {
  static inline const char* name = "marketsim.ds_validator";

  ds_validator_params params;
  std::unique_ptr<dolev_strong_node> node;
  std::unique_ptr<ds_behaviour> policy;
  std::map<node_id, caf::actor> peers;
  bool started = false;
  /// Ticks done so far: rounds 0..ticked-1 (0: none).
  std::uint32_t ticked = 0;
  /// Chains waiting for their round, by chain length (= round), with their
  /// network sender.
  std::map<std::uint32_t, std::vector<std::pair<node_id, ds_message>>> pending;
  std::map<std::pair<node_id, std::uint32_t>, std::size_t> received; ///< (from, round) -> chains
  std::uint64_t refused = 0;
  std::set<std::tuple<node_id, ds_refusal_kind, ds_verdict>> logged;
};

using validator_ptr = caf::stateful_actor<ds_validator_state>*;

std::int64_t now_of(validator_ptr self) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             self->clock().now().time_since_epoch())
             .count() -
         self->state.params.origin_ns;
}

void refuse(validator_ptr self, ds_refusal r) {
  auto& st = self->state;
  ++st.refused;
  if (st.logged.emplace(r.from, r.kind, r.verdict).second) {
    std::string proof;
    if (r.evidence)
      proof = r.evidence->culprit
                  ? fmt::format(": link {} forged, validator {} signed over it (link {})",
                                r.evidence->bad_link, *r.evidence->culprit,
                                r.evidence->culprit_link)
                  : fmt::format(": link {} forged, no later signer to convict",
                                r.evidence->bad_link);
    spdlog::warn("dolev-strong validator {}: refused a chain from {} in round {}: {} ({}){}",
                 st.params.id, r.from, r.round, to_string(r.kind), to_string(r.verdict),
                 proof);
  }
  if (st.params.observer.on_refused)
    st.params.observer.on_refused(st.params.id, r, now_of(self));
}

void send_all(validator_ptr self, const std::vector<ds_send>& sends) {
  auto& st = self->state;
  for (const auto& s : sends)
    if (auto it = st.peers.find(s.to); it != st.peers.end() && it->second)
      self->send(it->second, ds_wire{st.params.id, s.msg});
}

void arm(validator_ptr self, std::uint32_t round) {
  const auto& p = self->state.params;
  const auto due = p.start_ns + static_cast<std::int64_t>(round) * p.round_ns;
  self->delayed_send(self, std::chrono::nanoseconds{std::max<std::int64_t>(0, due - now_of(self))},
                     ds_tick{round});
}

void decide(validator_ptr self) {
  auto& st = self->state;
  const auto& node = *st.node;
  ds_outcome o{st.params.id, node.output(), node.decided_value(), node.verifications(),
               st.refused};
  spdlog::debug("dolev-strong validator {}: decides '{}'", st.params.id, o.value);
  if (st.params.observer.on_decided)
    st.params.observer.on_decided(st.params.id, o, now_of(self));
  if (st.params.report_to)
    self->send(st.params.report_to,
               ds_decision{o.self, node.config().instance, o.value, o.extracted,
                           node.config().last_round(), o.verifications, o.refused});
}

/// Round `round`'s tick: round 0 starts the broadcast, later rounds deliver
/// the chains of their length.
void tick(validator_ptr self, std::uint32_t round) {
  auto& st = self->state;
  if (round != st.ticked)
    return; // a stray or repeated tick
  st.ticked = round + 1;
  const auto last = st.node->config().last_round();
  if (round == 0) {
    send_all(self, st.policy->on_start(*st.node, st.params.value));
  } else {
    auto batch = std::move(st.pending[round]);
    st.pending.erase(round);
    for (const auto& [from, msg] : batch) {
      auto r = st.policy->on_receive(*st.node, msg, round);
      if (r.verdict != ds_verdict::accepted && r.verdict != ds_verdict::redundant) {
        ds_refusal ref{from, round, ds_refusal_kind::invalid, r.verdict, std::nullopt};
        if (r.verdict == ds_verdict::bad_signature)
          ref.evidence = ds_forgery_evidence(st.node->config(), msg);
        refuse(self, std::move(ref));
      }
      send_all(self, r.sends);
    }
  }
  if (round < last)
    arm(self, round + 1);
  else
    decide(self);
}

void receive(validator_ptr self, ds_wire& w) {
  auto& st = self->state;
  const auto len = static_cast<std::uint32_t>(
      std::min<std::size_t>(w.msg.chain.size(), UINT32_MAX));
  const auto round = st.ticked == 0 ? 0 : st.ticked - 1;
  if (w.from >= st.node->config().n) {
    refuse(self, {w.from, round, ds_refusal_kind::unknown_sender, ds_verdict::unknown_signer, {}});
    return;
  }
  if (len == 0 || len > st.node->config().last_round()) {
    refuse(self, {w.from, round, ds_refusal_kind::invalid, ds_verdict::wrong_round, {}});
    return;
  }
  if (len < st.ticked) {
    refuse(self, {w.from, round, ds_refusal_kind::late, ds_verdict::wrong_round, {}});
    return;
  }
  if (++st.received[{w.from, len}] > max_per_sender_round) {
    refuse(self, {w.from, round, ds_refusal_kind::over_limit, ds_verdict::redundant, {}});
    return;
  }
  st.pending[len].emplace_back(w.from, std::move(w.msg));
}

caf::behavior ds_validator(validator_ptr self, ds_validator_params params) {
  auto& st = self->state;
  st.params = std::move(params);
  st.policy = make_ds_behaviour(st.params.behaviour, st.params.behaviour_opts);
  st.node = std::make_unique<dolev_strong_node>(st.params.protocol, st.params.id,
                                                st.params.keys);
  return {
      [self](const raft_peers& p) {
        auto& st = self->state;
        if (!actors::take_peers(p, st.params.id, st.peers)) {
          spdlog::warn("dolev-strong validator {}: raft_peers with {} ids and {} handles: "
                       "ignored",
                       st.params.id, p.ids.size(), p.handles.size());
          return;
        }
        if (st.started)
          return;
        st.started = true;
        arm(self, 0);
      },
      [self](const ds_tick& t) { tick(self, t.round); },
      [self](ds_wire& w) { receive(self, w); },
  };
}

} // namespace

caf::actor spawn_ds_validator(caf::actor_system& sys, ds_validator_params params) {
  const auto& cfg = params.protocol;
  if (cfg.f >= cfg.n || cfg.keys.size() != cfg.n || cfg.sender >= cfg.n)
    throw std::invalid_argument("spawn_ds_validator: needs f < n, n keys and a sender < n");
  if (params.id >= cfg.n || cfg.keys[params.id] != params.keys.public_part())
    throw std::invalid_argument("spawn_ds_validator: id or keys do not match the config");
  if (params.round_ns <= 0 || params.start_ns < 0)
    throw std::invalid_argument("spawn_ds_validator: round must be > 0, start >= 0");
  return sys.spawn(ds_validator, std::move(params));
}

ds_observer ds_record_into(std::shared_ptr<ds_record> rec) {
  ds_observer obs;
  obs.on_decided = [rec](node_id self, const ds_outcome& o, std::int64_t now) {
    std::lock_guard<std::mutex> guard{rec->mutex};
    rec->decided[self] = {o, now};
  };
  obs.on_refused = [rec](node_id self, const ds_refusal& r, std::int64_t now) {
    std::lock_guard<std::mutex> guard{rec->mutex};
    rec->refused.push_back({self, r, now});
  };
  return obs;
}

void introduce_ds_group(
    const std::vector<caf::actor>& validators,
    const std::function<caf::actor(std::size_t from, std::size_t to)>& reach) {
  for (std::size_t i = 0; i < validators.size(); ++i) {
    raft_peers peers;
    for (std::size_t j = 0; j < validators.size(); ++j) {
      peers.ids.push_back(static_cast<std::uint32_t>(j));
      peers.handles.push_back(reach ? reach(i, j) : validators[j]);
    }
    caf::anon_send(validators[i], std::move(peers));
  }
}

} // namespace marketsim::consensus::bft
