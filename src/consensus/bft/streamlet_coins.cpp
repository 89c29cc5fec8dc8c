#include "consensus/bft/streamlet_coins.hpp"

#include "consensus/bft/streamlet_signed_txs.hpp"
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
  return with_signature(coin, recipient, forged_signature(noise));
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
  // A coin is spent once along a chain; every transfer is the issuer's.
  return signed_once_rule([issuer](std::string_view tx) -> std::optional<signed_tx> {
    auto t = decode_transfer(tx);
    if (!t)
      return std::nullopt;
    // One number: the coin. The signed part is the transfer without its signature.
    return signed_tx{"", t->coin, 1, signed_prefix(tx), issuer, t->sig};
  });
}

} // namespace marketsim::consensus::bft::streamlet
