#pragma once

/// Exactly-once commands for Raft clients (Ongaro's dissertation, section
/// 6.3): a client that resends a command after a lost or missing answer must
/// not have it applied twice, and must get the first application's answer.
///
/// A validator stores every client command in its log entry behind a small
/// header (wrap_command): the client's session id, the command's sequence
/// number in that session, and `acked_below`, the client's promise that it
/// holds the answers to every sequence number below it and will not resend
/// them. Session 0 means no session (the command is applied every time it
/// is committed).
///
/// Every replica keeps the same table (it is part of the replicated state:
/// the validator snapshots it with its state machine): per session, the
/// answers to the commands applied at or above its `acked_below`. Before a
/// committed command is applied, check() says whether it is new; a
/// duplicate is not applied again and is answered with the recorded answer
/// (its index and term are the first application's). Answers below
/// `acked_below` are dropped, so a session holds about its client's in-flight
/// window. Sessions are evicted least-recently-used (by log index: the same
/// on every replica) beyond `max_sessions`; a command of an evicted session
/// that comes back is applied as new, so the bound should be well above the
/// number of live clients.
///
/// Pure: no CAF, no clock, no I/O.

#include "consensus/raft/decoded.hpp"
#include "consensus/raft/raft_types.hpp"

#include <cstdint>
#include <optional>
#include <vector>
#include <string>
#include <string_view>
#include <unordered_map>

namespace marketsim::consensus::raft {

struct session_header {
  std::uint64_t session = 0; ///< 0: no session
  std::uint64_t seq = 0;
  std::uint64_t acked_below = 0;

  friend bool operator==(const session_header&, const session_header&) = default;
};

/// The entry bytes: a version byte (0: no session, 1: a session follows as
/// three varints), then the command.
std::string wrap_command(const session_header& h, std::string_view command);

struct unwrapped_command {
  session_header header;
  std::string_view command; ///< points into the bytes given to unwrap_command
};
/// Refuses bytes with an unknown version or a truncated header.
decoded<unwrapped_command> unwrap_command(std::string_view bytes);

class client_sessions {
public:
  enum class outcome : std::uint8_t { committed = 0, rejected = 1 };

  /// The answer a command got when it was applied.
  struct answer {
    outcome status = outcome::committed;
    std::string output;
    std::string error;
    index_t index = 0;
    term_t term = 0;

    friend bool operator==(const answer&, const answer&) = default;
  };

  explicit client_sessions(std::size_t max_sessions = 4096) : max_sessions_(max_sessions) {}

  /// Empty: apply the command (new, or no session). Else it was applied
  /// before: do not apply, answer this. A command below its session's
  /// acked_below has no answer any more: it gets status rejected and an
  /// error saying so. Also takes the header's acked_below (dropping answers
  /// below it) and marks the session used at `index`.
  std::optional<answer> check(const session_header& h, index_t index);

  /// Records what applying the command of `h` (at `index`, a new command
  /// per check()) gave. No-op for session 0.
  void record(const session_header& h, outcome status, std::string_view output,
              std::string_view error, index_t index, term_t term);

  std::size_t sessions() const { return sessions_.size(); }
  /// Answers kept over all sessions.
  std::size_t answers() const;

  /// Appends the sessions to a ValidatorSnapshot's bytes (see raft.proto).
  std::string snapshot_with(std::string_view machine_bytes) const;
  /// Splits a ValidatorSnapshot: restores the sessions (replacing these) and
  /// returns the machine's bytes; or why the bytes were refused (then
  /// nothing changed).
  decoded<std::string> restore_from(std::string_view bytes);

private:
  /// An answer as kept: its output and error are bytes of the session's
  /// arena, so keeping one allocates nothing in the steady state.
  struct stored {
    std::uint64_t seq = 0;
    outcome status = outcome::committed;
    index_t index = 0;
    term_t term = 0;
    std::uint64_t offset = 0; ///< of output then error, in arena coordinates
    std::uint32_t output_size = 0;
    std::uint32_t error_size = 0;
  };

  /// One client's answers, ascending seq, from `head` on (the ones before
  /// are dropped and compacted away now and then). Commands arrive in about
  /// seq order: appends at the back, drops at the front.
  struct session {
    std::uint64_t acked_below = 0;
    index_t last_used = 0;
    std::vector<stored> answers;
    std::size_t head = 0;
    std::string arena;          ///< the answers' bytes
    std::uint64_t arena_base = 0; ///< the arena coordinate of arena[0]

    const stored* find(std::uint64_t seq) const;
    void put(std::uint64_t seq, outcome status, std::string_view output,
             std::string_view error, index_t index, term_t term);
    void drop_below(std::uint64_t seq);
    answer materialize(const stored& a) const;
    std::size_t size() const { return answers.size() - head; }
  };

  /// The session of `h` (created, evicting the least recently used when
  /// full), marked used at `index`, with `h`'s acked_below taken.
  session& touch(const session_header& h, index_t index);
  void evict_if_full();

  std::size_t max_sessions_;
  std::unordered_map<std::uint64_t, session> sessions_;
};

} // namespace marketsim::consensus::raft
