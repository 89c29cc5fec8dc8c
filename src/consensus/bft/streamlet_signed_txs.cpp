#include "consensus/bft/streamlet_signed_txs.hpp"

#include "consensus/crypto/batch_verify.hpp"
#include "consensus/crypto/canonical.hpp"
#include "consensus/crypto/hash.hpp"

#include <algorithm>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace marketsim::consensus::bft::streamlet {

namespace {

/// Signatures this rule verified already (signer, signature and the
/// message's BLAKE2b-256 as one key: a batch's message may be kilobytes): a
/// validator meets the same transaction in its pool, in its own proposal
/// and in others' blocks, and a leader whose pool holds a bad transaction
/// tries its batch one transaction at a time; each signature is verified
/// once. Bounded: emptied when full. Guarded: copies of the rule share it.
class verified_cache {
public:
  static constexpr std::size_t capacity = 1 << 16;

  static std::string key_of(const signed_tx& t) {
    const auto h = crypto::blake2b_256(t.message);
    std::string k(t.signer.bytes.begin(), t.signer.bytes.end());
    k.append(t.sig.bytes.begin(), t.sig.bytes.end());
    k.append(h.bytes.begin(), h.bytes.end());
    return k;
  }
  bool contains(const std::string& k) {
    std::lock_guard<std::mutex> lock{mutex_};
    return keys_.count(k) > 0;
  }
  void insert(std::vector<std::string> ks) {
    std::lock_guard<std::mutex> lock{mutex_};
    if (keys_.size() + ks.size() > capacity)
      keys_.clear();
    for (auto& k : ks)
      keys_.insert(std::move(k));
  }

private:
  std::mutex mutex_;
  std::unordered_set<std::string> keys_;
};

/// The numbers a block claims: per scope, disjoint ranges [first, last] by
/// their first number (inclusive, so that a range may end at the largest
/// number).
class claimed_ranges {
public:
  /// False if the range is empty or does not fit in 64 bits.
  static bool well_formed(const signed_tx& t) {
    return t.count >= 1 &&
           t.first <= std::numeric_limits<std::uint64_t>::max() - (t.count - 1);
  }
  /// False if `t`'s range overlaps a range claimed already.
  bool claim(const signed_tx& t) {
    auto& ranges = scopes_[t.scope];
    if (overlaps(ranges, t))
      return false;
    ranges.emplace(t.first, t.first + (t.count - 1));
    return true;
  }
  using range_map = std::map<std::uint64_t, std::uint64_t>; ///< first -> last
  const std::map<std::string, range_map>& scopes() const { return scopes_; }

private:
  static bool overlaps(const range_map& ranges, const signed_tx& t) {
    const auto last = t.first + (t.count - 1);
    auto next =
        ranges.lower_bound(t.first); // the first range starting at or after `first`
    if (next != ranges.end() && next->first <= last)
      return true;
    return next != ranges.begin() && std::prev(next)->second >= t.first;
  }

  std::map<std::string, range_map> scopes_;
};

/// The numbers claimed along a chain, as a persistent treap keyed by
/// (scope, first) holding each range's last number: inserting path-copies
/// O(log R) nodes and leaves the tree it started from intact, so a block's
/// tree shares all but those nodes with its parent's, and sibling forks
/// each get their own tree. Nodes are immutable once built: trees may be
/// read without a lock. Priorities are a hash of the key (expected depth
/// O(log R) for any set of keys not chosen against the hash).
struct range_node {
  std::uint32_t scope = 0;
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  std::uint64_t priority = 0;
  std::shared_ptr<const range_node> left, right;
};
using range_tree = std::shared_ptr<const range_node>;

std::uint64_t mix(std::uint64_t x) { // splitmix64's finalizer
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

bool key_less(std::uint32_t s1, std::uint64_t f1, std::uint32_t s2, std::uint64_t f2) {
  return s1 != s2 ? s1 < s2 : f1 < f2;
}

range_tree with_children(const range_node& n, range_tree left, range_tree right) {
  auto copy = std::make_shared<range_node>(n);
  copy->left = std::move(left);
  copy->right = std::move(right);
  return copy;
}

/// (keys < (scope, first), keys >= (scope, first)).
std::pair<range_tree, range_tree> split(const range_tree& t, std::uint32_t scope,
                                        std::uint64_t first) {
  if (!t)
    return {};
  if (key_less(t->scope, t->first, scope, first)) {
    auto [lo, hi] = split(t->right, scope, first);
    return {with_children(*t, t->left, std::move(lo)), std::move(hi)};
  }
  auto [lo, hi] = split(t->left, scope, first);
  return {std::move(lo), with_children(*t, std::move(hi), t->right)};
}

/// `t` with `n` added (n has no children; its key is not in `t`).
range_tree insert(const range_tree& t, const range_node& n) {
  if (!t || n.priority > t->priority) {
    auto [lo, hi] = split(t, n.scope, n.first);
    return with_children(n, std::move(lo), std::move(hi));
  }
  if (key_less(n.scope, n.first, t->scope, t->first))
    return with_children(*t, insert(t->left, n), t->right);
  return with_children(*t, t->left, insert(t->right, n));
}

/// True iff [first, last] of `scope` meets a range of `t`. The ranges of a
/// scope are disjoint, so the only candidate is the one starting last at or
/// before `last`.
bool overlaps(const range_tree& t, std::uint32_t scope, std::uint64_t first,
              std::uint64_t last) {
  const range_node* candidate = nullptr;
  for (const range_node* n = t.get(); n;) {
    if (key_less(scope, last, n->scope, n->first)) {
      n = n->left.get();
    } else {
      candidate = n;
      n = n->right.get();
    }
  }
  return candidate && candidate->scope == scope && candidate->last >= first;
}

/// Per block hash, the tree of the numbers claimed by the chain ending at
/// that block (content-addressed: a hash names its whole chain, so the
/// entry holds whichever core's view found the block). Built from the
/// parent's tree when first needed, so checking a block reads only its
/// parent's transactions, and only the first time: the cost of a check does
/// not grow with the chain's height. Memory: trees of blocks below the
/// finalized height are dropped (nothing honest extends them), except every
/// `checkpoint_every`-th height, so a block on a dead fork reads at most its
/// fork and `checkpoint_every` blocks below it, once per finalized height;
/// what the other trees share
/// stays, which is one node per range of the chain plus O(log R) nodes per
/// block not yet final. Guarded: copies of the rule share it.
class chain_index {
public:
  static constexpr std::uint64_t checkpoint_every = 64;

  /// The tree of the chain ending at `tip` (empty for genesis or a block
  /// `view` does not know).
  range_tree tree_of(const hash256& tip, const streamlet_core& view,
                     const signed_tx_decoder& decode, signed_tx_counters& counters) {
    std::lock_guard<std::mutex> lock{mutex_};
    // Up to the nearest block whose tree is known...
    std::vector<std::pair<hash256, const block*>> path;
    range_tree tree;
    for (hash256 h = tip;;) {
      if (auto it = trees_.find(h); it != trees_.end()) {
        tree = it->second;
        break;
      }
      const block* b = view.find(h);
      if (!b || b->height == 0)
        break;
      path.emplace_back(h, b);
      h = b->parent;
    }
    // ...then down, adding each block's ranges.
    for (auto it = path.rbegin(); it != path.rend(); ++it) {
      tree = with_block(std::move(tree), *it->second, decode, counters);
      trees_.emplace(it->first, tree);
      by_height_[it->second->height].push_back(it->first);
    }
    prune(view.finalized().size());
    return tree;
  }

  /// The index of a scope some chain claimed numbers of; nullopt: none did.
  std::optional<std::uint32_t> known_scope(const std::string& scope) {
    std::lock_guard<std::mutex> lock{mutex_};
    auto it = scopes_.find(scope);
    return it == scopes_.end() ? std::nullopt : std::optional{it->second};
  }

private:
  std::uint32_t scope_id_locked(const std::string& scope) {
    return scopes_.try_emplace(scope, static_cast<std::uint32_t>(scopes_.size()))
        .first->second;
  }

  /// `tree` plus the ranges of `b`, a block of the chain (it passed this
  /// rule, so its ranges meet nothing in `tree`; a transaction that does
  /// not decode or would overlap is left out, as it cannot be in a valid
  /// block).
  range_tree with_block(range_tree tree, const block& b, const signed_tx_decoder& decode,
                        signed_tx_counters& counters) {
    counters.chain_blocks.fetch_add(1, std::memory_order_relaxed);
    counters.decoded.fetch_add(b.txs.size(), std::memory_order_relaxed);
    for (const auto& tx : b.txs) {
      auto t = decode(tx);
      if (!t || !claimed_ranges::well_formed(*t))
        continue;
      range_node n;
      n.scope = scope_id_locked(t->scope);
      n.first = t->first;
      n.last = t->first + (t->count - 1);
      if (overlaps(tree, n.scope, n.first, n.last))
        continue;
      n.priority = mix(mix(n.first) ^ n.scope);
      tree = insert(tree, n);
    }
    return tree;
  }

  /// Once per newly finalized height (so a tree rebuilt for a dead fork
  /// serves until the next one).
  void prune(std::uint64_t finalized_height) {
    if (finalized_height <= pruned_below_)
      return;
    pruned_below_ = finalized_height;
    while (!by_height_.empty() && by_height_.begin()->first < finalized_height) {
      auto node = by_height_.extract(by_height_.begin());
      if (node.key() % checkpoint_every == 0)
        continue; // kept for good
      for (const auto& h : node.mapped())
        trees_.erase(h);
    }
  }

  std::mutex mutex_;
  std::unordered_map<hash256, range_tree> trees_;
  std::map<std::uint64_t, std::vector<hash256>> by_height_; ///< not yet pruned
  std::map<std::string, std::uint32_t> scopes_;
  std::uint64_t pruned_below_ = 0;
};

} // namespace

payload_check signed_once_rule(signed_tx_decoder decode,
                               std::shared_ptr<signed_tx_counters> counters) {
  auto cache = std::make_shared<verified_cache>();
  auto index = std::make_shared<chain_index>();
  if (!counters)
    counters = std::make_shared<signed_tx_counters>();
  return [decode = std::move(decode), cache, index,
          counters](const block& b, const streamlet_core& view) {
    claimed_ranges claimed;
    std::vector<signed_tx> txs;
    std::vector<std::string> keys;
    counters->decoded.fetch_add(b.txs.size(), std::memory_order_relaxed);
    for (const auto& tx : b.txs) {
      auto t = decode(tx);
      if (!t || !claimed_ranges::well_formed(*t) || !claimed.claim(*t))
        return false;
      auto k = verified_cache::key_of(*t);
      if (cache->contains(k)) {
        counters->cached.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      keys.push_back(std::move(k));
      txs.push_back(std::move(*t));
    }
    // The new signatures at once: in parallel when there are enough for it
    // to pay.
    std::vector<crypto::verify_item> items;
    items.reserve(txs.size());
    for (const auto& t : txs)
      items.push_back({&t.signer, crypto::as_bytes(t.message), &t.sig});
    counters->verified.fetch_add(items.size(), std::memory_order_relaxed);
    if (!crypto::verify_all(items))
      return false;
    cache->insert(std::move(keys));
    // No number it claims may be claimed along the chain it extends.
    const auto chain = index->tree_of(b.parent, view, decode, *counters);
    for (const auto& [scope, ranges] : claimed.scopes()) {
      const auto id = index->known_scope(scope);
      if (!id)
        continue; // the chain claims none of this scope's numbers
      for (const auto& [first, last] : ranges)
        if (overlaps(chain, *id, first, last))
          return false;
    }
    return true;
  };
}

std::string_view signed_prefix(std::string_view tx) {
  return tx.substr(0, tx.size() - std::min(tx.size(), crypto::signature{}.bytes.size()));
}

crypto::signature forged_signature(std::uint64_t noise) {
  crypto::signature sig;
  auto h = crypto::blake2b_256(crypto::canonical_writer("forgery").u64(noise).data());
  std::copy(h.bytes.begin(), h.bytes.end(), sig.bytes.begin());
  std::copy(h.bytes.begin(), h.bytes.end(), sig.bytes.begin() + 32);
  return sig;
}

} // namespace marketsim::consensus::bft::streamlet
