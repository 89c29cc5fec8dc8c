// The market's price band: the arithmetic and the epoch rule the exchange
// shard (and the consensus module's price_band) rely on.

#include "market/price_band_guard.hpp"

#include <catch2/catch.hpp>

using namespace marketsim::market;

TEST_CASE("within_band is inclusive and exact", "[price_band_guard]") {
  CHECK(within_band(10'500, 10'000, 500));
  CHECK(within_band(9'500, 10'000, 500));
  CHECK_FALSE(within_band(10'501, 10'000, 500));
  CHECK_FALSE(within_band(9'499, 10'000, 500));
  CHECK(within_band(10'000, 10'000, 0));
  CHECK_FALSE(within_band(10'001, 10'000, 0));
  // No overflow near the top of the price range.
  const price_t big = 4'000'000'000'000'000'000;
  CHECK(within_band(big, big, 500));
  CHECK_FALSE(within_band(2 * big, big, 500));
}

TEST_CASE("band_limits are the admitted range, rounded inwards", "[price_band_guard]") {
  CHECK(band_limits(10'000, 500) == std::pair<price_t, price_t>{9'500, 10'500});
  // 5% of 15'245 is 762.25 ticks.
  const auto [lo, hi] = band_limits(15'245, 500);
  CHECK(lo == 15'245 - 762);
  CHECK(hi == 15'245 + 762);
  CHECK(within_band(lo, 15'245, 500));
  CHECK(within_band(hi, 15'245, 500));
  CHECK_FALSE(within_band(lo - 1, 15'245, 500));
  CHECK_FALSE(within_band(hi + 1, 15'245, 500));
}

TEST_CASE("a guard admits everything until it has a reference, then follows the "
          "latest epoch",
          "[price_band_guard]") {
  price_band_guard g{500};
  CHECK(g.admits(1));
  CHECK(g.admits(1'000'000));
  CHECK_FALSE(g.limits());

  CHECK(g.on_finalized(5, 10'000));
  CHECK(g.admits(10'500));
  CHECK_FALSE(g.admits(10'501));
  CHECK_FALSE(g.on_finalized(4, 20'000)); // late
  CHECK_FALSE(g.on_finalized(5, 20'000)); // same epoch again
  CHECK_FALSE(g.on_finalized(6, 0));      // not a price
  CHECK(g.reference() == 10'000);
  CHECK(g.reference_epoch() == 5u);

  CHECK(g.on_finalized(6, 11'000));
  CHECK(g.limits() == std::pair<price_t, price_t>{10'450, 11'550});
  CHECK(g.max_deviation_bps() == 500);
}
