#pragma once

/// The Streamlet core (Chan & Shi, "Streamlet: Textbook Streamlined
/// Blockchains", 2020) of one validator. Pure and synchronous: no CAF, no
/// threads, no clock; time is an input and every call returns what to send
/// and what was finalized (step_result).
///
/// The protocol, as implemented:
///   - Epoch e covers [(e-1) D, e D). Its leader (round robin or by a hash of
///     e) proposes, once, a block extending the tip of a longest notarized
///     chain it has seen, with a batch of transactions from its pool.
///   - During epoch e, a validator votes (signed, broadcast) for the first
///     valid proposal of epoch e from e's leader whose parent is the tip of a
///     longest notarized chain it has seen; at most one vote per epoch.
///   - A block with votes from quorum(n) = ceil(2n/3) distinct validators is
///     notarized; a notarized chain is one whose every block is notarized.
///   - When a notarized chain holds three blocks with consecutive epochs
///     e, e+1, e+2, the middle block and its whole prefix are final.
///   - With `echo`, every new valid proposal and vote is re-broadcast once.
///
/// What an honest node refuses: any message whose signature does not verify
/// (never counted, never stored), a proposal whose hash is not its block's,
/// a block that does not follow its parent (height, epoch) or breaks the
/// payload rule. What it proves (step_result::evidence): two proposals or two
/// votes signed by one validator for one epoch, a proposal signed by a
/// non-leader, a vote for an invalid block, a leader's invalid proposal.

#include "consensus/bft/streamlet_types.hpp"

#include <functional>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>

namespace marketsim::consensus::bft::streamlet {

class streamlet_core;

/// The application's rule for a block's transactions, given the chain it
/// extends (walk it with view.find(b.parent)). Empty: every batch is valid.
using payload_check = std::function<bool(const block& b, const streamlet_core& view)>;

/// Counters for reports and tests.
struct streamlet_stats {
  std::uint64_t proposals_sent = 0;
  std::uint64_t votes_sent = 0;
  std::uint64_t echoes_sent = 0;
  std::uint64_t rejected = 0;
  std::uint64_t evidence = 0;
  /// A block this node would finalize conflicts with what it already
  /// finalized: only possible when f >= n/3. The block is not finalized.
  std::uint64_t conflicting_finalizations = 0;
};

class streamlet_core {
public:
  /// `roster[i]` is validator i's public key; `keys` must match roster[self].
  streamlet_core(streamlet_params params, validator_id self, crypto::key_pair keys,
                 std::vector<crypto::public_key> roster, payload_check check = {});

  /// Moves the clock to `now`: enters a new epoch if one started and, as its
  /// leader, proposes (once per epoch).
  step_result tick(time_ns now);

  /// Handles a message from the network (after tick(now)'s epoch logic).
  step_result receive(const envelope& e, time_ns now);

  /// Adds a transaction to the pool a leader batches from. Duplicates (same
  /// bytes) are ignored; finalized transactions leave the pool.
  void submit(std::string tx);

  // -- what the node knows (tests, behaviours, payload rules) -----------------

  const streamlet_params& params() const { return params_; }
  validator_id self() const { return self_; }
  const crypto::key_pair& keys() const { return keys_; }
  const std::vector<crypto::public_key>& roster() const { return roster_; }
  epoch_t epoch() const { return epoch_; }

  /// A known, valid block (genesis included), or nullptr.
  const block* find(const hash256& h) const;
  /// True iff `h` and all its ancestors are notarized.
  bool chain_notarized(const hash256& h) const;
  const hash256& longest_notarized_tip() const { return best_tip_; }
  std::uint64_t longest_notarized_height() const { return best_height_; }
  /// Hashes of finalized blocks, heights 1, 2, ... in order (no genesis).
  const std::vector<hash256>& finalized() const { return finalized_; }
  std::size_t pool_size() const { return pool_.size(); }
  const streamlet_stats& stats() const { return stats_; }

  /// The block an honest leader of `epoch` would propose now (unsigned).
  block next_block(epoch_t epoch) const;
  /// Checks a block against its (known) parent and the payload rule.
  std::optional<reject_reason> validate(const block& b) const;

private:
  struct node_block {
    std::shared_ptr<const block> blk; ///< null while only votes are known
    bool valid = false;               ///< blk known and passed validate()
    bool notarized = false;           ///< valid and quorum votes
    bool chain_notarized = false;     ///< notarized, and so is every ancestor
    std::vector<vote> votes;          ///< one per distinct voter
    std::vector<hash256> children;    ///< valid children
  };

  void advance(time_ns now, step_result& out);
  void propose(step_result& out);
  void on_proposal(const proposal& p, validator_id from, step_result& out);
  void accept_block(const proposal& p, step_result& out);
  void on_vote(const vote& v, validator_id from, step_result& out);
  void count_vote(const vote& v, step_result& out);
  void check_notarized(const hash256& h, step_result& out);
  void on_chain_notarized(const hash256& h, step_result& out);
  void try_finalize(const hash256& tip, step_result& out);
  void try_vote(step_result& out);
  void report(offence kind, validator_id culprit, epoch_t epoch, message first,
              std::optional<message> second, std::shared_ptr<const block> blk,
              step_result& out);
  void send(message m, step_result& out);
  std::vector<std::string> batch_for(const block& draft) const;

  streamlet_params params_;
  validator_id self_;
  crypto::key_pair keys_;
  std::vector<crypto::public_key> roster_;
  payload_check check_;

  time_ns now_ = 0;
  epoch_t epoch_ = 0;
  epoch_t proposed_epoch_ = 0;
  epoch_t voted_epoch_ = 0;

  std::map<hash256, node_block> blocks_;
  /// Valid-signature proposals whose parent is not known yet, by parent hash.
  std::map<hash256, std::vector<proposal>> orphans_;
  /// Proposals from each epoch's leader, in arrival order (vote candidates).
  std::map<epoch_t, std::vector<proposal>> leader_proposals_;
  /// Proposals (by hash) and votes already handled with a valid signature:
  /// echoes and replays of them stop here, so an echo never echoes twice.
  std::set<hash256> seen_proposals_;
  std::set<std::tuple<validator_id, epoch_t, hash256>> seen_votes_;
  /// The first vote of each (voter, epoch): equivocation detection.
  std::map<std::pair<validator_id, epoch_t>, vote> first_votes_;
  /// Offences already reported: (kind, culprit, epoch).
  std::set<std::tuple<offence, validator_id, epoch_t>> reported_;

  hash256 best_tip_;
  std::uint64_t best_height_ = 0;
  std::vector<hash256> finalized_;

  /// The pool, in arrival order, and the index from tx hash to its place.
  std::map<std::uint64_t, std::string> pool_;
  std::unordered_map<hash256, std::uint64_t> pool_index_; ///< never iterated
  std::uint64_t pool_seq_ = 0;

  streamlet_stats stats_;
};

} // namespace marketsim::consensus::bft::streamlet
