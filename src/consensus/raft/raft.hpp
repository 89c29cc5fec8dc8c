#pragma once

/// The Raft core: one node's protocol state machine. Pure and synchronous: no
/// CAF, no clock, no I/O, no threads. Messages and time are inputs; every call
/// returns an `output` saying what to persist, what to send, when to call
/// `tick()` next and which entries became committed.
///
/// ## Using it (the actor's loop)
///
///     auto out = n.step(msg, now);       // or n.tick(now), n.propose(cmd).out
///     1. persist, in this order: truncate the log from `out.truncate_from`,
///        append `out.appended`, store `out.persist_state`, store
///        `out.installed_snapshot` (and drop the log up to its last index);
///     2. then send `out.sends`;
///     3. restore the state machine from `out.installed_snapshot` if any, then
///        apply `out.committed` in order (noop and config entries included:
///        skip them, they carry no command);
///     4. arm one timer for `out.wake_at` and call `tick()` when it fires
///        (calling it early is harmless).
///
/// A node that restarts is built from what was persisted (`persistent_state`).
/// Its commit index is volatile: it restarts at the snapshot's last index and
/// the node re-learns it from the leader, so entries after the snapshot are
/// committed (and handed out) again; the state machine restores from the
/// snapshot first.
///
/// ## Client requests
///
/// `propose()` on a non-leader returns `raft_error::not_leader` and the leader
/// this node knows (or `no_node`): redirect there. On a leader it returns the
/// index and term the command got; the command is committed when an entry
/// with that index *and that term* comes out in `committed`. If the entry at
/// that index comes out with another term, the command was lost (leader
/// change) and may be retried. During a leadership transfer the leader
/// answers `raft_error::transferring` with the target as `leader_hint`.
/// `proposal::out` is an output like any other (persist, send, apply).
///
/// ## What is implemented (and the choices made)
///
/// - Leader election with randomized timeouts drawn from a seeded stream,
///   the up-to-date log check, and PreVote (thesis 9.6, `raft_params::pre_vote`)
///   plus the leader lease check: a node that heard from a leader less than
///   `election_timeout_min` ago, and a leader itself, ignores (pre)votes of a
///   higher term (thesis 4.2.3), so a partitioned or removed node cannot
///   disrupt a working cluster. A vote request resets the election timer
///   only when the vote is granted (Raft 5.2), so candidates with stale logs
///   cannot keep up-to-date nodes from campaigning.
/// - CheckQuorum (`raft_params::check_quorum`): a leader that has not heard
///   from a majority within `election_timeout_max` steps down.
/// - Log replication with the log-matching check and fast back-up: a
///   rejection carries the follower's conflicting term and its first index,
///   and the leader skips the whole term. Per follower, a `probe` mode (one
///   append at a time until the match point is found) and a `replicate` mode
///   (pipelined: `next` advances optimistically, at most `max_inflight`
///   appends unacknowledged, each append at most `max_entries_per_append`
///   entries and `max_bytes_per_append` bytes). A lost append shows up as a
///   rejected heartbeat (whose `prev_index` is the optimistic `next - 1`), which
///   sends the follower back to probe.
/// - A new leader appends a noop; only entries of the current term are
///   committed by counting matchIndex (older ones are committed with them).
/// - Snapshots: `compact()` replaces the applied prefix of the log with a
///   snapshot; a follower whose `next` falls into the compacted prefix gets
///   the whole snapshot in one `install_snapshot` (retried every
///   `snapshot_retry_heartbeats` heartbeats until answered).
/// - Membership: single-server changes (thesis 4.1). `add_voter`/`remove_voter`
///   append a config entry that takes effect on every node as soon as it is
///   in its log (not when committed); a truncated config entry reverts to the
///   previous one. One change at a time: a change is refused while the last
///   config entry is uncommitted, and before the leader has committed its
///   term's noop (the fix of the single-server bug, Ongaro 2015). A leader
///   that removes itself keeps leading without counting itself and steps down
///   once the entry is committed. A new voter is added without a catch-up
///   phase (no learners): safe, but the cluster may stall for a moment while
///   it catches up. A node not in its own config never campaigns. A leader
///   that steps down after its removal hands over with `timeout_now` to the
///   most up-to-date voter, so the cluster need not wait for a timeout.
/// - Leadership transfer (thesis 3.10): `transfer_leadership(to)` stops new
///   proposals (`raft_error::transferring`), brings `to` up to date, then
///   sends it `timeout_now`; `to` campaigns at once (no pre-vote) and its
///   votes pass the lease check. Abandoned after `election_timeout_max`.

#include "actors/random.hpp"
#include "consensus/raft/raft_messages.hpp"
#include "consensus/raft/raft_types.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace marketsim::consensus::raft {

/// Time in nanoseconds on whatever clock the caller uses (virtual or real).
using time_ns = std::int64_t;

struct raft_params {
  time_ns election_timeout_min = 150'000'000;
  time_ns election_timeout_max = 300'000'000;
  time_ns heartbeat_interval = 50'000'000;
  std::size_t max_entries_per_append = 512;
  std::size_t max_bytes_per_append = 1 << 20;
  std::size_t max_inflight = 16; ///< unacknowledged appends per follower
  int snapshot_retry_heartbeats = 4;
  bool pre_vote = true;
  bool check_quorum = true;
};

enum class node_role : std::uint8_t { follower, pre_candidate, candidate, leader };

/// Errors of the client-facing calls, as values.
enum class raft_error : std::uint8_t {
  ok,
  not_leader,       ///< redirect to the leader hint
  leader_not_ready, ///< a config change before the leader committed its noop
  change_pending,   ///< a config change while another is uncommitted
  no_change,        ///< add of a voter / remove of a non-voter / last voter
  bad_index,        ///< compact() outside (snapshot index, applied index]
  transferring,     ///< the leader is handing over: retry at the new leader
};

std::string_view to_string(node_role x);
std::string_view to_string(raft_error x);

/// What one call produced. See the header comment for the order of work.
struct output {
  std::optional<index_t> truncate_from; ///< drop persisted entries >= this
  std::vector<log_entry> appended;      ///< then append these (index order)
  std::optional<hard_state> persist_state;
  std::optional<snapshot> installed_snapshot; ///< from the leader: persist, restore
  std::vector<message> sends;
  std::vector<log_entry> committed; ///< newly committed, in index order
  time_ns wake_at = 0;              ///< call tick() at (or after) this time
};

/// What a node finds on disk when it (re)starts.
struct persistent_state {
  hard_state state;
  snapshot snap; ///< last_index 0: none
  /// The entries after snap.meta.last_index, in order (entries the snapshot
  /// covers may be listed too: they are skipped).
  std::vector<log_entry> log;
};

/// Config entries carry the voters as 4-byte little-endian ids.
std::string encode_config(const cluster_config& c);
cluster_config decode_config(std::string_view data);

class node {
public:
  /// `bootstrap` is the config used while neither the snapshot nor the log
  /// holds one: the initial voters on every founding node, empty on a node
  /// that will join through `add_voter` (it waits for the leader).
  node(node_id self, cluster_config bootstrap, raft_params params, std::uint64_t seed,
       time_ns now, persistent_state restored = {});

  output step(const message& m, time_ns now);
  output tick(time_ns now);

  struct proposal {
    raft_error error = raft_error::ok;
    node_id leader_hint = no_node; ///< with not_leader: who to ask instead
    index_t index = 0;             ///< the (first) entry's index
    term_t term = 0;
    output out;
  };

  /// Appends one command (leader only) and starts replicating it.
  proposal propose(std::string command);
  /// Appends several commands as consecutive entries, one round of appends.
  proposal propose_batch(std::vector<std::string> commands);
  proposal add_voter(node_id id);
  proposal remove_voter(node_id id);
  /// Hands leadership to voter `to` (see the header comment).
  proposal transfer_leadership(node_id to);

  /// Replaces the log up to `up_to` (<= the applied index) with a snapshot
  /// holding `state`. The caller persists `last_snapshot()` and drops its
  /// stored entries <= up_to.
  raft_error compact(index_t up_to, std::string state);

  // -- status ------------------------------------------------------------------

  node_id id() const { return id_; }
  node_role role() const { return role_; }
  term_t term() const { return hs_.term; }
  node_id leader() const { return leader_; }
  hard_state current_hard_state() const { return hs_; }
  index_t commit_index() const { return commit_; }
  index_t applied_index() const { return applied_; } ///< handed out in `committed`
  index_t snapshot_index() const { return snap_.meta.last_index; }
  index_t last_index() const { return snap_.meta.last_index + log_.size(); }
  term_t last_term() const;
  /// The term at `i`: known for the snapshot's last index and the log; none
  /// for a compacted or a future index. term_at(0) is 0.
  std::optional<term_t> term_at(index_t i) const;
  /// The entry at `i`, or nullptr when compacted or beyond the log.
  const log_entry* entry(index_t i) const;
  const snapshot& last_snapshot() const { return snap_; }
  const cluster_config& config() const { return config_; }
  index_t config_index() const { return config_index_; }
  bool is_voter(node_id id) const;
  time_ns wake_at() const;

private:
  enum class peer_mode : std::uint8_t { probe, replicate, snapshot };

  struct peer {
    index_t match = 0;
    index_t next = 1;
    peer_mode mode = peer_mode::probe;
    std::size_t inflight = 0; ///< replicate: appends not acknowledged
    bool probe_sent = false;  ///< probe: an append is out, wait for its reply
    bool recent_active = false;
    int snapshot_wait = 0; ///< heartbeats since the last install_snapshot
  };

  // -- one call: begin, work, finish ----------------------------------------
  void begin(time_ns now);
  output finish();

  // -- message handlers ---------------------------------------------------------
  void on(const request_vote& m);
  void on(const vote_reply& m);
  void on(const append_entries& m);
  void on(const append_reply& m);
  void on(const install_snapshot& m);
  void on(const snapshot_reply& m);
  void on(const timeout_now& m);

  // -- roles --------------------------------------------------------------------
  void become_follower(term_t term, node_id leader);
  void start_campaign(bool pre, bool transfer);
  void become_leader();
  void campaign();
  void count_vote(node_id from, bool granted);
  bool follow(term_t term, node_id leader);
  void heard_from_leader(node_id leader);
  bool in_lease() const;
  void reset_election_deadline();

  // -- leader -------------------------------------------------------------------
  peer* replying_peer(term_t term, node_id from);
  void send_append(node_id to, peer& p, bool heartbeat);
  void send_more(node_id to, peer& p);
  void send_snapshot(node_id to, peer& p);
  void broadcast();
  void maybe_commit();
  void maybe_send_timeout_now(node_id to, const peer& p);
  void sync_peers();
  proposal change_config(node_id id, bool add);
  proposal append_commands(std::vector<std::string> commands);

  // -- log ----------------------------------------------------------------------
  void append_local(log_entry e);
  void truncate_local(index_t from);
  void recompute_config();
  bool log_up_to_date(index_t last_index, term_t last_term) const;
  index_t first_index_of_term(index_t at) const;
  std::optional<index_t> last_index_of_term(term_t t) const;

  void send(message m) { out_.sends.push_back(std::move(m)); }
  std::size_t quorum() const { return config_.voters.size() / 2 + 1; }

  node_id id_;
  raft_params params_;
  actors::random_stream rng_;
  cluster_config bootstrap_;

  hard_state hs_;
  snapshot snap_;
  std::deque<log_entry> log_; ///< entries snap_.meta.last_index + 1 ...
  cluster_config config_;
  index_t config_index_ = 0;
  index_t commit_ = 0;
  index_t applied_ = 0;

  node_role role_ = node_role::follower;
  node_id leader_ = no_node;
  std::map<node_id, bool> votes_;
  std::map<node_id, peer> peers_; ///< leader: every voter but this node
  index_t term_start_index_ = 0;  ///< leader: the index of its noop
  node_id transfer_to_ = no_node; ///< leader: handing over to this voter
  time_ns transfer_deadline_ = 0;

  time_ns now_ = 0;
  time_ns election_deadline_ = 0;
  time_ns heartbeat_deadline_ = 0;
  time_ns quorum_deadline_ = 0;
  std::optional<time_ns> leader_contact_; ///< last message from the leader

  output out_;
  hard_state hs_at_begin_;
};

} // namespace marketsim::consensus::raft
