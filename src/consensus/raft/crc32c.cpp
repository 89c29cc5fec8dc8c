#include "consensus/raft/crc32c.hpp"

#include <array>

namespace marketsim::consensus::raft {

namespace {

// Reflected Castagnoli polynomial.
constexpr std::uint32_t poly = 0x82F63B78u;

// Slicing-by-8 tables: table[0] is the classic byte table; table[k][b] is the
// CRC of byte b followed by k zero bytes, so eight bytes fold in one step.
constexpr std::array<std::array<std::uint32_t, 256>, 8> make_tables() {
  std::array<std::array<std::uint32_t, 256>, 8> t{};
  for (std::uint32_t b = 0; b < 256; ++b) {
    std::uint32_t c = b;
    for (int k = 0; k < 8; ++k)
      c = (c & 1u) ? (c >> 1) ^ poly : c >> 1;
    t[0][b] = c;
  }
  for (std::size_t k = 1; k < 8; ++k)
    for (std::size_t b = 0; b < 256; ++b)
      t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xFFu];
  return t;
}

constexpr auto tables = make_tables();

} // namespace

std::uint32_t crc32c(std::string_view bytes, std::uint32_t crc) {
  auto p = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t n = bytes.size();
  std::uint32_t c = ~crc;
  while (n >= 8) {
    // Byte-wise assembly keeps this independent of the host's endianness.
    std::uint32_t lo = c ^ (std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 |
                            std::uint32_t{p[2]} << 16 | std::uint32_t{p[3]} << 24);
    c = tables[7][lo & 0xFFu] ^ tables[6][(lo >> 8) & 0xFFu] ^
        tables[5][(lo >> 16) & 0xFFu] ^ tables[4][lo >> 24] ^ tables[3][p[4]] ^
        tables[2][p[5]] ^ tables[1][p[6]] ^ tables[0][p[7]];
    p += 8;
    n -= 8;
  }
  while (n-- > 0)
    c = (c >> 8) ^ tables[0][(c ^ *p++) & 0xFFu];
  return ~c;
}

} // namespace marketsim::consensus::raft
