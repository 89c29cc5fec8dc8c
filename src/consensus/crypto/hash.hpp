#pragma once

/// 256-bit digests: the `hash256` value type, BLAKE2b-256 and SHA-256, and the
/// block-hash chaining rule. Pure: no CAF, no I/O; libsodium stays in the .cpp.

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace marketsim::consensus::crypto {

/// Bytes to hash, sign or verify. A `std::string` goes through the
/// `std::string_view` overloads; a byte vector or array through this one.
using bytes_view = std::span<const std::uint8_t>;

/// Views the characters of `s` as bytes (no copy).
bytes_view as_bytes(std::string_view s);

/// A 256-bit digest. Totally ordered, so it can key a std::map; the zero value
/// stands for "no parent" (the genesis block's parent).
struct hash256 {
  std::array<std::uint8_t, 32> bytes{};

  /// 64 lowercase hex characters.
  std::string hex() const;
  /// The first 8 hex characters, for logs.
  std::string short_hex() const;
  /// Parses 64 hex characters (either case); nullopt on any other input.
  static std::optional<hash256> from_hex(std::string_view hex);

  bool is_zero() const;

  friend bool operator==(const hash256&, const hash256&) = default;
  friend auto operator<=>(const hash256&, const hash256&) = default;
};

/// BLAKE2b with a 32-byte output, no key (libsodium's crypto_generichash).
hash256 blake2b_256(bytes_view data);
hash256 blake2b_256(std::string_view data);

/// SHA-256 (libsodium's crypto_hash_sha256).
hash256 sha256(bytes_view data);
hash256 sha256(std::string_view data);

/// The hash of a block: BLAKE2b-256 over a domain tag, the parent's hash and
/// the block's canonical body bytes (see canonical.hpp). Changing any earlier
/// block changes every later hash: that is the chain.
///   chain_hash = BLAKE2b-256("marketsim/block/v1" || parent(32) || body)
hash256 chain_hash(const hash256& parent, bytes_view body);
hash256 chain_hash(const hash256& parent, std::string_view body);

/// Lowercase hex of arbitrary bytes (signatures, keys).
std::string to_hex(bytes_view data);
/// Parses an even number of hex characters into exactly `out.size()` bytes;
/// false (and `out` unspecified) on a wrong length or a non-hex character.
bool from_hex(std::string_view hex, std::span<std::uint8_t> out);

} // namespace marketsim::consensus::crypto

/// For unordered containers keyed by digests (where iteration order does not
/// matter): the first 8 bytes of a cryptographic hash are already uniform.
template <>
struct std::hash<marketsim::consensus::crypto::hash256> {
  std::size_t operator()(const marketsim::consensus::crypto::hash256& h) const noexcept {
    std::size_t x = 0;
    for (std::size_t i = 0; i < sizeof(x); ++i)
      x |= static_cast<std::size_t>(h.bytes[i]) << (8 * i);
    return x;
  }
};
