#pragma once

/// Trades as Streamlet transactions, signed in batches by the exchange shard
/// that executed them, so that validators settle only what a shard
/// executed, and each trade once. A transaction is a trade batch: one
/// shard's trades with consecutive sequence numbers [first_seq, first_seq +
/// count), one signature over all of them (one Ed25519 verification per
/// batch per validator instead of one per trade; a single trade is a batch
/// of one). Under trade_rules() a block is valid iff every transaction is a
/// well-formed batch signed with its shard's key and no trade (shard,
/// sequence number) is claimed twice along the chain: a batch whose range
/// overlaps one already on the chain (or in the block) is invalid, even if
/// it overlaps by one trade. A Byzantine leader that inserts trades no
/// shard executed (it cannot sign them) or settles some again proposes an
/// invalid block: no honest vote, and evidence (invalid_proposal). Pure;
/// the commands inside are opaque here (the settlement ledger's encoding,
/// raft/settlement_ledger.hpp).

#include "consensus/bft/streamlet.hpp"
#include "consensus/bft/streamlet_signed_txs.hpp"
#include "consensus/raft/decoded.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace marketsim::consensus::bft::streamlet {

/// At most this many trades in a batch: a decoder never loops further on a
/// count read from the input.
inline constexpr std::uint32_t max_batch_trades = 65'536;

struct trade_batch {
  std::uint32_t shard = 0; ///< the shard that executed them (index into the shard keys)
  std::uint64_t first_seq = 0;       ///< commands[i] is the shard's trade first_seq + i
  std::vector<std::string> commands; ///< what to settle, one per trade
  crypto::signature sig;             ///< the shard's, over everything above
};

/// Canonical bytes: tag "marketsim/settlement/trade-batch/v1", u32 shard,
/// u64 first_seq, u32 count, count commands (each as bytes), then the
/// 64-byte signature over everything before it. 1 <= count <=
/// max_batch_trades, and first_seq + count - 1 fits in 64 bits.
std::string encode_trade_batch(const crypto::key_pair& shard_key, std::uint32_t shard,
                               std::uint64_t first_seq,
                               const std::vector<std::string>& commands);
/// The same bytes with a signature the shard never made: fake trades.
std::string encode_forged_trade_batch(std::uint32_t shard, std::uint64_t first_seq,
                                      const std::vector<std::string>& commands,
                                      std::uint64_t noise);
/// The batch, or why the bytes are not one (another tag, truncated, bytes
/// after the signature, no trades, too many, sequence numbers past 2^64).
/// The signature is not checked here: verify_trade_batch.
raft::decoded<trade_batch> decode_trade_batch(std::string_view tx);

/// True iff `b` names a known shard and carries that shard's signature.
bool verify_trade_batch(const trade_batch& b,
                        const std::vector<crypto::public_key>& shard_keys);

/// What trade_rules reads of a transaction: the trade batch's shard, its
/// range of trade numbers, signed part, signature and shard key; nullopt
/// if it is not a trade batch of a shard in `shard_keys`.
std::optional<signed_tx>
trade_batch_claim(std::string_view tx, const std::vector<crypto::public_key>& shard_keys);

/// The payload rule: shard-signed trade batches, each trade once along a
/// chain. `shard_keys[i]` is shard i's public key; `counters`, if given,
/// count the signatures the rule verified.
payload_check trade_rules(std::vector<crypto::public_key> shard_keys,
                          std::shared_ptr<signed_tx_counters> counters = {});

} // namespace marketsim::consensus::bft::streamlet
