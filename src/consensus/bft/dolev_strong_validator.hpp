#pragma once

/// The Dolev-Strong validator actor: one validator of one broadcast, a thin
/// CAF shell around the pure node (dolev_strong.hpp) under a behaviour
/// policy (dolev_strong_byzantine.hpp), in the style of the Streamlet
/// validator (streamlet_validator.hpp).
///
/// ## Talking to a validator (plain sends, see actors/consensus_messages.hpp)
/// - `raft_peers`: the group's ids and handles (direct, network proxies from
///   network::endpoints::reach, or remote actors). It starts the validator's
///   clock; sends before it are lost, as on a network.
/// - `ds_wire{from, msg}`: a signed chain from a peer.
/// - its own `ds_tick{round}`, at start + round * round_length on the actor
///   clock (virtual or real): round 0 starts the broadcast (the sender
///   sends), round r = 1..f+1 delivers the chains of exactly r signatures
///   that arrived before it, and after round f+1 the validator decides.
///
/// ## Rounds on a clock
/// A chain of r signatures is the kind round r accepts, so a validator
/// files what it receives by chain length and hands it to the node at round
/// r's tick: an honest relay sent at tick r-1 counts as long as it arrives
/// before tick r, whatever the order of events at one instant. A chain that
/// arrives after its round's tick is late and refused (wrong_round), like
/// one that is too long or empty. What waits is bounded: a few chains per
/// round from each validator id, none from ids outside the group (`from`
/// is not authenticated, but it cannot grow the buffers past n senders). So the protocol's synchrony assumption
/// becomes a timing requirement: every message between validators must
/// take less than one round (network latency below `round`); a validator
/// that hears late decides the default, and agreement can break exactly
/// when that requirement does.
///
/// ## Reports
/// On deciding (tick f+1) the validator sends `ds_decision` to `report_to`
/// (if set) and calls the observer. A chain the node refuses is counted,
/// reported to the observer and logged (one line per sender and reason);
/// a forged signature comes with evidence (ds_forgery_evidence) that names
/// the validator it convicts, if any.

#include "consensus/bft/dolev_strong.hpp"
#include "consensus/bft/dolev_strong_byzantine.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace marketsim::consensus::bft {

/// Why a validator refused a chain.
enum class ds_refusal_kind : std::uint8_t {
  invalid,    ///< the node refused it (`verdict`: wrong shape, forged, ...)
  late,       ///< it arrived after the tick of the round its length fits
  over_limit, ///< more chains from one sender in one round than any honest node sends
  unknown_sender, ///< `from` is no validator of the group (so buffers stay bounded)
};

std::string_view to_string(ds_refusal_kind k);

struct ds_refusal {
  node_id from = 0; ///< the network sender (unauthenticated)
  std::uint32_t round = 0; ///< the validator's round when it refused
  ds_refusal_kind kind = ds_refusal_kind::invalid;
  ds_verdict verdict = ds_verdict::wrong_round;
  std::optional<ds_evidence> evidence; ///< with a bad signature
};

/// What a validator decided (also sent as actors::ds_decision).
struct ds_outcome {
  node_id self = 0;
  std::string value;      ///< the output: the single extracted value, or the default
  bool extracted = false; ///< exactly one value was extracted
  std::uint64_t verifications = 0;
  std::uint64_t refused = 0;
};

/// What a validator reports, inside its actor (cheap; thread-safe for what it
/// touches when validators run on several threads). `now` is ns since origin.
struct ds_observer {
  std::function<void(node_id self, const ds_outcome& o, std::int64_t now)> on_decided;
  std::function<void(node_id self, const ds_refusal& r, std::int64_t now)> on_refused;
};

struct ds_validator_params {
  ds_config protocol;
  node_id id = 0;
  crypto::key_pair keys = crypto::key_pair::derive(0, 0); ///< must match protocol.keys[id]
  ds_behaviour_kind behaviour = ds_behaviour_kind::honest;
  ds_behaviour_params behaviour_opts;
  std::string value;          ///< what the sender broadcasts (ignored elsewhere)
  std::int64_t origin_ns = 0; ///< time 0 on the actor clock (runtime::start_time())
  std::int64_t start_ns = 0;  ///< round 0, ns after origin
  std::int64_t round_ns = 20'000'000; ///< a round's length, > 0
  caf::actor report_to;       ///< gets ds_decision; may be null
  ds_observer observer;
};

/// Throws std::invalid_argument when the params do not fit together (id,
/// keys, n, f, round length).
caf::actor spawn_ds_validator(caf::actor_system& sys, ds_validator_params params);

/// What a group's validators reported, collected by ds_record_into() (behind
/// a mutex; read it after the run).
struct ds_record {
  struct decision {
    ds_outcome outcome;
    std::int64_t at = 0;
  };
  struct refusal {
    node_id reporter = 0;
    ds_refusal r;
    std::int64_t at = 0;
  };
  std::mutex mutex;
  std::map<node_id, decision> decided;
  std::vector<refusal> refused;
};

ds_observer ds_record_into(std::shared_ptr<ds_record> rec);

/// Introduces every validator to the others with raft_peers (ids 0..n-1 in
/// order), which starts their clocks: validator i reaches validator j
/// through `reach(i, j)` (a network proxy, say), or directly when `reach` is
/// empty.
void introduce_ds_group(const std::vector<caf::actor>& validators,
                        const std::function<caf::actor(std::size_t from, std::size_t to)>&
                            reach = {});

} // namespace marketsim::consensus::bft
