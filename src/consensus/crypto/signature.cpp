#include "consensus/crypto/signature.hpp"

#include "consensus/crypto/sodium_init.hpp"

#include <sodium.h>

#include <cstring>

namespace marketsim::consensus::crypto {

static_assert(crypto_sign_PUBLICKEYBYTES == 32);
static_assert(crypto_sign_SECRETKEYBYTES == 64);
static_assert(crypto_sign_SEEDBYTES == 32);
static_assert(crypto_sign_BYTES == 64);

key_pair key_pair::from_seed(const key_seed& seed) {
  detail::ensure_sodium();
  key_pair kp;
  kp.seed_ = seed;
  crypto_sign_seed_keypair(kp.public_.bytes.data(), kp.secret_.data(), seed.data());
  return kp;
}

key_pair key_pair::derive(std::uint64_t scenario_seed, std::uint32_t index) {
  static constexpr std::string_view tag = "marketsim/ed25519/v1";
  std::array<std::uint8_t, tag.size() + 8 + 4> input{};
  std::memcpy(input.data(), tag.data(), tag.size());
  for (int i = 0; i < 8; ++i)
    input[tag.size() + i] = static_cast<std::uint8_t>(scenario_seed >> (8 * i));
  for (int i = 0; i < 4; ++i)
    input[tag.size() + 8 + i] = static_cast<std::uint8_t>(index >> (8 * i));
  return from_seed(blake2b_256(input).bytes);
}

signature key_pair::sign(bytes_view message) const {
  detail::ensure_sodium();
  signature sig;
  crypto_sign_detached(sig.bytes.data(), nullptr, message.data(), message.size(),
                       secret_.data());
  return sig;
}

signature key_pair::sign(std::string_view message) const {
  return sign(as_bytes(message));
}

bool verify(const public_key& key, bytes_view message, const signature& sig) {
  detail::ensure_sodium();
  return crypto_sign_verify_detached(sig.bytes.data(), message.data(), message.size(),
                                     key.bytes.data()) == 0;
}

bool verify(const public_key& key, std::string_view message, const signature& sig) {
  return verify(key, as_bytes(message), sig);
}

} // namespace marketsim::consensus::crypto
