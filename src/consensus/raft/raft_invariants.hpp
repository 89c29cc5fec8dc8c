#pragma once

/// Raft's safety properties as code (Raft paper, figure 3), checked over the
/// whole history of a run. Tests call `observe()` on every node after every
/// step and `observe_applied()` with what each node hands to its state
/// machine; a violation is recorded as a sentence, never thrown.
///
/// - election safety: at most one leader per term, ever;
/// - log matching: two logs holding an entry with the same index and term hold
///   the same entry there and the same term just before it (by induction:
///   the same prefix);
/// - leader completeness: an entry known committed when some node had term T
///   is in the log (or snapshot) of every leader of a term >= T;
/// - state machine safety: no two nodes apply different entries at an index;
///   each node applies indexes in order, without gaps (a snapshot restore
///   moves its applied point);
/// - commit monotonicity: a node's commit index never goes back while it
///   runs (a restart loses it: `observe_restart`), and never passes its log.

#include "consensus/raft/raft.hpp"

#include <cstddef>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace marketsim::consensus::raft {

class invariant_checker {
public:
  /// Checks `n`'s current state against everything observed so far.
  void observe(const node& n);
  /// `n` handed these entries to its state machine (an output's `committed`).
  void observe_applied(node_id id, const std::vector<log_entry>& committed);
  /// `n`'s state machine was restored from a snapshot up to `last_index`.
  void observe_restore(node_id id, index_t last_index);
  /// `n` crashed and restarts: its volatile state (commit index) is gone.
  void observe_restart(node_id id);

  bool ok() const { return violations_.empty(); }
  const std::vector<std::string>& violations() const { return violations_; }
  /// The violations, one a line (empty when ok).
  std::string report() const;

private:
  struct entry_record {
    entry_kind kind;
    std::size_t data_hash;
    std::optional<term_t> prev_term;
  };
  struct key_hash {
    std::size_t operator()(const std::pair<index_t, term_t>& k) const {
      return std::hash<index_t>{}(k.first * 0x9E3779B97F4A7C15ull ^ k.second);
    }
  };

  void fail(std::string what);
  void check_entries(const node& n);
  void check_commits(const node& n);

  std::map<term_t, node_id> leaders_;
  std::unordered_map<std::pair<index_t, term_t>, entry_record, key_hash> entries_;
  std::map<index_t, std::pair<term_t, term_t>>
      committed_; ///< index -> (entry term, seen at term)
  std::map<node_id, index_t> commit_seen_;
  std::map<index_t, std::pair<term_t, std::size_t>>
      applied_; ///< index -> (term, data hash)
  std::map<node_id, index_t> applied_upto_;
  std::vector<std::string> violations_;
};

} // namespace marketsim::consensus::raft
