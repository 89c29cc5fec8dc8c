// Specification of the consensus-aware price band of an exchange shard.

#include "consensus/bft/price_band.hpp"

#include <catch2/catch.hpp>

using namespace marketsim::consensus::bft;
using marketsim::market::reject_reason;

TEST_CASE("a price within 5% of the finalized price is accepted", "[price_band]") {
  price_band band;
  REQUIRE(band.on_finalized(1, 10'000));
  CHECK(band.check(10'000) == band_verdict::within_band);
  CHECK(band.check(10'300) == band_verdict::within_band);
  CHECK(band.check(9'700) == band_verdict::within_band);
  CHECK(to_reject_reason(band.check(10'300)) == reject_reason::none);
}

TEST_CASE("exactly 5% away is accepted, one tick further is rejected", "[price_band]") {
  price_band band;
  band.on_finalized(1, 10'000);
  CHECK(band.check(10'500) == band_verdict::within_band);
  CHECK(band.check(9'500) == band_verdict::within_band);
  CHECK(band.check(10'501) == band_verdict::above_band);
  CHECK(band.check(9'499) == band_verdict::below_band);
  REQUIRE(band.limits());
  CHECK(*band.limits() == std::pair<price_ticks, price_ticks>{9'500, 10'500});
}

TEST_CASE("limits() are exactly the accepted range when 5% is not a whole tick",
          "[price_band]") {
  price_band band;
  band.on_finalized(1, 15'245); // 5% = 762.25 ticks
  const auto [lo, hi] = *band.limits();
  CHECK(lo == 15'245 - 762);
  CHECK(hi == 15'245 + 762);
  CHECK(accepted(band.check(lo)));
  CHECK(accepted(band.check(hi)));
  CHECK_FALSE(accepted(band.check(lo - 1)));
  CHECK_FALSE(accepted(band.check(hi + 1)));
}

TEST_CASE("a trade 20% above consensus is rejected with outside_price_band",
          "[price_band]") {
  price_band band;
  band.on_finalized(3, 15'245);
  const auto v = band.check(18'294);
  CHECK(v == band_verdict::above_band);
  CHECK_FALSE(accepted(v));
  CHECK(to_reject_reason(v) == reject_reason::outside_price_band);
  CHECK(to_string(to_reject_reason(v)) == "outside_price_band");
  CHECK(to_string(v) == "above_band");
}

TEST_CASE("no finalized price yet: accepted by policy", "[price_band]") {
  price_band band;
  CHECK_FALSE(band.reference());
  CHECK_FALSE(band.limits());
  CHECK(band.check(1) == band_verdict::no_finalized_price);
  CHECK(accepted(band.check(1'000'000)));
  CHECK(to_reject_reason(band.check(1)) == reject_reason::none);
}

TEST_CASE("a non-positive price is rejected as bad_price, with or without a finalized "
          "price",
          "[price_band]") {
  price_band band;
  CHECK(band.check(0) == band_verdict::bad_price);
  band.on_finalized(1, 10'000);
  CHECK(band.check(-10'000) == band_verdict::bad_price);
  CHECK(to_reject_reason(band_verdict::bad_price) == reject_reason::bad_price);
}

TEST_CASE("the band follows the latest finalized epoch; late or repeated "
          "finalizations are ignored",
          "[price_band]") {
  price_band band;
  CHECK(band.on_finalized(5, 10'000));
  CHECK(band.on_finalized(6, 11'000));
  CHECK_FALSE(band.on_finalized(4, 9'000));  // arrives late
  CHECK_FALSE(band.on_finalized(6, 12'000)); // same epoch twice
  CHECK_FALSE(band.on_finalized(7, 0));
  CHECK(band.reference() == 11'000);
  CHECK(band.reference_epoch() == 6u);
  CHECK(band.check(11'550) == band_verdict::within_band);
  CHECK(band.check(10'449) == band_verdict::below_band);
}

TEST_CASE("a wider band is a parameter", "[price_band]") {
  price_band band({.max_deviation_bps = 1'000});
  band.on_finalized(1, 10'000);
  CHECK(band.check(11'000) == band_verdict::within_band);
  CHECK(band.check(11'001) == band_verdict::above_band);
  CHECK(check_band(10'600, 10'000) == band_verdict::above_band); // default 5%
}
