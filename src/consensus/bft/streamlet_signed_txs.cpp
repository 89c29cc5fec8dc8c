#include "consensus/bft/streamlet_signed_txs.hpp"

#include "consensus/crypto/batch_verify.hpp"
#include "consensus/crypto/canonical.hpp"

#include <algorithm>
#include <set>
#include <utility>
#include <vector>

namespace marketsim::consensus::bft::streamlet {

payload_check signed_once_rule(signed_tx_decoder decode) {
  return [decode = std::move(decode)](const block& b, const streamlet_core& view) {
    std::set<std::string> ids;
    std::vector<signed_tx> txs;
    for (const auto& tx : b.txs) {
      auto t = decode(tx);
      if (!t || !ids.insert(t->id).second)
        return false;
      txs.push_back(std::move(*t));
    }
    // All signatures at once: in parallel when the block is large enough
    // for it to pay.
    std::vector<crypto::verify_item> items;
    items.reserve(txs.size());
    for (const auto& t : txs)
      items.push_back({&t.signer, crypto::as_bytes(t.message), &t.sig});
    if (!crypto::verify_all(items))
      return false;
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
