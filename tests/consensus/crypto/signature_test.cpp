#include "consensus/crypto/batch_verify.hpp"
#include "consensus/crypto/signature.hpp"

#include <catch2/catch.hpp>

using namespace marketsim::consensus::crypto;

namespace {

key_seed seed_from_hex(std::string_view hex) {
  key_seed s;
  REQUIRE(from_hex(hex, s));
  return s;
}

} // namespace

TEST_CASE("Ed25519 from a seed matches RFC 8032 test 1", "[crypto][signature]") {
  auto keys = key_pair::from_seed(
      seed_from_hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
  CHECK(keys.public_part().hex() ==
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  auto sig = keys.sign(std::string_view{});
  CHECK(sig.hex() == "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555f"
                     "b8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
  CHECK(verify(keys.public_part(), std::string_view{}, sig));
}

TEST_CASE("a flipped bit in the message or the signature fails verification",
          "[crypto][signature]") {
  auto keys = key_pair::derive(42, 0);
  std::string msg = "vote epoch 7 block abc";
  auto sig = keys.sign(msg);
  REQUIRE(verify(keys.public_part(), msg, sig));
  for (std::size_t bit : {0u, 5u, 77u, 8 * 21u + 7}) {
    auto bad = msg;
    bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
    CHECK_FALSE(verify(keys.public_part(), bad, sig));
  }
  for (std::size_t byte : {0u, 31u, 32u, 63u}) {
    auto bad = sig;
    bad.bytes[byte] ^= 0x01;
    CHECK_FALSE(verify(keys.public_part(), msg, bad));
  }
}

TEST_CASE("a signature does not verify under another validator's key",
          "[crypto][signature]") {
  auto a = key_pair::derive(42, 0);
  auto b = key_pair::derive(42, 1);
  auto sig = a.sign("proposal");
  CHECK(verify(a.public_part(), "proposal", sig));
  CHECK_FALSE(verify(b.public_part(), "proposal", sig));
}

TEST_CASE("derived keys are deterministic and distinct per seed and index",
          "[crypto][signature]") {
  CHECK(key_pair::derive(7, 3).public_part() == key_pair::derive(7, 3).public_part());
  CHECK(key_pair::derive(7, 3).seed() == key_pair::derive(7, 3).seed());
  CHECK(key_pair::derive(7, 3).public_part() != key_pair::derive(7, 4).public_part());
  CHECK(key_pair::derive(7, 3).public_part() != key_pair::derive(8, 3).public_part());
  // Ed25519 signatures are deterministic too: same key, same message, same bytes.
  CHECK(key_pair::derive(7, 3).sign("m") == key_pair::derive(7, 3).sign("m"));
}

TEST_CASE("batch verification flags exactly the bad items, serial and parallel",
          "[crypto][batch]") {
  for (std::size_t n : {std::size_t{5}, parallel_threshold * 4}) {
    std::vector<key_pair> keys;
    std::vector<std::string> msgs;
    std::vector<signature> sigs;
    for (std::size_t i = 0; i < n; ++i) {
      keys.push_back(key_pair::derive(1, static_cast<std::uint32_t>(i % 7)));
      msgs.push_back("message " + std::to_string(i));
      sigs.push_back(keys.back().sign(msgs.back()));
    }
    sigs[3].bytes[10] ^= 0x80; // forged
    msgs[n - 1] += "!";        // tampered after signing
    std::vector<verify_item> items;
    for (std::size_t i = 0; i < n; ++i)
      items.push_back({&keys[i].public_part(), as_bytes(msgs[i]), &sigs[i]});
    auto ok = verify_batch(items);
    REQUIRE(ok.size() == n);
    for (std::size_t i = 0; i < n; ++i)
      CHECK(ok[i] == (i == 3 || i == n - 1 ? 0 : 1));
    CHECK_FALSE(verify_all(items));
    items.erase(items.begin() + 3);
    items.pop_back();
    CHECK(verify_all(items));
  }
  CHECK(verify_all({}));
}
