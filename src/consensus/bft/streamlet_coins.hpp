#pragma once

/// A minimal transaction payload for Streamlet blocks, so that fake
/// transactions and double spends are things an honest validator can detect:
/// a transfer of a coin (an id) to a recipient, signed by the coin issuer's
/// key. A block is valid under coin_rules() iff each of its transfers is
/// signed by the issuer and spends a coin that no ancestor block and no
/// earlier transfer in the block spent. Used by the simulation and the
/// Byzantine behaviours; real payloads (trades, prices) bring their own rule.

#include "consensus/bft/streamlet.hpp"

namespace marketsim::consensus::bft::streamlet {

struct coin_transfer {
  std::uint64_t coin = 0;
  std::uint64_t recipient = 0;
  crypto::signature sig; ///< the issuer's, over (tag, coin, recipient)
};

/// Canonical bytes: tag "marketsim/streamlet/coin/v1", u64 coin, u64
/// recipient, then the 64-byte signature.
std::string encode_transfer(const crypto::key_pair& issuer, std::uint64_t coin,
                            std::uint64_t recipient);
/// A transfer whose signature is random bytes: a fake transaction.
std::string encode_forged_transfer(std::uint64_t coin, std::uint64_t recipient,
                                   std::uint64_t noise);
std::optional<coin_transfer> decode_transfer(std::string_view tx);

/// The payload rule: issuer-signed, and no coin spent twice along the chain.
payload_check coin_rules(crypto::public_key issuer);

} // namespace marketsim::consensus::bft::streamlet
