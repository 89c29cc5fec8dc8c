#pragma once

/// A payload rule for signed transactions that each settle a range of
/// numbers that may appear only once along a chain: a coin's spend (one
/// number, the coin: streamlet_coins.hpp), a batch of trades an exchange
/// shard executed (its trades' sequence numbers: streamlet_trades.hpp). A
/// block passes iff every transaction decodes (with a known signer), no
/// number of a scope is claimed twice inside the block or by the block and
/// any block of the chain it extends (ranges that overlap at all are
/// refused), and every signature verifies (all at once,
/// crypto/batch_verify.hpp). No CAF, no clock; the rule remembers the
/// signatures it verified (bounded), so a validator verifies each one once.
///
/// The chain is not re-read for each block: the rule keeps, per block hash,
/// an index of the numbers claimed along the chain ending at that block (a
/// persistent tree sharing all but O(log R) nodes with its parent's, R the
/// ranges on the chain), built from the parent's index the first time a
/// child of the block is checked. So a check decodes the block's own
/// transactions and at most its parent's, whatever the height; a sibling
/// fork has its own index. Indexes of blocks below the finalized height are
/// dropped but every 64th height's, so a block extending a dead fork costs
/// that fork's blocks plus at most 64 more, once per newly finalized height.

#include "consensus/bft/streamlet.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace marketsim::consensus::bft::streamlet {

/// One transaction as the rule sees it.
struct signed_tx {
  std::string scope;         ///< whose numbers (a shard; "" for coins)
  std::uint64_t first = 0;   ///< it claims [first, first + count) of `scope`
  std::uint64_t count = 1;   ///< >= 1, and first + count does not overflow
  std::string_view message;  ///< the bytes the signature covers (a view into the tx)
  crypto::public_key signer; ///< whose signature it must be
  crypto::signature sig;
};

/// nullopt: not a transaction of this kind, or no known signer (the block is
/// refused).
using signed_tx_decoder = std::function<std::optional<signed_tx>(std::string_view tx)>;

/// What a rule and its copies did (for benchmarks and tests): signatures it
/// verified, and signatures it found verified already; transactions it
/// decoded, and blocks of a chain whose claims it indexed (each known block
/// once, unless its index was dropped: see below).
struct signed_tx_counters {
  std::atomic<std::uint64_t> verified{0};
  std::atomic<std::uint64_t> cached{0};
  std::atomic<std::uint64_t> decoded{0};
  std::atomic<std::uint64_t> chain_blocks{0};
};

payload_check signed_once_rule(signed_tx_decoder decode,
                               std::shared_ptr<signed_tx_counters> counters = {});

/// The bytes of a transaction that ends in its 64-byte signature, without
/// the signature: what it signs, when it is encoded as signed bytes followed
/// by the signature (as coins and trade batches are).
std::string_view signed_prefix(std::string_view tx);

/// A signature that is nobody's (it does not verify under any key in
/// practice), derived from `noise`: what a forger puts on a fake
/// transaction.
crypto::signature forged_signature(std::uint64_t noise);

} // namespace marketsim::consensus::bft::streamlet
