#include "consensus/crypto/sodium_init.hpp"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>

namespace marketsim::consensus::crypto::detail {

void ensure_sodium() {
  // sodium_init() returns 0 on the first success, 1 if already initialised
  // (e.g. by another library in the process), -1 on failure.
  static const int rc = sodium_init();
  if (rc < 0) {
    std::fputs("marketsim: libsodium failed to initialise (sodium_init)\n", stderr);
    std::abort();
  }
}

} // namespace marketsim::consensus::crypto::detail
