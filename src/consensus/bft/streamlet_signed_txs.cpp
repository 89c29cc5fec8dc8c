#include "consensus/bft/streamlet_signed_txs.hpp"

#include "consensus/crypto/batch_verify.hpp"
#include "consensus/crypto/canonical.hpp"

#include <algorithm>
#include <memory>
#include <mutex>
#include <set>
#include <unordered_set>
#include <utility>
#include <vector>

namespace marketsim::consensus::bft::streamlet {

namespace {

/// Signatures this rule verified already (signer, signature and message as
/// one key): a validator meets the same transaction in its pool, in its own
/// proposal and in others' blocks, and a leader whose pool holds a bad
/// transaction tries its batch one transaction at a time; each signature is
/// verified once. Bounded: emptied when full. Guarded: copies of the rule
/// share it.
class verified_cache {
public:
  static constexpr std::size_t capacity = 1 << 16;

  static std::string key_of(const signed_tx& t) {
    std::string k(t.signer.bytes.begin(), t.signer.bytes.end());
    k.append(t.sig.bytes.begin(), t.sig.bytes.end());
    return k + t.message;
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

} // namespace

payload_check signed_once_rule(signed_tx_decoder decode) {
  auto cache = std::make_shared<verified_cache>();
  return [decode = std::move(decode), cache](const block& b, const streamlet_core& view) {
    std::set<std::string> ids;
    std::vector<signed_tx> txs;
    std::vector<std::string> keys;
    for (const auto& tx : b.txs) {
      auto t = decode(tx);
      if (!t || !ids.insert(t->id).second)
        return false;
      auto k = verified_cache::key_of(*t);
      if (cache->contains(k))
        continue;
      keys.push_back(std::move(k));
      txs.push_back(std::move(*t));
    }
    // The new signatures at once: in parallel when there are enough for it
    // to pay.
    std::vector<crypto::verify_item> items;
    items.reserve(txs.size());
    for (const auto& t : txs)
      items.push_back({&t.signer, crypto::as_bytes(t.message), &t.sig});
    if (!crypto::verify_all(items))
      return false;
    cache->insert(std::move(keys));
    // Walk the chain this block extends: no identity may appear on it again.
    for (const block* a = view.find(b.parent); a && a->height > 0; a = view.find(a->parent))
      for (const auto& tx : a->txs)
        if (auto t = decode(tx); t && ids.count(t->id) > 0)
          return false;
    return true;
  };
}

crypto::signature forged_signature(std::uint64_t noise) {
  crypto::signature sig;
  auto h = crypto::blake2b_256(crypto::canonical_writer("forgery").u64(noise).data());
  std::copy(h.bytes.begin(), h.bytes.end(), sig.bytes.begin());
  std::copy(h.bytes.begin(), h.bytes.end(), sig.bytes.begin() + 32);
  return sig;
}

} // namespace marketsim::consensus::bft::streamlet
