#include "consensus/bft/streamlet_trades.hpp"

#include "consensus/bft/streamlet_signed_txs.hpp"
#include "consensus/crypto/canonical.hpp"

#include <utility>

namespace marketsim::consensus::bft::streamlet {

namespace {

constexpr std::string_view trade_tag = "marketsim/settlement/trade/v1";

crypto::canonical_writer signed_part(std::uint32_t shard, std::uint64_t seq,
                                     std::string_view command) {
  crypto::canonical_writer w(trade_tag);
  w.u32(shard).u64(seq).bytes(command);
  return w;
}

} // namespace

std::string encode_signed_trade(const crypto::key_pair& shard_key, std::uint32_t shard,
                                std::uint64_t seq, std::string_view command) {
  auto w = signed_part(shard, seq, command);
  auto sig = shard_key.sign(w.data());
  return w.fixed(sig.bytes).take();
}

std::string encode_forged_trade(std::uint32_t shard, std::uint64_t seq,
                                std::string_view command, std::uint64_t noise) {
  return signed_part(shard, seq, command).fixed(forged_signature(noise).bytes).take();
}

std::optional<signed_trade> decode_signed_trade(std::string_view tx) {
  crypto::canonical_reader r(tx, trade_tag);
  signed_trade t;
  t.shard = r.u32();
  t.seq = r.u64();
  t.command = r.bytes();
  r.fixed(t.sig.bytes);
  if (!r.ok())
    return std::nullopt;
  return t;
}

bool verify_signed_trade(const signed_trade& t,
                         const std::vector<crypto::public_key>& shard_keys) {
  return t.shard < shard_keys.size() &&
         crypto::verify(shard_keys[t.shard], signed_part(t.shard, t.seq, t.command).data(),
                        t.sig);
}

payload_check trade_rules(std::vector<crypto::public_key> shard_keys) {
  return signed_once_rule(
      [keys = std::move(shard_keys)](std::string_view tx) -> std::optional<signed_tx> {
        auto t = decode_signed_trade(tx);
        if (!t || t->shard >= keys.size())
          return std::nullopt;
        return signed_tx{crypto::canonical_writer(trade_tag).u32(t->shard).u64(t->seq).take(),
                         signed_part(t->shard, t->seq, t->command).take(), keys[t->shard],
                         t->sig};
      });
}

} // namespace marketsim::consensus::bft::streamlet
