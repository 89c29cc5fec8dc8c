#pragma once

/// How a validator behaves, as a policy over an honest Streamlet core: the
/// policy sees each tick and each message, lets the core handle it, and
/// decides what actually leaves the node (drop, hold back, rewrite, add
/// messages signed with the node's own key, or forge others'). The core is
/// the Byzantine node's own view of the chain, so a policy can lie
/// consistently. Pure: no CAF, no clock.
///
/// A Byzantine node can sign anything with its own key but cannot produce
/// another validator's signature: "forge" policies send bytes that do not
/// verify, and honest nodes must reject them.

#include "consensus/bft/streamlet.hpp"

#include <functional>
#include <memory>
#include <string_view>

namespace marketsim::consensus::bft::streamlet {

class behaviour {
public:
  virtual ~behaviour() = default;
  virtual std::string_view name() const = 0;
  virtual bool honest() const { return false; }
  virtual step_result on_tick(streamlet_core& core, time_ns now) {
    return core.tick(now);
  }
  virtual step_result on_receive(streamlet_core& core, const envelope& e, time_ns now) {
    return core.receive(e, now);
  }
};

enum class behaviour_kind : std::uint8_t {
  honest,
  crash,           ///< honest until `crash_at`, then nothing in or out
  silent,          ///< follows the chain, never sends
  equivocate,      ///< as leader, two proposals (half the nodes each); votes for every
                   ///< proposal
  vote_invalid,    ///< as leader, proposes blocks that break the rules; votes for any
                   ///< proposal
  forge,           ///< sends votes and proposals with others' names and bad signatures,
                   ///< and replays old messages (same and altered)
  selective_delay, ///< holds back everything sent to the lower half of ids
  fake_txs,        ///< as leader, adds transactions nobody signed (default: coin
                   ///< transfers with forged issuer signatures; the application's
                   ///< fakes with behaviour_params::fake_txs, e.g. fake trades)
  double_spend,    ///< as leader, spends again what a transaction on its chain spent
                   ///< (default: a coin, re-signed by a colluding issuer; with
                   ///< behaviour_params::respend, e.g. a trade settled again)
};

std::string_view to_string(behaviour_kind k);
/// Parses a name as printed by to_string; nullopt if unknown.
std::optional<behaviour_kind> behaviour_from_string(std::string_view name);

struct behaviour_params {
  time_ns crash_at = 0; ///< crash: when
  time_ns hold_for = 0; ///< selective_delay: how long (default: 1.5 epochs)
  /// double_spend: the coin issuer it colludes with (signs the second spend).
  std::optional<crypto::key_pair> issuer;
  /// fake_txs: what the leader adds to its block `draft`; empty: three coin
  /// transfers with forged issuer signatures.
  std::function<std::vector<std::string>(const block& draft, const streamlet_core& core)>
      fake_txs;
  /// double_spend: the transaction that spends again what `tx`, found on the
  /// leader's chain, spent (nullopt: nothing to spend again in it); empty:
  /// with `issuer`, coin transfers.
  std::function<std::optional<std::string>(const std::string& tx, const streamlet_core& core)>
      respend;
};

std::unique_ptr<behaviour> make_behaviour(behaviour_kind kind, const behaviour_params& p);

} // namespace marketsim::consensus::bft::streamlet
