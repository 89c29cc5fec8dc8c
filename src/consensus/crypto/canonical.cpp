#include "consensus/crypto/canonical.hpp"

#include <algorithm>
#include <cstring>

namespace marketsim::consensus::crypto {

namespace {

template <class T>
void put_le(std::string& out, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i)
    out.push_back(static_cast<char>(static_cast<std::uint8_t>(v >> (8 * i))));
}

template <class T>
T get_le(const char* at) {
  T v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i)
    v |= static_cast<T>(static_cast<T>(static_cast<std::uint8_t>(at[i])) << (8 * i));
  return v;
}

} // namespace

canonical_writer& canonical_writer::u8(std::uint8_t v) {
  out_.push_back(static_cast<char>(v));
  return *this;
}

canonical_writer& canonical_writer::u32(std::uint32_t v) {
  put_le(out_, v);
  return *this;
}

canonical_writer& canonical_writer::u64(std::uint64_t v) {
  put_le(out_, v);
  return *this;
}

canonical_writer& canonical_writer::bytes(std::string_view v) {
  u32(static_cast<std::uint32_t>(v.size()));
  out_.append(v);
  return *this;
}

canonical_writer& canonical_writer::fixed(bytes_view v) {
  out_.append(reinterpret_cast<const char*>(v.data()), v.size());
  return *this;
}

canonical_reader::canonical_reader(std::string_view data, std::string_view tag)
    : data_(data) {
  if (bytes() != tag)
    ok_ = false;
}

bool canonical_reader::take(std::size_t n, const char** at) {
  if (!ok_ || data_.size() - pos_ < n) {
    ok_ = false;
    return false;
  }
  *at = data_.data() + pos_;
  pos_ += n;
  return true;
}

std::uint8_t canonical_reader::u8() {
  const char* at = nullptr;
  return take(1, &at) ? static_cast<std::uint8_t>(*at) : 0;
}

std::uint32_t canonical_reader::u32() {
  const char* at = nullptr;
  return take(4, &at) ? get_le<std::uint32_t>(at) : 0;
}

std::uint64_t canonical_reader::u64() {
  const char* at = nullptr;
  return take(8, &at) ? get_le<std::uint64_t>(at) : 0;
}

std::string_view canonical_reader::bytes_view() {
  auto n = u32();
  const char* at = nullptr;
  return take(n, &at) ? std::string_view(at, n) : std::string_view();
}

void canonical_reader::fixed(std::span<std::uint8_t> out) {
  const char* at = nullptr;
  if (take(out.size(), &at))
    std::memcpy(out.data(), at, out.size());
  else
    std::fill(out.begin(), out.end(), std::uint8_t{0});
}

} // namespace marketsim::consensus::crypto
