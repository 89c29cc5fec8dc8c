#pragma once

/// The Streamlet validator actor: a thin CAF shell around the pure core
/// (streamlet.hpp), optionally under a Byzantine behaviour policy
/// (byzantine.hpp), in the style of the Raft validator (raft/validator.hpp).
///
/// ## Talking to a validator (plain sends, see actors/consensus_messages.hpp)
/// - `raft_peers`: the group's ids and handles (direct, network proxies or
///   remote actors). The first one starts the validator's clock; peers'
///   messages that arrive before it are held (up to 100,000) and handled
///   right after, so a vote is never cast to nobody.
/// - `streamlet_wire{from, bytes}`: a proposal or vote from a peer, in the
///   wire form of encode_message. Bytes that do not decode (or decode to a
///   sync message) are rejected, counted and logged (at most once per
///   sender); the core checks signatures and hashes.
/// - `streamlet_sync{from, bytes}`: a block sync request or response from a
///   peer (streamlet.hpp), same wire form; the validator answers and asks
///   with it too, over the same handles as its votes. Bytes that are not a
///   sync message (or a proposal or vote sent as sync) are malformed.
/// - `streamlet_submit{txs}`: client transactions for the pool.
/// - its own `streamlet_tick`, every `tick_interval` on a grid aligned with
///   epoch starts: the core enters each epoch on time and proposes.
///
/// ## Price consensus
/// With `prices` set, every validator runs the same simulated feeds (same
/// seed, one sample at the start of every epoch), so each has its own view.
/// The epoch's leader aggregates its view into a price_proposal and proposes
/// its canonical bytes (price_codec.hpp) as a transaction of the block; the
/// payload rule lets a block carry at most one price proposal, of the block's
/// epoch, that check_proposal accepts against the voter's own view, where the
/// last finalized price is the newest price on the chain the block extends
/// (so every honest validator judges a block the same way). A bad proposal
/// makes the block invalid: no honest vote, and evidence against the leader.
/// With `shift_bps`, a (Byzantine) leader moves its proposed price by that
/// much and believes its own lie.
///
/// ## Coins
/// With `coin_issuer`, the other transactions must be coin transfers under
/// coin_rules (streamlet_coins.hpp); without it they are opaque.

#include "consensus/bft/byzantine.hpp"
#include "consensus/bft/price_aggregation.hpp"
#include "consensus/bft/price_feed.hpp"

#include <caf/fwd.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace marketsim::consensus::bft::streamlet {

struct price_mode {
  std::string symbol = "AAPL";
  reference_walk_params walk;
  std::vector<feed_source_params> sources;
  std::uint64_t feed_seed = 1; ///< the same for every validator
  aggregation_rules rules;
  proposal_tolerance tolerance;
  std::int64_t shift_bps = 0; ///< Byzantine: the leader proposes price * (1 + shift)
};

/// What a validator reports. Runs inside the validator's actor: cheap, and
/// thread-safe for what it touches when validators run on several threads.
struct validator_observer {
  std::function<void(validator_id self, const std::shared_ptr<const block>& b, time_ns now)>
      on_finalized;
  std::function<void(validator_id self, const evidence& e, time_ns now)> on_evidence;
  /// A message the core refused (bad signature, invalid block, ...).
  std::function<void(validator_id self, const rejection& r, time_ns now)> on_rejected;
  /// Wire bytes that did not decode.
  std::function<void(validator_id self, validator_id from, time_ns now)> on_malformed;
};

struct streamlet_validator_params {
  streamlet_params protocol;
  validator_id id = 0;
  crypto::key_pair keys = crypto::key_pair::derive(0, 0); ///< must match roster[id]
  std::vector<crypto::public_key> roster;
  behaviour_kind behaviour = behaviour_kind::honest;
  behaviour_params behaviour_opts;
  std::optional<crypto::public_key> coin_issuer;
  std::optional<price_mode> prices;
  /// The application's own payload rule (shard-signed trades, say); with
  /// prices or coins a block must pass both. Empty: none.
  payload_check payload;
  /// Time 0 of the epochs on the actor clock (ns since the clock's epoch):
  /// the same for the whole group (runtime::start_time()).
  std::int64_t origin_ns = 0;
  time_ns tick_interval = 0; ///< 0: a quarter epoch
  /// A validator (re)started after the group's genesis without its state:
  /// it neither proposes nor votes in the epoch it starts in (see
  /// streamlet_core::abstain_through), so a restart within the epoch of a
  /// crash cannot make it equivocate.
  bool rejoin = false;
  validator_observer observer;
};

/// The payload rule of a validator (prices and coins as above); exposed for
/// tests. `quotes_of(e)` returns the validator's feed quotes of epoch e
/// (nullptr: it has none); `believe_own` skips the agreement check for the
/// proposals this validator itself made (a lying leader).
payload_check price_and_coin_rules(
    const price_mode* prices, std::optional<crypto::public_key> coin_issuer,
    std::function<const std::vector<price_quote>*(epoch_t)> quotes_of,
    const streamlet_params& protocol);

/// The newest price proposal on the chain ending at `tip` (inclusive).
std::optional<price_proposal> last_price_on_chain(const streamlet_core& view,
                                                  const hash256& tip);

/// Decodes the price proposal a block carries, if any.
std::optional<price_proposal> price_of(const block& b);

caf::actor spawn_streamlet_validator(caf::actor_system& sys,
                                     streamlet_validator_params params);

/// What a group's validators reported, collected by record_into() (behind a
/// mutex, so real-time runs may use it too; read it after the run).
struct group_record {
  struct finality {
    std::shared_ptr<const block> blk;
    time_ns at = 0;
  };
  struct report {
    validator_id reporter = 0;
    evidence ev;
    time_ns at = 0;
  };
  std::mutex mutex;
  std::map<validator_id, std::vector<finality>> finalized;
  std::vector<report> evidence;
  std::map<validator_id, std::uint64_t> rejected;
  std::map<validator_id, std::uint64_t> malformed;
};

/// An observer that appends everything to `rec`.
validator_observer record_into(std::shared_ptr<group_record> rec);

/// Spawns one validator per params (ids 0..n-1 in order) and introduces them
/// to each other with raft_peers, which starts their clocks.
std::vector<caf::actor> spawn_streamlet_group(caf::actor_system& sys,
                                              std::vector<streamlet_validator_params> params);

} // namespace marketsim::consensus::bft::streamlet
