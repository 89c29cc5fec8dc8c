#pragma once

/// The roster of a validator group on disk: who is in it and under which
/// public key (each validator keeps its own key pair in a key file,
/// key_file.hpp). Start-up code only.
///
/// Format: text, so an operator can read it and diff it between hosts:
///   marketsim-roster-v1
///   # comments and blank lines are ignored
///   1 <64 hex: validator 1's Ed25519 public key>
///   2 <64 hex>
///   ...
/// Ids are 1..2^32-1, each once; the order of the lines does not matter.

#include "consensus/crypto/signature.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

namespace marketsim::consensus::crypto {

using roster_map = std::map<std::uint32_t, public_key>;

/// What load_roster() read. `message` is one line for the operator,
/// "<path>: line N: <what is wrong>", and empty when it succeeded.
struct roster_result {
  std::string message;
  roster_map keys;

  explicit operator bool() const { return message.empty(); }
};

/// Reads a roster file. Fails for a missing or unreadable file, a wrong
/// first line, a line that is not "<id> <64 hex>", an id of 0 or given
/// twice, the same key under two ids, or no validator at all.
roster_result load_roster(const std::filesystem::path& file);

/// Writes a roster file (world-readable); an error line, or "" when written.
std::string save_roster(const std::filesystem::path& file, const roster_map& keys);

} // namespace marketsim::consensus::crypto
