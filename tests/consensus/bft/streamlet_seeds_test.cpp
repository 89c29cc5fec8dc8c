// Safety and liveness of Streamlet over many seeds, on the simulated
// adversarial network (streamlet_sim.hpp), and the bound: with f >= n/3
// equivocating validators the checker finds a violation.
//
//   STREAMLET_SEEDS=5000 streamlet_seeds_test   more seeds (default 100 per mixed case,
//   30 per twins case) STREAMLET_SEED=17 streamlet_seeds_test      replay one seed (every
//   case)
//
// Seeds run in parallel (oneTBB); results are checked on the main thread.

#include "actors/random.hpp"
#include "consensus/bft/streamlet_sim.hpp"

#include <catch2/catch.hpp>
#include <tbb/parallel_for.h>

#include <cstdlib>
#include <iostream>

using namespace marketsim::consensus::bft::streamlet;

namespace {

constexpr time_ns epoch_ns = 1'000'000'000; // 1 s of simulated time

std::vector<std::uint64_t> seeds_to_run(std::uint64_t default_count) {
  if (const char* one = std::getenv("STREAMLET_SEED"))
    return {std::strtoull(one, nullptr, 10)};
  std::uint64_t count = default_count;
  if (const char* many = std::getenv("STREAMLET_SEEDS"))
    count = std::strtoull(many, nullptr, 10);
  std::vector<std::uint64_t> seeds;
  for (std::uint64_t s = 1; s <= count; ++s)
    seeds.push_back(s);
  return seeds;
}

/// f = floor((n-1)/3) Byzantine validators, ids and behaviours drawn from the
/// seed; partitions and delays up to 3 epochs before GST (epoch 10), then
/// delays up to a quarter epoch for 40 epochs.
sim_params mixed_scenario(std::uint32_t n, std::uint64_t seed) {
  sim_params p;
  p.protocol.n = n;
  p.protocol.epoch_duration = epoch_ns;
  p.protocol.leader = seed % 3 == 0 ? leader_rule::round_robin : leader_rule::hash;
  p.seed = seed;
  p.gst = 10 * epoch_ns;
  p.duration = 50 * epoch_ns;
  p.delta = epoch_ns / 4;
  p.pre_gst_max_delay = 3 * epoch_ns;
  p.txs_per_epoch = 3;
  std::uint32_t f = (n - 1) / 3;
  std::uint64_t state = seed;
  p.twins = seed % 5 == 0;
  while (p.byzantine.size() < f) {
    auto x = marketsim::actors::splitmix64(state);
    auto id = static_cast<validator_id>(x % n);
    auto kind = static_cast<behaviour_kind>(1 + (x >> 8) % 8); // never honest
    p.byzantine.emplace(id, kind);
  }
  return p;
}

std::string replay_hint(std::uint64_t seed) {
  return "replay: STREAMLET_SEED=" + std::to_string(seed) +
         " tests/consensus/bft/streamlet_seeds_test";
}

struct outcome {
  sim_params params;
  sim_result result;
};

template <class Make>
std::vector<outcome> run_all(const std::vector<std::uint64_t>& seeds, Make make) {
  std::vector<outcome> out(seeds.size());
  tbb::parallel_for(std::size_t{0}, seeds.size(), [&](std::size_t i) {
    out[i].params = make(seeds[i]);
    out[i].result = run_simulation(out[i].params);
  });
  return out;
}

void check_safe_and_live(const std::vector<outcome>& runs) {
  std::uint64_t finalized = 0, evidence = 0, forged = 0;
  for (const auto& o : runs) {
    INFO(describe(o.params));
    INFO(replay_hint(o.params.seed));
    INFO(o.result.safety.violation);
    REQUIRE(o.result.safety.safe);
    REQUIRE(o.result.live(5)); // 40 epochs after GST: at least 5 new final blocks each
    REQUIRE(o.result.evidence_verifies);
    for (const auto& ev : o.result.misbehaviour) // nobody honest is ever accused
      REQUIRE(o.params.byzantine.count(ev.culprit) == 1);
    for (const auto& n : o.result.nodes)
      if (n.honest)
        finalized += n.finalized.size();
    evidence += o.result.misbehaviour.size();
    forged += o.result.rejected_bad_signature;
  }
  std::cout << runs.size()
            << " seeds: safe, and live (>= 5 blocks finalized after GST at every honest "
               "node); honest finalized blocks "
            << finalized << ", evidence reports " << evidence
            << ", bad signatures rejected " << forged << "\n";
}

} // namespace

TEST_CASE("n=4, f=1 Byzantine of any behaviour: safe under any delay, live after GST",
          "[streamlet][seeds]") {
  check_safe_and_live(
      run_all(seeds_to_run(100), [](auto s) { return mixed_scenario(4, s); }));
}

TEST_CASE("n=7, f=2 Byzantine of mixed behaviours: safe under any delay, live after GST",
          "[streamlet][seeds]") {
  check_safe_and_live(
      run_all(seeds_to_run(100), [](auto s) { return mixed_scenario(7, s); }));
}

namespace {

/// The twins attack: every Byzantine validator runs one honest core per side
/// with its one key; the honest validators are split between the sides,
/// which never hear each other until `heal`.
sim_params twins_attack(std::uint32_t n, std::uint32_t f, std::uint64_t seed,
                        time_ns heal) {
  sim_params p;
  p.protocol.n = n;
  p.protocol.epoch_duration = epoch_ns;
  p.protocol.leader = leader_rule::hash;
  p.seed = seed;
  p.twins = true;
  for (validator_id i = 0; i < f; ++i)
    p.byzantine.emplace(static_cast<validator_id>((seed + 2 * i) % n),
                        behaviour_kind::equivocate);
  p.gst = 0;
  p.heal = heal;
  p.duration = 40 * epoch_ns;
  p.delta = epoch_ns / 4;
  p.txs_per_epoch = 2;
  return p;
}

} // namespace

TEST_CASE("the bound is tight: f >= n/3 equivocating twins make honest validators "
          "finalize conflicting blocks, and the checker reports it",
          "[streamlet][seeds][bound]") {
  for (auto [n, f] : {std::pair{4u, 2u}, std::pair{7u, 3u}}) {
    // Sides heal 10 epochs before the end: the violation is already final,
    // and the honest nodes then see both sides' signatures and name the twins.
    auto runs = run_all(seeds_to_run(30), [n = n, f = f](auto s) {
      return twins_attack(n, f, s, 30 * epoch_ns);
    });
    for (const auto& o : runs) {
      INFO(describe(o.params));
      INFO(replay_hint(o.params.seed));
      CHECK_FALSE(o.result.safety.safe);
      CHECK_THAT(o.result.safety.violation,
                 Catch::Contains("finalized different blocks"));
      // Evidence after the heal names Byzantine validators only, and verifies.
      CHECK_FALSE(o.result.misbehaviour.empty());
      CHECK(o.result.evidence_verifies);
      for (const auto& ev : o.result.misbehaviour)
        CHECK(o.params.byzantine.count(ev.culprit) == 1);
    }
    if (!runs.empty())
      std::cout << "n=" << n << " f=" << f << ": " << runs.size()
                << " seeds, violation found in each, e.g. "
                << runs[0].result.safety.violation << "\n";
  }
}

TEST_CASE("the same twins attack with f < n/3 stays safe, and the side with a quorum "
          "stays live",
          "[streamlet][seeds][bound]") {
  for (auto [n, f] : {std::pair{4u, 1u}, std::pair{7u, 2u}}) {
    auto runs = run_all(seeds_to_run(30), [n = n, f = f](auto s) {
      return twins_attack(n, f, s, std::numeric_limits<time_ns>::max());
    });
    for (const auto& o : runs) {
      INFO(describe(o.params));
      INFO(replay_hint(o.params.seed));
      REQUIRE(o.result.safety.safe);
      std::uint64_t best = 0;
      for (const auto& node : o.result.nodes)
        if (node.honest)
          best = std::max<std::uint64_t>(best, node.finalized.size());
      CHECK(best > 0);
    }
  }
}
