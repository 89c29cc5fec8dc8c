// Each Byzantine behaviour against honest validators on a synchronous
// simulated network (n=4, one Byzantine validator): what it does is
// detected or refused, safety holds, and the honest validators keep
// finalizing.

#include "consensus/bft/streamlet_coins.hpp"
#include "consensus/bft/streamlet_sim.hpp"

#include <catch2/catch.hpp>

using namespace marketsim::consensus::bft::streamlet;
namespace crypto = marketsim::consensus::crypto;

namespace {

constexpr time_ns epoch_ns = 1'000'000'000;

sim_params one_byzantine(behaviour_kind kind, std::uint64_t seed) {
  sim_params p;
  p.protocol.n = 4;
  p.protocol.epoch_duration = epoch_ns;
  p.protocol.leader = leader_rule::round_robin; // validator 1 leads epochs 1, 5, 9, ...
  p.seed = seed;
  p.byzantine.emplace(1, kind);
  p.gst = 0;
  p.partition_before_gst = false;
  p.duration = 24 * epoch_ns;
  p.delta = epoch_ns / 4;
  p.txs_per_epoch = 3;
  p.keep_blocks = true;
  return p;
}

/// Offences reported by honest nodes against validator 1, by kind.
std::set<offence> offences_of_1(const sim_result& r) {
  std::set<offence> kinds;
  for (const auto& ev : r.misbehaviour) {
    CHECK(ev.culprit == 1);
    kinds.insert(ev.kind);
  }
  return kinds;
}

void check_safe_live(const sim_result& r) {
  INFO(r.safety.violation);
  CHECK(r.safety.safe);
  CHECK(r.live(3));
  CHECK(r.evidence_verifies);
}

} // namespace

TEST_CASE("crash: the other three keep finalizing", "[streamlet][byzantine]") {
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    auto r = run_simulation(one_byzantine(behaviour_kind::crash, seed));
    check_safe_live(r);
    CHECK(r.misbehaviour.empty());
  }
}

TEST_CASE("silent: the other three keep finalizing", "[streamlet][byzantine]") {
  auto r = run_simulation(one_byzantine(behaviour_kind::silent, 1));
  check_safe_live(r);
  CHECK(r.nodes[1].stats.votes_sent > 0); // it voted, nobody heard
}

TEST_CASE("equivocate: two proposals and double votes are proven with evidence",
          "[streamlet][byzantine]") {
  auto r = run_simulation(one_byzantine(behaviour_kind::equivocate, 1));
  check_safe_live(r);
  auto kinds = offences_of_1(r);
  CHECK(kinds.count(offence::double_proposal) == 1);
  CHECK(kinds.count(offence::double_vote) == 1);
}

TEST_CASE("vote_invalid: invalid proposals and votes for them are proven",
          "[streamlet][byzantine]") {
  auto r = run_simulation(one_byzantine(behaviour_kind::vote_invalid, 1));
  check_safe_live(r);
  auto kinds = offences_of_1(r);
  CHECK(kinds.count(offence::invalid_proposal) == 1);
  CHECK(kinds.count(offence::vote_for_invalid) == 1);
}

TEST_CASE("forge and replay: bad signatures are rejected, never counted",
          "[streamlet][byzantine]") {
  auto r = run_simulation(one_byzantine(behaviour_kind::forge, 1));
  check_safe_live(r);
  // Each epoch: a vote in another's name, a proposal in the leader's name and
  // a replay moved to a new epoch, at each of the three honest nodes.
  CHECK(r.rejected_bad_signature >= 3 * 20);
  CHECK(r.misbehaviour.empty()); // forgeries prove nothing about anyone
}

TEST_CASE("selective delay: safe, and the delayed nodes still finalize",
          "[streamlet][byzantine]") {
  for (std::uint64_t seed = 1; seed <= 3; ++seed)
    check_safe_live(run_simulation(one_byzantine(behaviour_kind::selective_delay, seed)));
}

TEST_CASE("fake transactions: the leader's block is refused and proven invalid",
          "[streamlet][byzantine]") {
  auto r = run_simulation(one_byzantine(behaviour_kind::fake_txs, 1));
  check_safe_live(r);
  CHECK(offences_of_1(r).count(offence::invalid_proposal) == 1);
  for (const auto& n : r.nodes)
    if (n.honest)
      for (const auto& b : n.finalized_blocks)
        for (const auto& tx : b->txs) {
          auto t = decode_transfer(tx);
          REQUIRE(t);
          CHECK(t->coin < 1'000'000); // the forged ones are numbered from 1,000,000
        }
}

TEST_CASE("double spend: a coin is never spent twice on a finalized chain",
          "[streamlet][byzantine]") {
  auto r = run_simulation(one_byzantine(behaviour_kind::double_spend, 1));
  check_safe_live(r);
  CHECK(offences_of_1(r).count(offence::invalid_proposal) == 1);
  for (const auto& n : r.nodes) {
    if (!n.honest)
      continue;
    std::set<std::uint64_t> coins;
    for (const auto& b : n.finalized_blocks)
      for (const auto& tx : b->txs)
        CHECK(coins.insert(decode_transfer(tx)->coin).second);
  }
}

TEST_CASE("behaviour names round-trip", "[streamlet][byzantine]") {
  for (auto k : {behaviour_kind::honest, behaviour_kind::crash, behaviour_kind::silent,
                 behaviour_kind::equivocate, behaviour_kind::vote_invalid,
                 behaviour_kind::forge, behaviour_kind::selective_delay,
                 behaviour_kind::fake_txs, behaviour_kind::double_spend})
    CHECK(behaviour_from_string(to_string(k)) == k);
  CHECK_FALSE(behaviour_from_string("sneaky"));
}

TEST_CASE("a simulated run is deterministic: same params, same chains and counts",
          "[streamlet][sim]") {
  auto p = one_byzantine(behaviour_kind::equivocate, 7);
  p.partition_before_gst = true;
  p.gst = 6 * epoch_ns;
  p.pre_gst_max_delay = 2 * epoch_ns;
  auto a = run_simulation(p);
  auto b = run_simulation(p);
  REQUIRE(a.nodes.size() == b.nodes.size());
  for (std::size_t i = 0; i < a.nodes.size(); ++i)
    CHECK(a.nodes[i].finalized == b.nodes[i].finalized);
  CHECK(a.messages == b.messages);
  CHECK(a.misbehaviour.size() == b.misbehaviour.size());
  p.seed = 8;
  CHECK(run_simulation(p).messages != a.messages);
}

TEST_CASE("coin rules: issuer-signed transfers pass; a forged one or a re-spent coin "
          "fails, in small and large (parallel-verified) blocks",
          "[streamlet][coins]") {
  auto issuer = crypto::key_pair::derive(3, 500);
  streamlet_params p;
  p.n = 4;
  p.max_block_txs = 1'000;
  std::vector<crypto::public_key> roster;
  for (validator_id i = 0; i < 4; ++i)
    roster.push_back(crypto::key_pair::derive(3, i).public_part());
  streamlet_core core(p, 0, crypto::key_pair::derive(3, 0), roster,
                      coin_rules(issuer.public_part()));
  for (std::uint64_t size : {3u, 200u}) {
    block b;
    b.epoch = 1;
    b.height = 1;
    b.parent = genesis_hash();
    for (std::uint64_t c = 0; c < size; ++c)
      b.txs.push_back(encode_transfer(issuer, c, 7));
    CHECK_FALSE(core.validate(b));
    auto forged = b;
    forged.txs.back() = encode_forged_transfer(size - 1, 7, 1);
    CHECK(core.validate(forged) == reject_reason::invalid_payload);
    auto respent = b;
    respent.txs.push_back(encode_transfer(issuer, 0, 8));
    CHECK(core.validate(respent) == reject_reason::invalid_payload);
    auto junk = b;
    junk.txs.push_back("not a transfer");
    CHECK(core.validate(junk) == reject_reason::invalid_payload);
  }
}
