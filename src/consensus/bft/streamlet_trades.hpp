#pragma once

/// Trades as Streamlet transactions, signed by the exchange shard that
/// executed them, so that validators settle only what a shard executed, and
/// each trade once: under trade_rules() a block is valid iff every
/// transaction is a trade signed with its shard's key and no trade (shard,
/// sequence number) appears twice along the chain. A Byzantine leader that
/// inserts a trade no shard executed (it cannot sign it) or settles one
/// again proposes an invalid block: no honest vote, and evidence
/// (invalid_proposal). Pure; the command inside is opaque here (the
/// settlement ledger's encoding, raft/settlement_ledger.hpp).

#include "consensus/bft/streamlet.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace marketsim::consensus::bft::streamlet {

struct signed_trade {
  std::uint32_t shard = 0; ///< the shard that executed it (index into the shard keys)
  std::uint64_t seq = 0;   ///< unique per shard
  std::string command;     ///< what to settle
  crypto::signature sig;   ///< the shard's, over everything above
};

/// Canonical bytes: tag "marketsim/settlement/trade/v1", u32 shard, u64 seq,
/// bytes command, then the 64-byte signature over everything before it.
std::string encode_signed_trade(const crypto::key_pair& shard_key, std::uint32_t shard,
                                std::uint64_t seq, std::string_view command);
/// The same bytes with a signature the shard never made: a fake trade.
std::string encode_forged_trade(std::uint32_t shard, std::uint64_t seq,
                                std::string_view command, std::uint64_t noise);
std::optional<signed_trade> decode_signed_trade(std::string_view tx);

/// True iff `t` names a known shard and carries that shard's signature.
bool verify_signed_trade(const signed_trade& t,
                         const std::vector<crypto::public_key>& shard_keys);

/// The payload rule: shard-signed trades, each once along a chain.
/// `shard_keys[i]` is shard i's public key.
payload_check trade_rules(std::vector<crypto::public_key> shard_keys);

} // namespace marketsim::consensus::bft::streamlet
