#include "consensus/raft/raft_invariants.hpp"

#include <functional>
#include <sstream>

namespace marketsim::consensus::raft {

namespace {
std::size_t hash_of(const log_entry& e) {
  return std::hash<std::string>{}(e.data);
}
} // namespace

void invariant_checker::fail(std::string what) {
  if (violations_.size() < 20) // the first ones tell the story
    violations_.push_back(std::move(what));
}

std::string invariant_checker::report() const {
  std::string s;
  for (const auto& v : violations_)
    s += v + "\n";
  return s;
}

void invariant_checker::observe(const node& n) {
  if (n.role() == node_role::leader) {
    auto [it, fresh] = leaders_.emplace(n.term(), n.id());
    if (!fresh && it->second != n.id())
      fail("election safety: term " + std::to_string(n.term()) + " has leaders " +
           std::to_string(it->second) + " and " + std::to_string(n.id()));
  }
  if (n.commit_index() > n.last_index())
    fail("node " + std::to_string(n.id()) + " commits " +
         std::to_string(n.commit_index()) + " beyond its last index " +
         std::to_string(n.last_index()));
  check_entries(n);
  check_commits(n);
}

void invariant_checker::check_entries(const node& n) {
  for (index_t i = n.snapshot_index() + 1; i <= n.last_index(); ++i) {
    const log_entry& e = *n.entry(i);
    if (e.index != i) {
      fail("node " + std::to_string(n.id()) + " holds index " + std::to_string(e.index) +
           " at position " + std::to_string(i));
      return;
    }
    const entry_record rec{e.kind, hash_of(e), n.term_at(i - 1)};
    auto [it, fresh] = entries_.emplace(std::pair{i, e.term}, rec);
    if (fresh)
      continue;
    entry_record& seen = it->second;
    if (seen.kind != rec.kind || seen.data_hash != rec.data_hash)
      fail("log matching: node " + std::to_string(n.id()) +
           " holds another entry at index " + std::to_string(i) + " term " +
           std::to_string(e.term));
    if (!seen.prev_term)
      seen.prev_term = rec.prev_term;
    else if (rec.prev_term && *rec.prev_term != *seen.prev_term)
      fail("log matching: node " + std::to_string(n.id()) + " at index " +
           std::to_string(i) + " term " + std::to_string(e.term) +
           " follows another term (" + std::to_string(*rec.prev_term) + " vs " +
           std::to_string(*seen.prev_term) + ")");
  }
}

void invariant_checker::check_commits(const node& n) {
  const std::string who = "node " + std::to_string(n.id());
  index_t& seen = commit_seen_[n.id()];
  if (n.commit_index() < seen)
    fail(who + ": commit index went back from " + std::to_string(seen) + " to " +
         std::to_string(n.commit_index()));
  // Record what became committed here (the part still in the log).
  for (index_t i = std::max(seen, n.snapshot_index()) + 1; i <= n.commit_index(); ++i) {
    const term_t t = *n.term_at(i);
    auto [it, fresh] = committed_.emplace(i, std::pair{t, n.term()});
    if (!fresh) {
      if (it->second.first != t)
        fail("committed entries differ at index " + std::to_string(i) + ": term " +
             std::to_string(t) + " at " + who + ", term " +
             std::to_string(it->second.first) + " before");
      it->second.second = std::min(it->second.second, n.term());
    }
  }
  seen = std::max(seen, n.commit_index());
  if (n.role() != node_role::leader)
    return;
  // Leader completeness, for the part of the committed history past its snapshot.
  for (auto it = committed_.lower_bound(n.snapshot_index()); it != committed_.end();
       ++it) {
    const auto [index, terms] = *it;
    if (terms.second > n.term())
      continue;
    const std::optional<term_t> t = n.term_at(index);
    if (!t || *t != terms.first) {
      fail("leader completeness: leader " + std::to_string(n.id()) + " of term " +
           std::to_string(n.term()) + " lacks committed index " + std::to_string(index) +
           " of term " + std::to_string(terms.first));
      return;
    }
  }
}

void invariant_checker::observe_applied(node_id id,
                                        const std::vector<log_entry>& committed) {
  index_t& upto = applied_upto_[id];
  for (const log_entry& e : committed) {
    if (e.index != upto + 1)
      fail("node " + std::to_string(id) + " applies index " + std::to_string(e.index) +
           " after " + std::to_string(upto));
    upto = e.index;
    auto [it, fresh] = applied_.emplace(e.index, std::pair{e.term, hash_of(e)});
    if (!fresh && it->second != std::pair{e.term, hash_of(e)})
      fail("state machine safety: node " + std::to_string(id) +
           " applies another entry at index " + std::to_string(e.index));
  }
}

void invariant_checker::observe_restore(node_id id, index_t last_index) {
  applied_upto_[id] = last_index;
}

void invariant_checker::observe_restart(node_id id) {
  commit_seen_[id] = 0;
}

} // namespace marketsim::consensus::raft
