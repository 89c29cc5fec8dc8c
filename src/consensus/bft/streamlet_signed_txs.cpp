#include "consensus/bft/streamlet_signed_txs.hpp"

#include "consensus/crypto/batch_verify.hpp"
#include "consensus/crypto/canonical.hpp"
#include "consensus/crypto/hash.hpp"

#include <algorithm>
#include <iterator>
#include <limits>
#include <map>
#include <mutex>
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
  bool overlaps(const signed_tx& t) const {
    auto it = scopes_.find(t.scope);
    return it != scopes_.end() && overlaps(it->second, t);
  }

private:
  using range_map = std::map<std::uint64_t, std::uint64_t>; ///< first -> last
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

} // namespace

payload_check signed_once_rule(signed_tx_decoder decode,
                               std::shared_ptr<signed_tx_counters> counters) {
  auto cache = std::make_shared<verified_cache>();
  if (!counters)
    counters = std::make_shared<signed_tx_counters>();
  return [decode = std::move(decode), cache, counters](const block& b,
                                                       const streamlet_core& view) {
    claimed_ranges claimed;
    std::vector<signed_tx> txs;
    std::vector<std::string> keys;
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
    // Walk the chain this block extends: no number it claims may be claimed
    // there.
    for (const block* a = view.find(b.parent); a && a->height > 0;
         a = view.find(a->parent))
      for (const auto& tx : a->txs)
        if (auto t = decode(tx);
            t && claimed_ranges::well_formed(*t) && claimed.overlaps(*t))
          return false;
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
