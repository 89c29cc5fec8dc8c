#include "consensus/crypto/hash.hpp"

#include <catch2/catch.hpp>

using namespace marketsim::consensus::crypto;

TEST_CASE("BLAKE2b-256 of \"abc\" matches the reference digest", "[crypto][hash]") {
  CHECK(blake2b_256("abc").hex() ==
        "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
}

TEST_CASE("SHA-256 of \"abc\" matches FIPS 180-2", "[crypto][hash]") {
  CHECK(sha256("abc").hex() ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("hash256 hex round-trips and rejects malformed input", "[crypto][hash]") {
  auto h = sha256("abc");
  CHECK(hash256::from_hex(h.hex()) == h);
  CHECK(hash256::from_hex(
            "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD") == h);
  CHECK_FALSE(hash256::from_hex("ba78"));
  CHECK_FALSE(hash256::from_hex(std::string(63, 'a') + "g"));
  CHECK(h.short_hex() == "ba7816bf");
  CHECK(hash256{}.is_zero());
  CHECK_FALSE(h.is_zero());
}

TEST_CASE("chain_hash depends on the parent and on every body byte", "[crypto][hash]") {
  auto genesis = hash256{};
  auto a = chain_hash(genesis, "block 1");
  CHECK(a == chain_hash(genesis, "block 1"));
  CHECK(a != chain_hash(genesis, "block 2"));
  CHECK(chain_hash(a, "block 2") != chain_hash(genesis, "block 2"));
  // Domain-separated: not the plain hash of parent || body.
  std::string plain(32, '\0');
  plain += "block 1";
  CHECK(a != blake2b_256(plain));
}
