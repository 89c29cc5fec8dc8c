#pragma once

/// A payload rule for transactions that each carry one signature and an
/// identity that may appear only once along a chain: a coin's spend
/// (streamlet_coins.hpp), a trade an exchange shard executed
/// (streamlet_trades.hpp). A block passes iff every transaction decodes
/// (with a known signer), no identity repeats inside the block or in any
/// block of the chain it extends, and every signature verifies (all at
/// once, crypto/batch_verify.hpp). No CAF, no clock; the rule remembers the
/// signatures it verified (bounded), so a validator verifies each one once.

#include "consensus/bft/streamlet.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace marketsim::consensus::bft::streamlet {

/// One transaction as the rule sees it.
struct signed_tx {
  std::string id;            ///< what may appear once along a chain
  std::string message;       ///< the bytes the signature covers
  crypto::public_key signer; ///< whose signature it must be
  crypto::signature sig;
};

/// nullopt: not a transaction of this kind, or no known signer (the block is
/// refused).
using signed_tx_decoder = std::function<std::optional<signed_tx>(std::string_view tx)>;

payload_check signed_once_rule(signed_tx_decoder decode);

/// A signature that is nobody's (it does not verify under any key in
/// practice), derived from `noise`: what a forger puts on a fake
/// transaction.
crypto::signature forged_signature(std::uint64_t noise);

} // namespace marketsim::consensus::bft::streamlet
