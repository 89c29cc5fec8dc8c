#include "consensus/bft/streamlet_coins.hpp"

#include "consensus/crypto/batch_verify.hpp"
#include "consensus/crypto/canonical.hpp"

namespace marketsim::consensus::bft::streamlet {

namespace {

constexpr std::string_view coin_tag = "marketsim/streamlet/coin/v1";

std::string signed_part(std::uint64_t coin, std::uint64_t recipient) {
  return crypto::canonical_writer(coin_tag).u64(coin).u64(recipient).take();
}

std::string with_signature(std::uint64_t coin, std::uint64_t recipient,
                           const crypto::signature& sig) {
  return crypto::canonical_writer(coin_tag)
      .u64(coin)
      .u64(recipient)
      .fixed(sig.bytes)
      .take();
}

} // namespace

std::string encode_transfer(const crypto::key_pair& issuer, std::uint64_t coin,
                            std::uint64_t recipient) {
  return with_signature(coin, recipient, issuer.sign(signed_part(coin, recipient)));
}

std::string encode_forged_transfer(std::uint64_t coin, std::uint64_t recipient,
                                   std::uint64_t noise) {
  crypto::signature sig;
  auto h = crypto::blake2b_256(crypto::canonical_writer("forgery").u64(noise).data());
  std::copy(h.bytes.begin(), h.bytes.end(), sig.bytes.begin());
  std::copy(h.bytes.begin(), h.bytes.end(), sig.bytes.begin() + 32);
  return with_signature(coin, recipient, sig);
}

std::optional<coin_transfer> decode_transfer(std::string_view tx) {
  crypto::canonical_reader r(tx, coin_tag);
  coin_transfer t;
  t.coin = r.u64();
  t.recipient = r.u64();
  r.fixed(t.sig.bytes);
  if (!r.ok())
    return std::nullopt;
  return t;
}

payload_check coin_rules(crypto::public_key issuer) {
  return [issuer](const block& b, const streamlet_core& view) {
    std::set<std::uint64_t> spent;
    std::vector<coin_transfer> transfers;
    std::vector<std::string> messages;
    for (const auto& tx : b.txs) {
      auto t = decode_transfer(tx);
      if (!t || !spent.insert(t->coin).second)
        return false;
      messages.push_back(signed_part(t->coin, t->recipient));
      transfers.push_back(*t);
    }
    // All issuer signatures at once: in parallel when the block is large
    // enough for it to pay (crypto/batch_verify.hpp).
    std::vector<crypto::verify_item> items;
    for (std::size_t i = 0; i < transfers.size(); ++i)
      items.push_back({&issuer, crypto::as_bytes(messages[i]), &transfers[i].sig});
    if (!crypto::verify_all(items))
      return false;
    // Walk the chain this block extends: no coin may be spent twice on it.
    for (const block* a = view.find(b.parent); a && a->height > 0;
         a = view.find(a->parent))
      for (const auto& tx : a->txs)
        if (auto t = decode_transfer(tx); t && spent.count(t->coin))
          return false;
    return true;
  };
}

} // namespace marketsim::consensus::bft::streamlet
