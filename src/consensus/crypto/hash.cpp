#include "consensus/crypto/hash.hpp"

#include "consensus/crypto/sodium_init.hpp"

#include <sodium.h>

namespace marketsim::consensus::crypto {

static_assert(crypto_hash_sha256_BYTES == 32);
static_assert(crypto_generichash_BYTES == 32);

namespace {

constexpr std::string_view block_tag = "marketsim/block/v1";

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

} // namespace

bytes_view as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string to_hex(bytes_view data) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (auto b : data) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 0x0f]);
  }
  return out;
}

bool from_hex(std::string_view hex, std::span<std::uint8_t> out) {
  if (hex.size() != out.size() * 2)
    return false;
  for (std::size_t i = 0; i < out.size(); ++i) {
    int hi = hex_value(hex[2 * i]);
    int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return false;
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return true;
}

std::string hash256::hex() const {
  return to_hex(bytes);
}

std::string hash256::short_hex() const {
  return hex().substr(0, 8);
}

std::optional<hash256> hash256::from_hex(std::string_view hex) {
  hash256 h;
  if (!crypto::from_hex(hex, h.bytes))
    return std::nullopt;
  return h;
}

bool hash256::is_zero() const {
  for (auto b : bytes)
    if (b != 0)
      return false;
  return true;
}

hash256 blake2b_256(bytes_view data) {
  detail::ensure_sodium();
  hash256 h;
  crypto_generichash(h.bytes.data(), h.bytes.size(), data.data(), data.size(), nullptr,
                     0);
  return h;
}

hash256 blake2b_256(std::string_view data) {
  return blake2b_256(as_bytes(data));
}

hash256 sha256(bytes_view data) {
  detail::ensure_sodium();
  hash256 h;
  crypto_hash_sha256(h.bytes.data(), data.data(), data.size());
  return h;
}

hash256 sha256(std::string_view data) {
  return sha256(as_bytes(data));
}

hash256 chain_hash(const hash256& parent, bytes_view body) {
  detail::ensure_sodium();
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, 32);
  auto tag = as_bytes(block_tag);
  crypto_generichash_update(&st, tag.data(), tag.size());
  crypto_generichash_update(&st, parent.bytes.data(), parent.bytes.size());
  crypto_generichash_update(&st, body.data(), body.size());
  hash256 h;
  crypto_generichash_final(&st, h.bytes.data(), h.bytes.size());
  return h;
}

hash256 chain_hash(const hash256& parent, std::string_view body) {
  return chain_hash(parent, as_bytes(body));
}

} // namespace marketsim::consensus::crypto
