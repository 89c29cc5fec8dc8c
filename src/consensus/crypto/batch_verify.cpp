#include "consensus/crypto/batch_verify.hpp"

#include "consensus/crypto/sodium_init.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>

namespace marketsim::consensus::crypto {

namespace {

std::uint8_t check(const verify_item& it) {
  return it.key && it.sig && verify(*it.key, it.message, *it.sig) ? 1 : 0;
}

} // namespace

std::vector<std::uint8_t> verify_batch(std::span<const verify_item> items) {
  detail::ensure_sodium(); // before the workers race to it
  std::vector<std::uint8_t> ok(items.size(), 0);
  if (items.size() < parallel_threshold) {
    std::transform(items.begin(), items.end(), ok.begin(), check);
    return ok;
  }
  // Grain 16: one Ed25519 verification is ~50 us, so 16 amortise a task.
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, items.size(), 16),
                    [&](const tbb::blocked_range<std::size_t>& r) {
                      for (auto i = r.begin(); i != r.end(); ++i)
                        ok[i] = check(items[i]);
                    });
  return ok;
}

bool verify_all(std::span<const verify_item> items) {
  auto ok = verify_batch(items);
  return std::all_of(ok.begin(), ok.end(), [](std::uint8_t v) { return v == 1; });
}

} // namespace marketsim::consensus::crypto
