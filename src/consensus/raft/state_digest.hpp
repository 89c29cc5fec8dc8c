#pragma once

/// The state hash of the replicated state machines: BLAKE2b-256 (libsodium)
/// over canonical bytes, little-endian fixed-width integers written by
/// `canonical_bytes`. Canonical so that the same state gives the same digest
/// on every replica, build and host (protobuf serialization does not promise
/// that, so it is not what is hashed).

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace marketsim::consensus::raft {

using state_digest = std::array<std::uint8_t, 32>;

/// BLAKE2b-256 of `bytes`.
state_digest blake2b_256(std::string_view bytes);

/// BLAKE2b-256 of `prev` followed by `bytes`: one link of a hash chain.
state_digest blake2b_256_chain(const state_digest& prev, std::string_view bytes);

/// Lower-case hex, 64 characters.
std::string to_hex(const state_digest& d);

/// Little-endian fixed-width encoding into a reusable buffer.
class canonical_bytes {
public:
  void u8(std::uint8_t v) { buf_.push_back(static_cast<char>(v)); }
  void u32(std::uint32_t v) { put(v, 4); }
  void u64(std::uint64_t v) { put(v, 8); }
  void i64(std::int64_t v) { put(static_cast<std::uint64_t>(v), 8); }
  void clear() { buf_.clear(); }
  std::string_view view() const { return buf_; }

private:
  void put(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i)
      buf_.push_back(static_cast<char>((v >> (8 * i)) & 0xFFu));
  }
  std::string buf_;
};

} // namespace marketsim::consensus::raft
