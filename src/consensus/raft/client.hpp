#pragma once

/// The client side of a validator group: finds the leader by redirect,
/// retries, and measures commit latency.
///
/// A user sends the client `raft_submit{request_id, command}` (or a
/// raft_submit_batch); the client forwards it to the validator it believes
/// leads, and forwards to the user the final `raft_submit_reply` for each
/// request id: `committed` or `rejected` (the state machine's refusal, still
/// an entry of the log). Answers settled by one message travel to the user
/// together, as a `raft_submit_reply_batch` (reply_groups.hpp). On the way
/// it follows `redirect` replies (to the hint, or the next validator when
/// there is none), resends on `lost` and `unavailable`, and resends to the
/// next validator when no answer came within `retry_after` (a crashed leader
/// answers nothing; one timer per message sent, covering the requests it
/// carried). After `max_attempts` sends the client gives up and answers
/// `unavailable` itself, so a user never waits forever.
///
/// Exactly once: the client is a session (client_sessions.hpp) and numbers
/// its requests; a command resent after a lost answer that commits twice is
/// applied once, and the resend gets the first application's answer. Only
/// `unavailable` (given up) leaves the outcome open: the command may still
/// commit later.
///
/// A `raft_peers` message replaces the handles of the validators it lists
/// (a restarted validator is a new actor) and adds validators it does not
/// know.
///
/// `raft_client_stats_request` returns `raft_client_stats`: requests,
/// commits, retries and commit latency percentiles (ns, from the user's
/// submit reaching the client to the committed reply reaching it).

#include <caf/fwd.hpp>

#include <chrono>
#include <cstdint>
#include <vector>

namespace marketsim::consensus::raft {

struct client_params {
  std::vector<std::uint32_t> ids; ///< the validators' ids
  std::vector<caf::actor> handles; ///< and their handles, in the same order
  std::chrono::nanoseconds retry_after{std::chrono::milliseconds{500}};
  std::uint32_t max_attempts = 20;
  std::uint32_t first_guess = 0; ///< index into ids of the first validator to try
  /// Commands sent per message to the leader (raft_submit_batch); commands
  /// arriving while a batch is open wait at most `batch_window` (0: send each
  /// at once).
  std::uint32_t max_batch = 1;
  std::chrono::nanoseconds batch_window{0};
  /// The client's session id (non-zero, unique among the group's clients);
  /// 0: drawn at random when the client is spawned.
  std::uint64_t session = 0;
};

/// Spawns the client. Throws std::invalid_argument for empty or mismatched
/// ids and handles.
caf::actor spawn_raft_client(caf::actor_system& sys, client_params params);

} // namespace marketsim::consensus::raft
