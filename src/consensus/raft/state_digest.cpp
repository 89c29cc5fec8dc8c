#include "consensus/raft/state_digest.hpp"

#include <sodium.h>

namespace marketsim::consensus::raft {

namespace {

// sodium_init() picks the fastest BLAKE2b for this CPU (the reference one
// works without it, with the same output); once, thread-safe.
void ensure_sodium() {
  static const int ready = sodium_init();
  (void)ready;
}

const unsigned char* bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

} // namespace

state_digest blake2b_256(std::string_view bytes) {
  ensure_sodium();
  state_digest out{};
  crypto_generichash(out.data(), out.size(), bytes_of(bytes), bytes.size(), nullptr, 0);
  return out;
}

state_digest blake2b_256_chain(const state_digest& prev, std::string_view bytes) {
  ensure_sodium();
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, 32);
  crypto_generichash_update(&st, prev.data(), prev.size());
  crypto_generichash_update(&st, bytes_of(bytes), bytes.size());
  state_digest out{};
  crypto_generichash_final(&st, out.data(), out.size());
  return out;
}

std::string to_hex(const state_digest& d) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  s.reserve(2 * d.size());
  for (std::uint8_t b : d) {
    s.push_back(digits[b >> 4]);
    s.push_back(digits[b & 0xFu]);
  }
  return s;
}

} // namespace marketsim::consensus::raft
