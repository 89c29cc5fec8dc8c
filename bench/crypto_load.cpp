// Signature verifications per second on this machine: a raw libsodium loop
// (crypto_sign_verify_detached), our single verify(), and our verify_batch()
// (oneTBB, parallel across cores; libsodium has no Ed25519 batch equation).
// Prints each rate and the ratios against the raw loop.
//
//   build/bench/crypto_load [signatures=20000] [message_bytes=128] [repeats=3]

#include "consensus/crypto/batch_verify.hpp"
#include "consensus/crypto/signature.hpp"

#include <sodium.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

using namespace marketsim::consensus::crypto;

namespace {

struct corpus {
  std::vector<key_pair> keys;
  std::vector<std::string> messages;
  std::vector<signature> sigs;
  std::vector<verify_item> items;
};

corpus make_corpus(std::size_t n, std::size_t bytes) {
  corpus c;
  for (std::uint32_t k = 0; k < 16; ++k)
    c.keys.push_back(key_pair::derive(2026, k));
  for (std::size_t i = 0; i < n; ++i) {
    std::string m(bytes, static_cast<char>('a' + i % 26));
    m.replace(0, std::min(bytes, std::size_t{12}), std::to_string(1000000000 + i));
    c.messages.push_back(std::move(m));
    c.sigs.push_back(c.keys[i % 16].sign(c.messages.back()));
  }
  for (std::size_t i = 0; i < n; ++i)
    c.items.push_back(
        {&c.keys[i % 16].public_part(), as_bytes(c.messages[i]), &c.sigs[i]});
  return c;
}

/// Best of `repeats` runs of `f` (which verifies all n), as verifications/s.
template <class F>
double rate(std::size_t n, int repeats, F f) {
  double best = 0;
  for (int r = 0; r < repeats; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    std::size_t ok = f();
    double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (ok != n) {
      std::fprintf(stderr, "crypto_load: %zu of %zu verified\n", ok, n);
      std::exit(1);
    }
    best = std::max(best, static_cast<double>(n) / s);
  }
  return best;
}

} // namespace

int main(int argc, char** argv) {
  std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 20000;
  std::size_t bytes = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 128;
  int repeats = argc > 3 ? std::atoi(argv[3]) : 3;
  auto c = make_corpus(n, bytes);

  double raw = rate(n, repeats, [&] {
    std::size_t ok = 0;
    for (std::size_t i = 0; i < n; ++i)
      ok += crypto_sign_verify_detached(
                c.sigs[i].bytes.data(),
                reinterpret_cast<const unsigned char*>(c.messages[i].data()),
                c.messages[i].size(), c.keys[i % 16].public_part().bytes.data()) == 0;
    return ok;
  });
  double single = rate(n, repeats, [&] {
    std::size_t ok = 0;
    for (std::size_t i = 0; i < n; ++i)
      ok += verify(*c.items[i].key, c.items[i].message, *c.items[i].sig);
    return ok;
  });
  double batch = rate(n, repeats, [&] {
    std::size_t ok = 0;
    for (auto v : verify_batch(c.items))
      ok += v;
    return ok;
  });

  std::printf("crypto_load: %zu Ed25519 signatures of %zu bytes, best of %d, %u hardware "
              "threads\n",
              n, bytes, repeats, std::thread::hardware_concurrency());
  std::printf("  raw libsodium loop      %10.0f verifications/s\n", raw);
  std::printf("  verify() (ours)         %10.0f verifications/s  ratio to raw %.3f\n",
              single, single / raw);
  std::printf("  verify_batch() (TBB)    %10.0f verifications/s  ratio to raw %.3f, to "
              "verify() %.3f\n",
              batch, batch / raw, batch / single);
  return 0;
}
