#pragma once

/// The consensus layer's messages on the wire: inspect() for the pure Raft
/// core's values and messages (consensus/raft/raft_messages.hpp, which stay
/// free of CAF), and the messages between validators and their clients.
/// Registered with the rest of the vocabulary in add_message_types().
///
/// Validators and clients talk with plain sends and a request id, never with
/// caf::request: the network layer (network/endpoints.hpp) cannot carry
/// response ids, and a validator answers a client only once the command is
/// committed, long after the message that carried it.

#include "consensus/bft/dolev_strong.hpp"
#include "consensus/raft/raft_messages.hpp"

#include <caf/actor.hpp>
#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

// -- the Raft core's values and messages -----------------------------------------

namespace marketsim::consensus::raft {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, log_entry& x) {
  return f(caf::meta::type_name("marketsim.raft.log_entry"), x.term, x.index, x.kind, x.data);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_config& x) {
  return f(caf::meta::type_name("marketsim.raft.cluster_config"), x.voters);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, snapshot_meta& x) {
  return f(caf::meta::type_name("marketsim.raft.snapshot_meta"), x.last_index, x.last_term,
           x.config);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, snapshot& x) {
  return f(caf::meta::type_name("marketsim.raft.snapshot"), x.meta, x.data);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, request_vote& x) {
  return f(caf::meta::type_name("marketsim.raft.request_vote"), x.term, x.from, x.to,
           x.last_log_index, x.last_log_term, x.pre_vote, x.transfer);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, vote_reply& x) {
  return f(caf::meta::type_name("marketsim.raft.vote_reply"), x.term, x.from, x.to, x.granted,
           x.pre_vote);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, append_entries& x) {
  return f(caf::meta::type_name("marketsim.raft.append_entries"), x.term, x.from, x.to,
           x.prev_index, x.prev_term, x.entries, x.commit_index);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, append_reply& x) {
  return f(caf::meta::type_name("marketsim.raft.append_reply"), x.term, x.from, x.to,
           x.success, x.index, x.conflict_index, x.conflict_term);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, install_snapshot& x) {
  return f(caf::meta::type_name("marketsim.raft.install_snapshot"), x.term, x.from, x.to,
           x.snap);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, snapshot_reply& x) {
  return f(caf::meta::type_name("marketsim.raft.snapshot_reply"), x.term, x.from, x.to,
           x.last_index);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, timeout_now& x) {
  return f(caf::meta::type_name("marketsim.raft.timeout_now"), x.term, x.from, x.to);
}

} // namespace marketsim::consensus::raft

// -- the Dolev-Strong core's values (consensus/bft/dolev_strong.hpp) ---------------

namespace marketsim::consensus::crypto {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, signature& x) {
  return f(caf::meta::type_name("marketsim.crypto.signature"), x.bytes);
}

} // namespace marketsim::consensus::crypto

namespace marketsim::consensus::bft {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ds_link& x) {
  return f(caf::meta::type_name("marketsim.ds_link"), x.signer, x.sig);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ds_message& x) {
  return f(caf::meta::type_name("marketsim.ds_message"), x.instance, x.sender, x.value,
           x.chain);
}

} // namespace marketsim::consensus::bft

// -- validators and their clients ---------------------------------------------------

namespace marketsim::actors {

/// The other validators of a group: `ids[k]` is reached through `handles[k]`
/// (the validator itself, direct handles, network proxies or remote actors).
/// A validator starts its clock when it gets this.
struct raft_peers {
  std::vector<std::uint32_t> ids;
  std::vector<caf::actor> handles;

  friend bool operator==(const raft_peers& a, const raft_peers& b) {
    return a.ids == b.ids && a.handles == b.handles;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, raft_peers& x) {
  return f(caf::meta::type_name("marketsim.raft_peers"), x.ids, x.handles);
}

/// A validator's reading of raft_peers: every id but `self` with its handle
/// into `peers` (replacing older handles). False, and nothing changed, when
/// the ids and handles do not pair up.
inline bool take_peers(const raft_peers& p, std::uint32_t self,
                       std::map<std::uint32_t, caf::actor>& peers) {
  if (p.ids.size() != p.handles.size())
    return false;
  for (std::size_t k = 0; k < p.ids.size(); ++k)
    if (p.ids[k] != self)
      peers[p.ids[k]] = p.handles[k];
  return true;
}

/// A client's command for the replicated state machine. The answer, a
/// raft_submit_reply with the same request_id, goes to the sender.
///
/// With a `session` (non-zero; consensus/raft/client_sessions.hpp) the
/// command is applied at most once: request_id is its sequence number in the
/// session, and a resend that commits again is not applied again but
/// answered with the first application's answer. `acked_below`: the client
/// holds the answers to every request id below it and will not resend them.
struct raft_submit {
  std::uint64_t request_id = 0;
  std::string command;
  std::uint64_t session = 0;
  std::uint64_t acked_below = 0;

  friend bool operator==(const raft_submit&, const raft_submit&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, raft_submit& x) {
  return f(caf::meta::type_name("marketsim.raft_submit"), x.request_id, x.command, x.session,
           x.acked_below);
}

/// Several commands in one message, appended as consecutive entries; one
/// raft_submit_reply per command.
struct raft_submit_batch {
  std::vector<raft_submit> commands;

  friend bool operator==(const raft_submit_batch&, const raft_submit_batch&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, raft_submit_batch& x) {
  return f(caf::meta::type_name("marketsim.raft_submit_batch"), x.commands);
}

enum class raft_submit_status : std::uint8_t {
  committed, ///< in the log of a majority and applied here; `result` holds the output
  redirect,  ///< this validator is not the leader: ask `leader_hint` (0: unknown yet)
  lost,      ///< the leader lost its term before the entry committed: retry
  rejected,  ///< the state machine refused the command (`reason`), committed anyway
  unavailable, ///< the validator cannot take commands (stopping, storage failed)
};

std::string_view to_string(raft_submit_status x);

struct raft_submit_reply {
  std::uint64_t request_id = 0;
  raft_submit_status status = raft_submit_status::committed;
  std::uint32_t leader_hint = 0; ///< redirect: the validator this one follows
  std::uint64_t index = 0;       ///< committed / rejected: the entry's index
  std::uint64_t term = 0;
  std::string result; ///< committed: what the state machine returned
  std::string reason; ///< rejected / unavailable: why

  friend bool operator==(const raft_submit_reply&, const raft_submit_reply&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, raft_submit_reply& x) {
  return f(caf::meta::type_name("marketsim.raft_submit_reply"), x.request_id, x.status,
           x.leader_hint, x.index, x.term, x.result, x.reason);
}

/// Several answers in one message: what a validator or a raft client sends
/// when one step answers several commands of the same sender (a group of one
/// goes as a plain raft_submit_reply). Senders of raft_submit_batch must
/// accept both.
struct raft_submit_reply_batch {
  std::vector<raft_submit_reply> replies;

  friend bool operator==(const raft_submit_reply_batch&,
                         const raft_submit_reply_batch&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, raft_submit_reply_batch& x) {
  return f(caf::meta::type_name("marketsim.raft_submit_reply_batch"), x.replies);
}

/// Adds or removes one voter (single-server change, consensus/raft/raft.hpp).
/// Send it to the leader; the answer is a raft_submit_reply with the same
/// request_id: `committed` once the configuration entry is committed,
/// `redirect` from a follower, `rejected` with the reason when the change is
/// refused (another change pending, the leader's term not yet committed, no
/// change). A validator that is added must be spawned with an empty
/// configuration and introduced (raft_peers) to the group first.
struct raft_membership {
  std::uint64_t request_id = 0;
  bool add = true;
  std::uint32_t id = 0;

  friend bool operator==(const raft_membership&, const raft_membership&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, raft_membership& x) {
  return f(caf::meta::type_name("marketsim.raft_membership"), x.request_id, x.add, x.id);
}

/// Asks a validator for a raft_status (sent back to the sender).
struct raft_status_request {
  friend bool operator==(const raft_status_request&, const raft_status_request&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, raft_status_request&) {
  return f(caf::meta::type_name("marketsim.raft_status_request"));
}

struct raft_status {
  std::uint32_t id = 0;
  std::uint8_t role = 0; ///< consensus::raft::node_role
  std::uint64_t term = 0;
  std::uint32_t leader = 0;
  std::uint64_t commit_index = 0;
  std::uint64_t applied_index = 0;
  std::uint64_t last_index = 0;
  std::uint64_t snapshot_index = 0;
  std::string state_hash; ///< the state machine's, hex
  std::uint64_t elections_won = 0;
  std::int64_t became_leader_ns = -1; ///< last time this validator became leader
  std::string failure;                ///< storage or state machine failure, if any

  friend bool operator==(const raft_status&, const raft_status&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, raft_status& x) {
  return f(caf::meta::type_name("marketsim.raft_status"), x.id, x.role, x.term, x.leader,
           x.commit_index, x.applied_index, x.last_index, x.snapshot_index, x.state_hash,
           x.elections_won, x.became_leader_ns, x.failure);
}

/// A validator's own timer: call the core's tick() (at the time it asked for).
struct raft_wake {
  std::int64_t at_ns = 0;

  friend bool operator==(const raft_wake&, const raft_wake&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, raft_wake& x) {
  return f(caf::meta::type_name("marketsim.raft_wake"), x.at_ns);
}

/// Asks a raft client (consensus/raft/client.hpp) for its raft_client_stats.
struct raft_client_stats_request {
  friend bool operator==(const raft_client_stats_request&,
                         const raft_client_stats_request&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, raft_client_stats_request&) {
  return f(caf::meta::type_name("marketsim.raft_client_stats_request"));
}

/// What a raft client did: requests from its users, their outcomes, the
/// sends it made for them, and commit latency (user's submit to committed
/// reply, ns; 0 when nothing committed).
struct raft_client_stats {
  std::uint64_t requests = 0;
  std::uint64_t committed = 0;
  std::uint64_t rejected = 0;
  std::uint64_t gave_up = 0;
  std::uint64_t sends = 0;
  std::uint64_t redirects = 0;
  std::uint64_t timeouts = 0;
  std::uint64_t lost = 0;
  std::int64_t latency_p50_ns = 0;
  std::int64_t latency_p90_ns = 0;
  std::int64_t latency_p99_ns = 0;
  std::int64_t latency_max_ns = 0;
  std::int64_t first_commit_ns = -1; ///< client clock, ns since its epoch
  std::int64_t last_commit_ns = -1;
  /// The longest time between two consecutive commits while requests were
  /// outstanding (a failover shows here), and when it ended.
  std::int64_t longest_gap_ns = 0;
  std::int64_t longest_gap_end_ns = -1;

  friend bool operator==(const raft_client_stats&, const raft_client_stats&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, raft_client_stats& x) {
  return f(caf::meta::type_name("marketsim.raft_client_stats"), x.requests, x.committed,
           x.rejected, x.gave_up, x.sends, x.redirects, x.timeouts, x.lost, x.latency_p50_ns,
           x.latency_p90_ns, x.latency_p99_ns, x.latency_max_ns, x.first_commit_ns,
           x.last_commit_ns, x.longest_gap_ns, x.longest_gap_end_ns);
}

/// A raft client's own timers: flush the open batch (send 0), or the retry
/// deadline of the requests of one send.
struct raft_client_timer {
  std::uint64_t send = 0; ///< 0: flush the open batch; else the send's number

  friend bool operator==(const raft_client_timer&, const raft_client_timer&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, raft_client_timer& x) {
  return f(caf::meta::type_name("marketsim.raft_client_timer"), x.send);
}

// -- streamlet validators (consensus/bft/streamlet_validator.hpp) ----------------------
// Peers are introduced with raft_peers (ids and handles of the group).

/// A Streamlet message between validators: the wire bytes of
/// consensus/bft/streamlet_types.hpp (encode_message), decoded and checked by
/// the receiver (malformed bytes are rejected and counted, never trusted).
/// `from` is the network sender (an echo is sent by the echoing node).
struct streamlet_wire {
  std::uint32_t from = 0;
  std::string bytes;

  friend bool operator==(const streamlet_wire&, const streamlet_wire&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, streamlet_wire& x) {
  return f(caf::meta::type_name("marketsim.streamlet_wire"), x.from, x.bytes);
}

/// Block sync between Streamlet validators: a sync request or a sync
/// response (consensus/bft/streamlet.hpp) in the wire bytes of encode_message.
/// Apart from streamlet_wire so that live gossip and catch-up traffic can be
/// told apart (counted, limited or prioritised) by whatever carries them; it
/// travels the same way (network proxies when a network is configured).
/// Bytes that do not decode to a sync message are rejected like malformed
/// streamlet_wire bytes. `from` is the network sender; the signature inside
/// names the author.
struct streamlet_sync {
  std::uint32_t from = 0;
  std::string bytes;

  friend bool operator==(const streamlet_sync&, const streamlet_sync&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, streamlet_sync& x) {
  return f(caf::meta::type_name("marketsim.streamlet_sync"), x.from, x.bytes);
}

/// A client's transaction for a Streamlet validator's pool (opaque bytes;
/// the payload rule decides at proposal and vote time). No answer: clients
/// learn of finalization from the validators' observer.
struct streamlet_submit {
  std::vector<std::string> txs;

  friend bool operator==(const streamlet_submit&, const streamlet_submit&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, streamlet_submit& x) {
  return f(caf::meta::type_name("marketsim.streamlet_submit"), x.txs);
}

/// A Streamlet validator's own timer: tick the core at `at_ns`.
struct streamlet_tick {
  std::int64_t at_ns = 0;

  friend bool operator==(const streamlet_tick&, const streamlet_tick&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, streamlet_tick& x) {
  return f(caf::meta::type_name("marketsim.streamlet_tick"), x.at_ns);
}

// -- dolev-strong validators (consensus/bft/dolev_strong_validator.hpp) ----------------
// Peers are introduced with raft_peers (ids and handles of the group).

/// A signed chain between Dolev-Strong validators. `from` is the network
/// sender, for logs only: the signatures are what the receiver trusts.
struct ds_wire {
  std::uint32_t from = 0;
  consensus::bft::ds_message msg;

  friend bool operator==(const ds_wire&, const ds_wire&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ds_wire& x) {
  return f(caf::meta::type_name("marketsim.ds_wire"), x.from, x.msg);
}

/// A Dolev-Strong validator's own timer: round `round` begins.
struct ds_tick {
  std::uint32_t round = 0;

  friend bool operator==(const ds_tick&, const ds_tick&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ds_tick& x) {
  return f(caf::meta::type_name("marketsim.ds_tick"), x.round);
}

/// A validator's decision after round f+1 of broadcast `instance`: `value`
/// is its output (the single value it extracted, or the default).
struct ds_decision {
  std::uint32_t validator = 0;
  std::uint64_t instance = 0;
  std::string value;
  bool extracted = false; ///< exactly one value was extracted
  std::uint32_t rounds = 0;
  std::uint64_t verifications = 0; ///< Ed25519 verifications it did
  std::uint64_t refused = 0;       ///< chains it refused

  friend bool operator==(const ds_decision&, const ds_decision&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ds_decision& x) {
  return f(caf::meta::type_name("marketsim.ds_decision"), x.validator, x.instance, x.value,
           x.extracted, x.rounds, x.verifications, x.refused);
}

} // namespace marketsim::actors
