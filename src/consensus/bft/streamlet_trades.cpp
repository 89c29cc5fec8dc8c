#include "consensus/bft/streamlet_trades.hpp"

#include "consensus/crypto/canonical.hpp"

#include <limits>
#include <utility>

namespace marketsim::consensus::bft::streamlet {

namespace {

constexpr std::string_view batch_tag = "marketsim/settlement/trade-batch/v1";

crypto::canonical_writer signed_part(std::uint32_t shard, std::uint64_t first_seq,
                                     const std::vector<std::string>& commands) {
  crypto::canonical_writer w(batch_tag);
  w.u32(shard).u64(first_seq).u32(static_cast<std::uint32_t>(commands.size()));
  for (const auto& c : commands)
    w.bytes(c);
  return w;
}

/// A batch as read, its commands as views into the bytes (the payload rule
/// reads every batch on a chain at every block: no copies).
struct batch_view {
  std::uint32_t shard = 0;
  std::uint64_t first_seq = 0;
  std::vector<std::string_view> commands;
  crypto::signature sig;
};

raft::decoded<batch_view> read_batch(std::string_view tx) {
  crypto::canonical_reader r(tx, batch_tag);
  batch_view b;
  b.shard = r.u32();
  b.first_seq = r.u64();
  const auto count = r.u32();
  if (!r.good())
    return {{}, "not a trade batch (another tag, or truncated before its trades)"};
  if (count == 0)
    return {{}, "a trade batch with no trades"};
  if (count > max_batch_trades)
    return {{},
            "a trade batch of " + std::to_string(count) + " trades (at most " +
                std::to_string(max_batch_trades) + ")"};
  if (b.first_seq > std::numeric_limits<std::uint64_t>::max() - (count - 1))
    return {{}, "a trade batch whose sequence numbers pass 2^64"};
  b.commands.reserve(count);
  for (std::uint32_t i = 0; i < count && r.good(); ++i)
    b.commands.push_back(r.bytes_view());
  r.fixed(b.sig.bytes);
  if (!r.good())
    return {{}, "a truncated trade batch"};
  if (!r.ok())
    return {{}, "bytes after a trade batch's signature"};
  return {std::move(b), {}};
}

} // namespace

std::string encode_trade_batch(const crypto::key_pair& shard_key, std::uint32_t shard,
                               std::uint64_t first_seq,
                               const std::vector<std::string>& commands) {
  auto w = signed_part(shard, first_seq, commands);
  auto sig = shard_key.sign(w.data());
  return w.fixed(sig.bytes).take();
}

std::string encode_forged_trade_batch(std::uint32_t shard, std::uint64_t first_seq,
                                      const std::vector<std::string>& commands,
                                      std::uint64_t noise) {
  return signed_part(shard, first_seq, commands)
      .fixed(forged_signature(noise).bytes)
      .take();
}

raft::decoded<trade_batch> decode_trade_batch(std::string_view tx) {
  auto v = read_batch(tx);
  if (!v)
    return {{}, std::move(v.reason)};
  trade_batch b{v.value->shard, v.value->first_seq, {}, v.value->sig};
  b.commands.assign(v.value->commands.begin(), v.value->commands.end());
  return {std::move(b), {}};
}

bool verify_trade_batch(const trade_batch& b,
                        const std::vector<crypto::public_key>& shard_keys) {
  return b.shard < shard_keys.size() &&
         crypto::verify(shard_keys[b.shard],
                        signed_part(b.shard, b.first_seq, b.commands).data(), b.sig);
}

std::optional<signed_tx>
trade_batch_claim(std::string_view tx,
                  const std::vector<crypto::public_key>& shard_keys) {
  auto b = read_batch(tx);
  if (!b || b.value->shard >= shard_keys.size())
    return std::nullopt;
  // The shard's trades [first_seq, first_seq + count); the signed part is
  // the batch without its signature.
  return signed_tx{std::to_string(b.value->shard), b.value->first_seq,
                   b.value->commands.size(),       signed_prefix(tx),
                   shard_keys[b.value->shard],     b.value->sig};
}

payload_check trade_rules(std::vector<crypto::public_key> shard_keys,
                          std::shared_ptr<signed_tx_counters> counters) {
  return signed_once_rule(
      [keys = std::move(shard_keys)](std::string_view tx) {
        return trade_batch_claim(tx, keys);
      },
      std::move(counters));
}

} // namespace marketsim::consensus::bft::streamlet
