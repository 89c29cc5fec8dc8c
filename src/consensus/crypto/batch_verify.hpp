#pragma once

/// Verifying many signatures at once. libsodium 1.0.18 has no Ed25519 batch
/// verification (one equation for many signatures), so "batch" here means
/// the items are verified in parallel on oneTBB's pool; below
/// `parallel_threshold` items the fixed cost of a parallel loop outweighs the
/// gain and the items are verified in a plain loop. bench/crypto_load.cpp
/// measures both against a raw libsodium loop.

#include "consensus/crypto/signature.hpp"

#include <cstddef>
#include <span>
#include <vector>

namespace marketsim::consensus::crypto {

/// One signature to check. Views, not copies: the key, message and signature
/// must outlive the call.
struct verify_item {
  const public_key* key = nullptr;
  bytes_view message;
  const signature* sig = nullptr;
};

inline constexpr std::size_t parallel_threshold = 64;

/// Per item, 1 if its signature is valid, else 0 (same order as `items`).
std::vector<std::uint8_t> verify_batch(std::span<const verify_item> items);

/// True iff every item is valid (an empty batch is valid).
bool verify_all(std::span<const verify_item> items);

} // namespace marketsim::consensus::crypto
