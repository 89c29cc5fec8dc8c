#include "consensus/crypto/canonical.hpp"

#include <catch2/catch.hpp>

using namespace marketsim::consensus::crypto;

TEST_CASE("canonical bytes are fixed-width little endian with length prefixes",
          "[crypto][canonical]") {
  auto bytes = canonical_writer("t").u8(1).u32(0x01020304).u64(5).bytes("ab").take();
  std::string expected{"\x01\x00\x00\x00t"
                       "\x01"
                       "\x04\x03\x02\x01"
                       "\x05\x00\x00\x00\x00\x00\x00\x00"
                       "\x02\x00\x00\x00"
                       "ab",
                       5 + 1 + 4 + 8 + 4 + 2};
  CHECK(bytes == expected);
}

TEST_CASE("canonical reader round-trips what the writer wrote", "[crypto][canonical]") {
  auto h = sha256("x");
  auto bytes = canonical_writer("tag/v1")
                   .u8(9)
                   .u32(70000)
                   .u64(1ull << 40)
                   .i64(-3)
                   .bytes("payload")
                   .hash(h)
                   .take();
  canonical_reader r(bytes, "tag/v1");
  CHECK(r.u8() == 9);
  CHECK(r.u32() == 70000);
  CHECK(r.u64() == 1ull << 40);
  CHECK(r.i64() == -3);
  CHECK(r.bytes() == "payload");
  CHECK(r.hash() == h);
  CHECK(r.ok());
}

TEST_CASE("canonical reader fails on a wrong tag, truncation or trailing bytes",
          "[crypto][canonical]") {
  auto bytes = canonical_writer("vote/v1").u64(1).take();
  CHECK_FALSE([&] {
    canonical_reader r(bytes, "block/v1");
    r.u64();
    return r.ok();
  }());
  CHECK_FALSE([&] {
    canonical_reader r(std::string_view(bytes).substr(0, bytes.size() - 1), "vote/v1");
    r.u64();
    return r.ok();
  }());
  CHECK_FALSE([&] {
    canonical_reader r(bytes + "x", "vote/v1");
    r.u64();
    return r.ok();
  }());
  // A length prefix larger than the input is an error, not an over-read.
  auto lying = canonical_writer("t").u32(1000).take();
  canonical_reader r(lying, "t");
  CHECK(r.bytes().empty());
  CHECK_FALSE(r.ok());
}
