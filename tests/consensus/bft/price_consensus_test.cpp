// Specification of the price consensus core: simulated feeds, quote
// validation, aggregation into a proposal, and a voter's check of a leader's
// proposal.

#include "consensus/bft/price_aggregation.hpp"
#include "consensus/bft/price_codec.hpp"
#include "consensus/bft/price_feed.hpp"
#include "consensus/bft/price_validation.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace marketsim::consensus::bft;

namespace {

constexpr time_ns now = 10'000'000'000;
const std::string aapl = "AAPL";

price_quote quote(source_id s, price_ticks p, volume_units v = 1'000, time_ns t = now) {
  return {s, p, v, t};
}

aggregation_result agg(std::vector<price_quote> qs,
                       std::optional<price_ticks> last = std::nullopt,
                       aggregation_rules rules = {}) {
  return aggregate(aapl, 7, qs, rules, last, now);
}

quote_reject verdict(const aggregation_result& r, source_id s) {
  for (const auto& v : r.verdicts)
    if (v.quote.source == s)
      return v.why;
  return quote_reject::none;
}

} // namespace

// -- feeds --

TEST_CASE("the same seed gives the same quotes, another seed other quotes",
          "[price_feed]") {
  auto run = [](std::uint64_t seed) {
    simulated_feeds feeds({}, honest_sources(3, seed), seed);
    std::vector<price_quote> all;
    for (int i = 0; i < 50; ++i)
      for (auto& q : feeds.sample(now + i))
        all.push_back(q);
    return all;
  };
  CHECK(run(42) == run(42));
  CHECK(run(42) != run(43));
}

TEST_CASE("honest sources quote close to the moving reference with volume in range",
          "[price_feed]") {
  simulated_feeds feeds({}, honest_sources(5, 9), 9);
  for (int i = 0; i < 200; ++i) {
    const auto qs = feeds.sample(now + i);
    REQUIRE(qs.size() == 5);
    for (const auto& q : qs) {
      // noise 5 bps: 60 bps is 12 sigma
      CHECK(within_bps(q.price, feeds.reference(), feeds.reference(), 60));
      CHECK(q.volume >= 100);
      CHECK(q.volume <= 5'000);
      CHECK(q.time == now + i);
    }
  }
}

TEST_CASE("faulty sources: stale freezes, outlier is 20% off, zero_volume has none",
          "[price_feed]") {
  auto ps = honest_sources(3, 5);
  ps[0].fault = source_fault::stale;
  ps[1].fault = source_fault::outlier;
  ps[2].fault = source_fault::zero_volume;
  simulated_feeds feeds({}, ps, 5);
  const auto first = feeds.sample(now);
  for (int i = 1; i < 20; ++i) {
    const auto qs = feeds.sample(now + i * 1'000'000'000LL);
    CHECK(qs[0] == first[0]);
    const price_ticks ref = feeds.reference();
    CHECK(within_bps(qs[1].price, ref, ref, 2'001));
    CHECK_FALSE(within_bps(qs[1].price, ref, ref, 1'999));
    CHECK(qs[2].volume == 0);
  }
}

// -- validation --

TEST_CASE("each validation rule rejects with its own reason", "[price_validation]") {
  const quote_rules r;
  const std::optional<price_ticks> last = 15'000;
  CHECK(validate_quote(quote(1, 15'000), r, last, now) == quote_reject::none);
  CHECK(validate_quote(quote(1, 0), r, last, now) == quote_reject::bad_price);
  CHECK(validate_quote(quote(1, 4'999), r, std::nullopt, now) ==
        quote_reject::below_min_price);
  CHECK(validate_quote(quote(1, 50'001), r, std::nullopt, now) ==
        quote_reject::above_max_price);
  CHECK(validate_quote(quote(1, 15'000, 99), r, last, now) == quote_reject::low_volume);
  CHECK(validate_quote(quote(1, 15'000, 0), r, last, now) == quote_reject::low_volume);
  CHECK(validate_quote(quote(1, 15'000, 1'000, now - r.max_age - 1), r, last, now) ==
        quote_reject::stale);
  CHECK(validate_quote(quote(1, 15'000, 1'000, now + r.max_future + 1), r, last, now) ==
        quote_reject::from_future);
  CHECK(to_string(quote_reject::too_far_from_finalized) == "too_far_from_finalized");
}

TEST_CASE("bounds, minimum volume and age are inclusive", "[price_validation]") {
  const quote_rules r;
  CHECK(validate_quote(quote(1, 5'000, 100), r, std::nullopt, now) == quote_reject::none);
  CHECK(validate_quote(quote(1, 50'000, 100), r, std::nullopt, now) ==
        quote_reject::none);
  CHECK(validate_quote(quote(1, 15'000, 100, now - r.max_age), r, std::nullopt, now) ==
        quote_reject::none);
}

TEST_CASE("an outlier source beyond 10% of the last finalized price is rejected",
          "[price_validation]") {
  const quote_rules r;
  const std::optional<price_ticks> last = 15'000;
  CHECK(validate_quote(quote(1, 16'500), r, last, now) == quote_reject::none); // +10%
  CHECK(validate_quote(quote(1, 13'500), r, last, now) == quote_reject::none); // -10%
  CHECK(validate_quote(quote(1, 16'501), r, last, now) ==
        quote_reject::too_far_from_finalized);
  CHECK(validate_quote(quote(1, 13'499), r, last, now) ==
        quote_reject::too_far_from_finalized);
  // before anything is finalized only the bounds apply
  CHECK(validate_quote(quote(1, 30'000), r, std::nullopt, now) == quote_reject::none);
}

// -- aggregation --

TEST_CASE("median ignores one lying source among three", "[price_aggregation]") {
  // the liar stays within the 10% move rule, so only the median protects us
  const auto r = agg({quote(1, 15'000), quote(2, 15'010), quote(3, 16'400)}, 15'000);
  REQUIRE(r.proposal);
  CHECK(r.proposal->price == 15'010);
  // the VWAP is pulled by the liar: that is why the median is the price
  CHECK(r.proposal->vwap == (15'000 + 15'010 + 16'400 + 1) / 3);
}

TEST_CASE("median of two lying sources among five stays within the honest range",
          "[price_aggregation]") {
  const auto r = agg({quote(1, 16'400), quote(2, 15'000), quote(3, 15'020),
                      quote(4, 15'010), quote(5, 16'450)},
                     15'000);
  REQUIRE(r.proposal);
  CHECK(r.proposal->price == 15'020);
}

TEST_CASE("fewer than K valid sources: no proposal", "[price_aggregation]") {
  const auto r = agg({quote(1, 15'000), quote(2, 15'010), quote(3, 15'000, 0)});
  CHECK_FALSE(r.proposal);
  CHECK(r.why == no_proposal_reason::too_few_sources);
  CHECK(r.valid == 2);
  CHECK(verdict(r, 3) == quote_reject::low_volume);
  CHECK_FALSE(agg({}).proposal);
  aggregation_rules one;
  one.min_sources = 1;
  CHECK(agg({quote(1, 15'000)}, std::nullopt, one).proposal);
}

TEST_CASE("a duplicated source counts once, so a leader cannot fake a quorum",
          "[price_aggregation]") {
  const auto r = agg({quote(1, 15'000), quote(2, 15'010), quote(2, 15'010)});
  CHECK_FALSE(r.proposal);
  CHECK(r.verdicts[2].why == quote_reject::duplicate_source);
}

TEST_CASE("a proposal lists the sources used, ascending, their volume and VWAP",
          "[price_aggregation]") {
  const auto r = agg({quote(4, 15'100, 300), quote(2, 15'000, 100), quote(9, 15'200, 600),
                      quote(1, 0, 100)});
  REQUIRE(r.proposal);
  const auto& p = *r.proposal;
  CHECK(p.symbol == "AAPL");
  CHECK(p.epoch == 7);
  CHECK(p.sources == std::vector<source_id>{2, 4, 9});
  CHECK(p.volume == 1'000);
  CHECK(p.price == 15'100);
  // (15000*100 + 15100*300 + 15200*600) / 1000 = 15150
  CHECK(p.vwap == 15'150);
  CHECK(verdict(r, 1) == quote_reject::bad_price);
  CHECK(to_string(p) ==
        "AAPL epoch=7 price=15100 vwap=15150 volume=1000 sources=[2,4,9]");
}

TEST_CASE("median of an even count is the lower mean of the middle two",
          "[price_aggregation]") {
  CHECK(median_price({15'000, 15'003, 14'000, 16'000}) == 15'001);
  CHECK(median_price({7}) == 7);
}

TEST_CASE("simulated feeds with one faulty source of each kind still give a proposal "
          "near the reference, and each faulty source is refused for its fault, over "
          "many seeds",
          "[price_aggregation]") {
  // Epochs are 1 s apart: the stale source (id 4) is refused once its frozen
  // quote is older than 2 s; the outlier (id 5) gets in at epoch 0 (nothing is
  // finalized yet, it is within the bounds) but the median still holds.
  for (std::uint64_t seed = 1; seed <= 100; ++seed) {
    auto ps = honest_sources(6, seed);
    ps[3].fault = source_fault::stale;
    ps[4].fault = source_fault::outlier;
    ps[5].fault = source_fault::zero_volume;
    simulated_feeds feeds({}, ps, seed);
    std::optional<price_ticks> last;
    for (int epoch = 0; epoch < 20; ++epoch) {
      const time_ns t = now + epoch * 1'000'000'000LL;
      const auto qs = feeds.sample(t);
      const auto r = aggregate(aapl, epoch, qs, {}, last, t);
      REQUIRE(r.proposal);
      CHECK(within_bps(r.proposal->price, feeds.reference(), feeds.reference(), 60));
      CHECK(verdict(r, 6) == quote_reject::low_volume);
      if (epoch >= 1)
        CHECK(verdict(r, 5) == quote_reject::too_far_from_finalized);
      if (epoch >= 3) {
        CHECK(verdict(r, 4) == quote_reject::stale);
        CHECK(r.proposal->sources == std::vector<source_id>{1, 2, 3});
      }
      last = r.proposal->price;
    }
  }
}

// -- the voter's check --

namespace {

struct voter_fixture {
  aggregation_rules rules;
  validator_view view;
  price_proposal good;

  voter_fixture() {
    view.symbol = aapl;
    view.epoch = 7;
    view.last_finalized = 15'000;
    view.own =
        agg({quote(1, 15'000), quote(2, 15'010), quote(3, 15'020)}, 15'000).proposal;
    good = *agg({quote(1, 15'005), quote(2, 15'015), quote(3, 15'020)}, 15'000).proposal;
  }
};

} // namespace

TEST_CASE_METHOD(voter_fixture,
                 "a voter accepts a proposal within tolerance of its own "
                 "view",
                 "[price_proposal]") {
  CHECK(check_proposal(good, view, rules) == proposal_verdict::accept);
  CHECK(check_proposal(*view.own, view, rules) == proposal_verdict::accept);
}

TEST_CASE_METHOD(voter_fixture, "a voter refuses a leader's price beyond its tolerance",
                 "[price_proposal]") {
  auto bad = good;
  bad.price = 15'010 + 15'010 * 50 / 10'000 + 1; // just over 0.5%
  CHECK(check_proposal(bad, view, rules) == proposal_verdict::price_disagrees);
  bad.price = 15'010 + 15'010 * 50 / 10'000; // exactly at the tolerance
  CHECK(check_proposal(bad, view, rules) == proposal_verdict::accept);
  bad = good;
  bad.vwap = 15'500;
  CHECK(check_proposal(bad, view, rules) == proposal_verdict::vwap_disagrees);
}

TEST_CASE_METHOD(voter_fixture,
                 "a voter refuses malformed, short, out-of-bounds, "
                 "too-far, foreign and untimely proposals",
                 "[price_proposal]") {
  auto p = good;
  p.symbol = "MSFT";
  CHECK(check_proposal(p, view, rules) == proposal_verdict::wrong_symbol);
  p = good;
  p.epoch = 8;
  CHECK(check_proposal(p, view, rules) == proposal_verdict::wrong_epoch);
  p = good;
  p.sources = {1, 1, 2};
  CHECK(check_proposal(p, view, rules) == proposal_verdict::malformed);
  p = good;
  p.sources = {3, 2, 1};
  CHECK(check_proposal(p, view, rules) == proposal_verdict::malformed);
  p = good;
  p.volume = 0;
  CHECK(check_proposal(p, view, rules) == proposal_verdict::malformed);
  p = good;
  p.sources = {1, 2};
  CHECK(check_proposal(p, view, rules) == proposal_verdict::too_few_sources);
  p = good;
  p.vwap = 60'000;
  CHECK(check_proposal(p, view, rules) == proposal_verdict::price_out_of_bounds);
  auto far = view;
  far.last_finalized = 13'000; // the proposal moves more than 10% from it
  CHECK(check_proposal(good, far, rules) == proposal_verdict::too_far_from_finalized);
}

TEST_CASE_METHOD(voter_fixture, "a voter without its own view refuses (abstains)",
                 "[price_proposal]") {
  view.own.reset();
  CHECK(check_proposal(good, view, rules) == proposal_verdict::no_own_view);
  CHECK(to_string(proposal_verdict::no_own_view) == "no_own_view");
}

TEST_CASE("honest voters with their own noisy view accept an honest leader's proposal "
          "and refuse one shifted by 1%, over many seeds",
          "[price_proposal]") {
  // Four validators watch the same five sources (the same reference walk)
  // through their own connections: same reference, independent noise.
  const aggregation_rules rules;
  for (std::uint64_t seed = 1; seed <= 50; ++seed) {
    std::vector<simulated_feeds> views;
    for (std::uint64_t v = 0; v < 4; ++v)
      views.emplace_back(reference_walk_params{}, honest_sources(5, seed * 100 + v),
                         seed);
    std::optional<price_ticks> last;
    for (epoch_t epoch = 1; epoch <= 10; ++epoch) {
      const time_ns t = now + static_cast<time_ns>(epoch) * 1'000'000'000LL;
      std::vector<aggregation_result> results;
      for (auto& feeds : views) {
        const auto qs = feeds.sample(t);
        results.push_back(aggregate(aapl, epoch, qs, rules, last, t));
        REQUIRE(results.back().proposal);
      }
      const auto leader = epoch % 4;
      const auto& honest = *results[leader].proposal;
      auto shifted = honest;
      shifted.price += shifted.price / 100;
      for (std::size_t v = 0; v < 4; ++v) {
        const validator_view view{aapl, epoch, results[v].proposal, last};
        INFO("seed " << seed << " epoch " << epoch << " voter " << v);
        CHECK(check_proposal(honest, view, rules) == proposal_verdict::accept);
        CHECK(check_proposal(shifted, view, rules) == proposal_verdict::price_disagrees);
      }
      last = honest.price; // as if finalized
    }
  }
}

// -- canonical bytes --

TEST_CASE("a proposal's canonical bytes decode to the same proposal, and nothing else "
          "decodes",
          "[price_codec]") {
  const auto p =
      *agg({quote(4, 15'100, 300), quote(2, 15'000, 100), quote(9, 15'200, 600)})
           .proposal;
  const auto bytes = encode(p);
  CHECK(decode_price_proposal(bytes) == p);
  CHECK(encode(p) == bytes); // deterministic
  auto other = p;
  other.epoch += 1;
  CHECK(encode(other) != bytes);
  CHECK_FALSE(decode_price_proposal(bytes.substr(0, bytes.size() - 1)));
  CHECK_FALSE(decode_price_proposal(bytes + "x"));
  CHECK_FALSE(decode_price_proposal("marketsim/halt/v1"));
  // a source count far larger than the bytes: refused without looping
  auto lying = bytes;
  const auto at = bytes.size() - 8 - 4 * 3 - 4; // the u32 count before the 3 sources
  lying[at + 3] = static_cast<char>(0x7f);
  CHECK_FALSE(decode_price_proposal(lying));
}
