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
///
/// ## Block sync
///
/// The paper assumes every message is eventually delivered; a real network
/// loses some (a cut link, a crashed host), and a validator that missed a
/// proposal or the votes that notarized a block would stay behind for good:
/// its orphans never find their parent, and it never votes again because its
/// longest notarized chain is shorter than the leaders'. So a validator asks.
///
/// What it needs (`needs_`), each a block hash:
///   - the parent of a valid-signature proposal it cannot place (an orphan);
///   - the parent of a proposal it has but cannot vote for because that
///     parent, as high as its own best tip or higher, is not notarized on its
///     chain (it missed votes);
///   - a block it has votes for but not the block, once at least
///     n - quorum(n) + 1 validators voted for it (so at least one honest one
///     did: one Byzantine voter cannot make it chase made-up hashes).
/// A need is met when the block is on a notarized chain here; it is dropped
/// when its height is at or below the finalized height (a dead fork) or after
/// sync_max_tries asks.
///
/// Asking: after a grace of half an epoch (a message in flight is not a loss)
/// -- none for needs a sync response revealed -- the node signs one
/// sync_request with up to max_sync_wanted needs not yet asked for in this
/// epoch, plus its finalized and longest notarized heights, and sends it to
/// one peer: first the one that revealed the need, then, one epoch later,
/// the next validator, and so on. So each missing hash is asked for at most
/// once per epoch, and within f + 1 tries an honest peer has been asked.
///
/// Answering: a request with a valid signature, from the current epoch (or
/// the one before or after), within sync_answers_per_epoch of that
/// requester's in this epoch, is answered to the requester only, with at
/// most min(max_blocks asked, max_sync_blocks) blocks that are on a notarized
/// chain here: each wanted block and its ancestors above the requester's
/// finalized height, then this node's best chain above the requester's tip
/// height, walking down from the top so the blocks nearest to what the
/// requester named come first; sent lowest first. Each block goes as its
/// proposer's signed proposal with quorum(n) signed votes for it (its
/// notarization certificate); the response is signed by the responder and
/// names the request's digest. Nothing known: no answer.
///
/// Accepting: only a response to the request in flight to that responder
/// (one per peer), signed by it, with no more blocks than asked, every
/// proposal's hash and signature valid and every certificate quorum(n)
/// distinct validators' valid votes naming that block and its epoch. Any
/// flaw refuses the whole response (a rejection naming the responder) and
/// nothing in it is used; the need is asked of another peer next epoch.
/// An accepted response's proposals and votes then go through exactly the
/// path of live ones (without echo): block validation and the payload rule
/// against the parent, equivocation and invalid-block evidence, vote
/// counting, notarization, finalization.
///
/// What a Byzantine peer can do with sync, and what it gets:
///   - answer nothing, or only part: the need is asked of the next peer in
///     the following epoch (a delay of at most f epochs per need);
///   - forge signatures, send a certificate short of a quorum, or votes for
///     another block or epoch, or more blocks than asked: refused as a
///     whole, reported as a rejection (bad_signature, bad_certificate,
///     unsolicited) naming it; never counted;
///   - send a validly signed block that breaks the rules (its own or one a
///     colluding leader signed): validated like a live proposal, refused,
///     with invalid_proposal evidence against its proposer and
///     vote_for_invalid evidence against the certificate's voters;
///   - send old or fork blocks with valid certificates: harmless, they are
///     exactly what the live protocol would have delivered; safety never
///     rests on sync;
///   - push responses nobody asked for: refused (unsolicited) after one
///     signature check;
///   - flood requests: each costs a signature check; answers are limited per
///     requester and epoch and bounded in size, go only to the signed
///     requester (no reflection onto a third node), and never carry more
///     than the request asked; a replayed request from another epoch is
///     refused (stale_request), one replayed within the epoch uses up that
///     requester's answers at one responder for that epoch at most.
/// Not covered: a response is checked as a whole but a refused one is not
/// transferable evidence against its responder (that would carry the whole
/// response); there is no state transfer for nodes that fell further behind
/// than the blocks peers keep (everyone keeps every block here).

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
  // -- block sync --
  std::uint64_t sync_requests_sent = 0;
  std::uint64_t sync_responses_sent = 0;
  std::uint64_t sync_blocks_sent = 0;
  std::uint64_t sync_blocks_received = 0; ///< in accepted responses
  std::uint64_t sync_refused = 0;         ///< responses refused as a whole
  std::uint64_t sync_gave_up = 0;         ///< needs dropped after sync_max_tries
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

  /// A node that restarts without its state calls this with the epoch it
  /// restarts in: it neither proposes nor votes in epochs up to `e`, so it
  /// cannot contradict what it may have sent in that epoch before the crash
  /// (Streamlet's safety needs at most one vote per epoch per node).
  void abstain_through(epoch_t e);

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
  /// Block hashes this node is asking its peers for (block sync).
  std::vector<hash256> sync_needs() const;
  const streamlet_stats& stats() const { return stats_; }

  /// The block an honest leader of `epoch` would propose now (unsigned).
  block next_block(epoch_t epoch) const;
  /// Checks a block against its (known) parent and the payload rule.
  std::optional<reject_reason> validate(const block& b) const;

private:
  struct node_block {
    std::shared_ptr<const block> blk; ///< null while only votes are known
    crypto::signature sig;            ///< the proposer's, when blk is set (for sync)
    bool valid = false;               ///< blk known and passed validate()
    bool notarized = false;           ///< valid and quorum votes
    bool chain_notarized = false;     ///< notarized, and so is every ancestor
    std::vector<vote> votes;          ///< one per distinct voter
    std::vector<hash256> children;    ///< valid children
  };

  void advance(time_ns now, step_result& out);
  void propose(step_result& out);
  void on_proposal(const proposal& p, validator_id from, step_result& out);
  /// A proposal whose signature and hash hold; `echo`: re-broadcast it.
  void signed_proposal(const proposal& p, validator_id from, bool echo, step_result& out);
  void accept_block(const proposal& p, step_result& out);
  void on_vote(const vote& v, validator_id from, step_result& out);
  /// A vote whose signature holds; `echo`: re-broadcast it.
  void signed_vote(const vote& v, validator_id from, bool echo, step_result& out);
  void count_vote(const vote& v, validator_id from, step_result& out);
  void check_notarized(const hash256& h, step_result& out);
  void on_chain_notarized(const hash256& h, step_result& out);
  void try_finalize(const hash256& tip, step_result& out);
  void try_vote(step_result& out);
  void report(offence kind, validator_id culprit, epoch_t epoch, message first,
              std::optional<message> second, std::shared_ptr<const block> blk,
              step_result& out);
  void send(packet m, step_result& out);
  void reject(reject_reason why, validator_id from, epoch_t epoch, step_result& out);

  // -- block sync (see the header comment) --
  struct sync_need {
    std::uint64_t height = 0; ///< 0: unknown (only votes seen)
    time_ns since = 0;        ///< asked for only after a grace from here
    epoch_t asked = 0;        ///< epoch of the last ask (0: never)
    validator_id peer = 0;    ///< asked last (or first to ask)
    std::uint32_t tries = 0;
  };
  struct sync_answers {
    epoch_t epoch = 0;
    std::uint32_t count = 0;
  };
  void need(const hash256& h, std::uint64_t height, validator_id hint);
  validator_id next_peer(validator_id after) const;
  void check_parent_notarized(const block& b, validator_id from);
  void request_sync(step_result& out);
  void on_sync_request(const sync_request& r, step_result& out);
  void on_sync_response(const sync_response& r, validator_id from, step_result& out);
  std::optional<reject_reason> check_response(const sync_response& r) const;
  /// `h` and its ancestors above `floor`, up to `budget` blocks, top down.
  void collect(hash256 h, std::uint64_t floor, std::size_t budget,
               std::vector<hash256>& into) const;
  certified_block certificate_of(const hash256& h) const;
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

  std::map<hash256, sync_need> needs_;
  /// Requests in flight, by digest: the peer asked and the epoch. One
  /// response each, from that peer; forgotten two epochs later.
  std::map<hash256, std::pair<validator_id, epoch_t>> pending_;
  bool in_sync_response_ = false; ///< needs found now are asked for at once
  std::map<validator_id, sync_answers> answered_; ///< per requester

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
