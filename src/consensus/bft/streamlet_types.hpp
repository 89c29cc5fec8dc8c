#pragma once

/// The values of Streamlet (Chan & Shi, 2020): blocks, signed proposals and
/// votes, the block sync messages (signed requests, and responses carrying
/// blocks with their notarization certificates), the envelopes the core asks
/// to send, evidence of misbehaviour, and the canonical bytes that are hashed
/// and signed. Pure: no CAF, no I/O.

#include "consensus/crypto/hash.hpp"
#include "consensus/crypto/signature.hpp"

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace marketsim::consensus::bft::streamlet {

using validator_id = std::uint32_t; ///< index into the roster, 0..n-1
using epoch_t = std::uint64_t;      ///< epochs start at 1; the genesis block has epoch 0
using time_ns = std::int64_t;
using crypto::hash256;

/// Everyone, except the sender itself.
inline constexpr validator_id broadcast = std::numeric_limits<validator_id>::max();

/// How the leader of an epoch is chosen. Both are known to every validator
/// in advance; `hash` makes the sequence unpredictable-looking but fixed.
enum class leader_rule : std::uint8_t {
  round_robin, ///< leader(e) = e mod n
  hash,        ///< leader(e) = first 8 bytes of BLAKE2b-256(tag || le64(e)) mod n
};

struct streamlet_params {
  std::uint32_t n = 4;                    ///< validators; tolerates f < n/3
  time_ns epoch_duration = 1'000'000'000; ///< 2 Delta in the paper
  leader_rule leader = leader_rule::hash;
  std::size_t max_block_txs = 1'000; ///< a leader's batch; larger blocks are invalid
  /// Re-broadcast every proposal and vote on first receipt, as the paper
  /// does: after GST every honest node then sees what any honest node saw
  /// within one more Delta. Costs n times the messages; a network that
  /// already delivers every broadcast to everyone can turn it off.
  bool echo = true;
  /// Block sync (streamlet.hpp): ask peers for notarized blocks this node
  /// lacks. Off only to show what it buys (tests, benchmarks).
  bool sync = true;
  std::uint32_t max_sync_blocks = 16;       ///< blocks per response (and per request)
  std::uint32_t max_sync_wanted = 8;        ///< hashes per request
  std::uint32_t sync_answers_per_epoch = 4; ///< responses to one requester per epoch
  std::uint32_t sync_max_tries = 0;         ///< asks per missing hash; 0: 2 (n - 1)
};

/// Votes that notarize a block: ceil(2n/3).
constexpr std::uint32_t quorum(std::uint32_t n) {
  return (2 * n + 2) / 3;
}

/// The leader of `epoch` under `p`'s rule.
validator_id leader_of(const streamlet_params& p, epoch_t epoch);

/// The epoch that contains `now`: epoch e covers [(e-1) D, e D). Times
/// before 0 are in epoch 1.
epoch_t epoch_at(const streamlet_params& p, time_ns now);

/// When `epoch` starts.
time_ns epoch_start(const streamlet_params& p, epoch_t epoch);

/// A block: a batch of opaque transactions extending `parent`.
struct block {
  epoch_t epoch = 0;
  std::uint64_t height = 0; ///< parent's height + 1; genesis is 0
  hash256 parent;           ///< zero for the genesis block
  validator_id proposer = 0;
  std::vector<std::string> txs;

  friend bool operator==(const block&, const block&) = default;
};

/// Canonical body bytes (crypto/canonical.hpp):
///   tag "marketsim/streamlet/block/v1", u64 epoch, u64 height, u32 proposer,
///   u32 tx count, then each tx as u32 length + bytes.
std::string block_body_bytes(const block& b);

/// crypto::chain_hash(parent, block_body_bytes(b)).
hash256 block_hash(const block& b);

/// The block every chain starts from: epoch 0, height 0, no transactions.
const block& genesis_block();
const hash256& genesis_hash();

/// A leader's signed proposal. `hash` is what the leader claims; receivers
/// recompute it from `blk` and reject a mismatch.
struct proposal {
  std::shared_ptr<const block> blk;
  hash256 hash;
  crypto::signature sig; ///< over proposal_bytes(blk->epoch, hash)
};

/// A validator's signed vote for a block of an epoch.
struct vote {
  epoch_t epoch = 0;
  hash256 block;
  validator_id voter = 0;
  crypto::signature sig; ///< over vote_bytes(epoch, block, voter)

  friend bool operator==(const vote&, const vote&) = default;
};

/// Signed bytes: tag "marketsim/streamlet/proposal/v1", u64 epoch, hash(32).
std::string proposal_bytes(epoch_t epoch, const hash256& h);
/// Signed bytes: tag "marketsim/streamlet/vote/v1", u64 epoch, hash(32), u32 voter.
std::string vote_bytes(epoch_t epoch, const hash256& h, validator_id voter);

/// Signs `b` as its proposer (computes the hash).
proposal make_proposal(const crypto::key_pair& keys, block b);
vote make_vote(const crypto::key_pair& keys, epoch_t epoch, const hash256& h,
               validator_id voter);

bool signature_ok(const proposal& p, const crypto::public_key& key);
bool signature_ok(const vote& v, const crypto::public_key& key);

/// The signed messages of the protocol itself (what evidence is made of).
using message = std::variant<proposal, vote>;

// -- block sync ------------------------------------------------------------------

/// A validator asks one peer for notarized blocks it lacks: the blocks named
/// in `wanted` (and their ancestors above `finalized_height`), and the
/// blocks of the peer's longest notarized chain above `tip_height`.
struct sync_request {
  validator_id requester = 0;
  epoch_t epoch = 0;                  ///< the requester's epoch: stale requests are refused
  std::uint64_t finalized_height = 0; ///< the requester's finalized height
  std::uint64_t tip_height = 0;       ///< the requester's longest notarized height
  std::uint32_t max_blocks = 0;       ///< no more than this in the response
  std::vector<hash256> wanted;
  crypto::signature sig; ///< by `requester`, over sync_request_bytes

  friend bool operator==(const sync_request&, const sync_request&) = default;
};

/// A block as its proposer signed it, with the votes that notarize it:
/// quorum(n) votes of distinct validators naming its hash and its epoch.
struct certified_block {
  proposal prop;
  std::vector<vote> votes;
};

/// The answer to one sync_request: blocks, lowest height first.
struct sync_response {
  validator_id responder = 0;
  hash256 request; ///< sync_request_digest of the request it answers
  std::vector<certified_block> blocks;
  crypto::signature sig; ///< by `responder`, over sync_response_bytes
};

/// Signed bytes: tag "marketsim/streamlet/sync-request/v1", u32 requester,
/// u64 epoch, u64 finalized height, u64 tip height, u32 max blocks, u32
/// count, each wanted hash(32).
std::string sync_request_bytes(const sync_request& r);
/// BLAKE2b-256 of sync_request_bytes: names a request in its response.
hash256 sync_request_digest(const sync_request& r);
/// Signed bytes: tag "marketsim/streamlet/sync-response/v1", u32 responder,
/// request(32), u32 count, then per block its hash(32), proposal
/// signature(64), u32 vote count and each vote's u64 epoch, hash(32), u32
/// voter, signature(64). (A block's hash commits to its contents.)
std::string sync_response_bytes(const sync_response& r);

/// Signs `r` as its requester / responder (fills `sig`).
void sign(const crypto::key_pair& keys, sync_request& r);
void sign(const crypto::key_pair& keys, sync_response& r);
bool signature_ok(const sync_request& r, const crypto::public_key& key);
bool signature_ok(const sync_response& r, const crypto::public_key& key);

/// Everything a validator sends another.
using packet = std::variant<proposal, vote, sync_request, sync_response>;

/// True for sync_request and sync_response.
bool is_sync(const packet& m);

/// One message to send. `from` is the network sender (an echo is sent by the
/// echoing node; the signature names the author). `to` is a validator or
/// `broadcast`.
struct envelope {
  validator_id from = 0;
  validator_id to = broadcast;
  packet msg;
};

/// The wire form of a packet, for actors and hosts: canonical bytes
/// (crypto/canonical.hpp) of tag "marketsim/streamlet/wire/v1", u8 kind
/// (0 proposal, 1 vote, 2 sync request, 3 sync response), then for a
/// proposal the block's fields (u64 epoch, u64 height, parent(32), u32
/// proposer, u32 count, each tx as bytes), its hash(32) and signature(64);
/// for a vote u64 epoch, hash(32), u32 voter, signature(64); for a sync
/// request its signed fields (as sync_request_bytes, without the tag) and
/// signature(64); for a sync response u32 responder, request(32), u32 count,
/// each block as a proposal above (without the kind) followed by u32 vote
/// count and the votes (without the kind), then signature(64). Decoding
/// checks only the form; signatures and hashes are the core's business
/// (receive() checks them).
std::string encode_message(const packet& m);
/// nullopt on any malformed input (wrong tag or kind, truncation, trailing
/// bytes); never allocates more than the input's size.
std::optional<packet> decode_message(std::string_view bytes);

/// Offences an honest node can prove with signed messages.
enum class offence : std::uint8_t {
  double_proposal,     ///< two different signed proposals for one epoch
  double_vote,         ///< two signed votes for different blocks in one epoch
  proposal_not_leader, ///< a signed proposal by a validator not leading that epoch
  vote_for_invalid,    ///< a signed vote for a block that breaks the rules
  invalid_proposal,    ///< a leader's signed proposal of a block that breaks the rules
};
std::string_view to_string(offence o);

/// Proof of an offence: the signed message(s) themselves. Anyone with the
/// roster can check it (verify_evidence) without trusting the reporter.
struct evidence {
  offence kind = offence::double_vote;
  validator_id culprit = 0;
  epoch_t epoch = 0;
  message first;
  std::optional<message> second; ///< for double_proposal and double_vote
  /// For vote_for_invalid and invalid_proposal: the offending block (so a
  /// checker can re-validate it).
  std::shared_ptr<const block> invalid_block;
};

/// True iff the signatures check out under `roster` and the messages conflict
/// as `e.kind` says (for vote_for_invalid and invalid_proposal: the message
/// is signed and names `invalid_block`'s hash; whether the block breaks the
/// rules is for the checker to re-validate).
bool verify_evidence(const evidence& e, const streamlet_params& p,
                     const std::vector<crypto::public_key>& roster);

/// Why a message was not accepted. Not evidence: unsigned or wrongly signed
/// bytes prove nothing about who sent them.
enum class reject_reason : std::uint8_t {
  bad_signature,
  unknown_validator,
  hash_mismatch, ///< the proposal's hash is not the hash of its block
  bad_structure, ///< height or epoch does not follow the parent, or the parent is invalid
  too_many_txs,
  invalid_payload, ///< the application's payload rule refused the transactions
  // -- block sync --
  bad_certificate, ///< a synced block's votes are not quorum(n) valid votes for it
  unsolicited,     ///< a sync response no request of ours asked for, or more than asked
  stale_request,   ///< a sync request from another epoch (a replay)
  rate_limited,    ///< a requester's sync requests beyond sync_answers_per_epoch
};
std::string_view to_string(reject_reason r);

struct rejection {
  reject_reason reason;
  validator_id from = 0;
  epoch_t epoch = 0;
};

/// What one call into the core produced.
struct step_result {
  std::vector<envelope> sends;
  /// Newly finalized blocks, oldest first, each exactly once per node.
  std::vector<std::shared_ptr<const block>> finalized;
  std::vector<evidence> misbehaviour;
  std::vector<rejection> rejected;

  void append(step_result&& other);
};

} // namespace marketsim::consensus::bft::streamlet
