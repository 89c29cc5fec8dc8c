#pragma once

/// Ed25519 keys, detached signatures and verification (libsodium). Pure: no
/// CAF, no I/O (files: key_file.hpp). Keys are deterministic from a 32-byte
/// seed; in virtual time the seed comes from the scenario seed and the
/// validator's index, so a run is reproducible and every validator can know
/// every public key without a key exchange.

#include "consensus/crypto/hash.hpp"

#include <array>
#include <compare>
#include <cstdint>
#include <string>

namespace marketsim::consensus::crypto {

/// An Ed25519 public key (32 bytes). Ordered, so it can key a std::map.
struct public_key {
  std::array<std::uint8_t, 32> bytes{};

  std::string hex() const { return to_hex(bytes); }

  friend bool operator==(const public_key&, const public_key&) = default;
  friend auto operator<=>(const public_key&, const public_key&) = default;
};

/// A detached Ed25519 signature (64 bytes).
struct signature {
  std::array<std::uint8_t, 64> bytes{};

  std::string hex() const { return to_hex(bytes); }

  friend bool operator==(const signature&, const signature&) = default;
  friend auto operator<=>(const signature&, const signature&) = default;
};

/// The 32-byte seed an Ed25519 key pair is derived from (RFC 8032's "secret
/// key"). Whoever holds it can sign.
using key_seed = std::array<std::uint8_t, 32>;

/// A signing key pair. The secret half never leaves this object except
/// through `seed()` (for saving to a file); it is not printable and not
/// comparable.
class key_pair {
public:
  /// crypto_sign_seed_keypair: the same seed always gives the same keys.
  static key_pair from_seed(const key_seed& seed);

  /// The virtual-time key of validator `index` in a scenario:
  ///   seed = BLAKE2b-256("marketsim/ed25519/v1" || le64(scenario_seed) || le32(index))
  /// Distinct (scenario_seed, index) pairs give unrelated keys.
  static key_pair derive(std::uint64_t scenario_seed, std::uint32_t index);

  const public_key& public_part() const { return public_; }
  const key_seed& seed() const { return seed_; }

  /// A detached signature over `message`.
  signature sign(bytes_view message) const;
  signature sign(std::string_view message) const;

private:
  key_pair() = default;

  key_seed seed_{};
  public_key public_;
  std::array<std::uint8_t, 64> secret_{}; ///< libsodium's expanded secret key
};

/// True iff `sig` is a valid Ed25519 signature of `message` under `key`
/// (crypto_sign_verify_detached, which also rejects non-canonical encodings
/// and small-order keys).
bool verify(const public_key& key, bytes_view message, const signature& sig);
bool verify(const public_key& key, std::string_view message, const signature& sig);

} // namespace marketsim::consensus::crypto
