#pragma once

/// The messages Raft nodes exchange. Plain aggregates (no CAF): the actor
/// layer adds its `inspect()` overloads in its own file. Every message names
/// its sender and its receiver, so a message is self-contained on the wire.

#include "consensus/raft/raft_types.hpp"

#include <string_view>
#include <variant>
#include <vector>

namespace marketsim::consensus::raft {

/// RequestVote. With `pre_vote`, a probe (Raft thesis 9.6): `term` is the term
/// the sender would campaign in, and nobody changes state when answering.
/// With `transfer`, the leader asked for this election (timeout_now): the
/// leader lease does not hold it back.
struct request_vote {
  term_t term = 0;
  node_id from = no_node;
  node_id to = no_node;
  index_t last_log_index = 0;
  term_t last_log_term = 0;
  bool pre_vote = false;
  bool transfer = false;

  friend bool operator==(const request_vote&, const request_vote&) = default;
};

struct vote_reply {
  term_t term = 0;
  node_id from = no_node;
  node_id to = no_node;
  bool granted = false;
  bool pre_vote = false;

  friend bool operator==(const vote_reply&, const vote_reply&) = default;
};

/// AppendEntries; an empty `entries` is a heartbeat. `entries[k].index` is
/// `prev_index + 1 + k`.
struct append_entries {
  term_t term = 0;
  node_id from = no_node;
  node_id to = no_node;
  index_t prev_index = 0;
  term_t prev_term = 0;
  std::vector<log_entry> entries;
  index_t commit_index = 0;

  friend bool operator==(const append_entries&, const append_entries&) = default;
};

/// On success `index` is the last index known to match the leader's log. On
/// failure `index` is the rejected `prev_index`, and the hint says where the
/// leader should back up to: `conflict_term` is the follower's term at
/// `prev_index` (0 when its log is shorter) and `conflict_index` the first
/// index of that term in its log (or its last index + 1 when shorter).
struct append_reply {
  term_t term = 0;
  node_id from = no_node;
  node_id to = no_node;
  bool success = false;
  index_t index = 0;
  index_t conflict_index = 0;
  term_t conflict_term = 0;

  friend bool operator==(const append_reply&, const append_reply&) = default;
};

/// The whole snapshot in one message (no chunking).
struct install_snapshot {
  term_t term = 0;
  node_id from = no_node;
  node_id to = no_node;
  snapshot snap;

  friend bool operator==(const install_snapshot&, const install_snapshot&) = default;
};

/// `last_index`: the follower's log now matches the leader's up to here.
struct snapshot_reply {
  term_t term = 0;
  node_id from = no_node;
  node_id to = no_node;
  index_t last_index = 0;

  friend bool operator==(const snapshot_reply&, const snapshot_reply&) = default;
};

/// Leadership transfer (thesis 3.10): the leader tells an up-to-date
/// follower to start an election at once.
struct timeout_now {
  term_t term = 0;
  node_id from = no_node;
  node_id to = no_node;

  friend bool operator==(const timeout_now&, const timeout_now&) = default;
};

using message = std::variant<request_vote, vote_reply, append_entries, append_reply,
                             install_snapshot, snapshot_reply, timeout_now>;

inline node_id sender(const message& m) {
  return std::visit([](const auto& x) { return x.from; }, m);
}
inline node_id receiver(const message& m) {
  return std::visit([](const auto& x) { return x.to; }, m);
}
inline term_t term_of(const message& m) {
  return std::visit([](const auto& x) { return x.term; }, m);
}

/// A short name for logs and test output ("append_entries", ...).
std::string_view message_name(const message& m);

} // namespace marketsim::consensus::raft
