#pragma once

/// Ed25519 keys on disk, for real deployments (virtual time derives keys from
/// the scenario seed instead: key_pair::derive). Start-up code only.
///
/// Format: a small text file, one field per line, so an operator can read it:
///   marketsim-ed25519-v1
///   seed <64 hex>        (secret: only in a key-pair file, mode 0600)
///   public <64 hex>
/// A public-key file holds the first and last lines only. Loading a key pair
/// checks that the public key matches the one derived from the seed.

#include "consensus/crypto/signature.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace marketsim::consensus::crypto {

enum class key_file_errc {
  ok,
  not_found,    ///< no such file
  unreadable,   ///< exists but cannot be opened or read
  bad_header,   ///< first line is not "marketsim-ed25519-v1"
  bad_field,    ///< a line is not "seed <hex>" / "public <hex>", or hex is malformed
  missing_seed, ///< a key pair was asked for but the file holds only a public key
  key_mismatch, ///< the public line does not match the key derived from the seed
  write_failed, ///< the file could not be created or written
};

std::string_view to_string(key_file_errc e);

/// What a load or save did. `message` is one line for the operator:
/// "<path>: <what is wrong>" (empty when ok).
template <class T>
struct key_file_result {
  key_file_errc code = key_file_errc::ok;
  std::string message;
  std::optional<T> value;

  explicit operator bool() const { return code == key_file_errc::ok; }
};

key_file_result<key_pair> load_key_pair(const std::filesystem::path& file);
/// Reads the public key from a public-key file or a key-pair file.
key_file_result<public_key> load_public_key(const std::filesystem::path& file);

/// Writes a key-pair file with owner-only permissions (0600), replacing any
/// file there.
key_file_result<bool> save_key_pair(const std::filesystem::path& file,
                                    const key_pair& keys);
/// Writes a public-key file (world-readable).
key_file_result<bool> save_public_key(const std::filesystem::path& file,
                                      const public_key& key);

} // namespace marketsim::consensus::crypto
