/// `marketsim run` with a `settlement:` section, in virtual time: every trade
/// of the tape is committed by the Raft validators, the replicas end with
/// the ledger of the tape, a leader crash fails over within two election
/// timeouts, and the crashed validator comes back from its disk.

#include "app/report.hpp"
#include "app/run.hpp"
#include "app/scenario.hpp"
#include "strategies/registry.hpp"

#include <catch2/catch.hpp>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>

using namespace marketsim::app;
using namespace std::chrono_literals;

namespace {

const auto registry = marketsim::strategies::builtin_strategies();

std::string scenario_yaml(const std::string& out, const std::string& settlement) {
  return R"(seed: 5
duration: 3s
output: {folder: )" + out + R"(}
symbols:
  - {name: AAA, tick_size: 1, lot_size: 1, reference_price: 10000}
  - {name: BBB, tick_size: 1, lot_size: 1, reference_price: 5000}
shards:
  - symbols: [AAA]
  - symbols: [BBB]
agents:
  - count: 10
    strategy: zero_intelligence
    symbols: [AAA]
    params: {interval: 10ms, jitter: 5ms}
    account: &acc {cash: 100000000, positions: {AAA: 1000, BBB: 1000}}
  - count: 10
    strategy: zero_intelligence
    symbols: [BBB]
    params: {interval: 10ms, jitter: 5ms}
    account: *acc
settlement:
)" + settlement;
}

/// The scenario of scenario_yaml, parsed.
scenario settlement_scenario(const std::string& out, const std::string& settlement) {
  return parse_scenario(scenario_yaml(out, settlement), "settle.yaml", registry);
}

/// The market of scenario_yaml with a `halt:` section instead of settlement.
std::string halt_yaml(const std::string& out, const std::string& halt) {
  auto text = scenario_yaml(out, "");
  return text.substr(0, text.find("settlement:\n")) + "halt:\n" + halt;
}

struct out_dir {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("settlement_run_" + std::to_string(::getpid()));
  ~out_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

} // namespace

TEST_CASE("every trade of the tape is settled, and every replica ends with the tape's ledger",
          "[settlement][raft]") {
  out_dir out;
  auto sc = settlement_scenario(out.path.string(), "  validators: 3\n");
  auto r = run_scenario(sc, registry);
  REQUIRE(r.settlement);
  const auto& s = *r.settlement;
  REQUIRE(r.tape.size() > 100);
  CHECK(s.settled);
  CHECK(s.submitted == r.tape.size());
  CHECK(s.committed == r.tape.size());
  CHECK(s.rejected == 0);
  CHECK(s.gave_up == 0);
  CHECK(s.replicas_agree);
  CHECK(s.matches_tape);
  CHECK(s.state_hash == s.tape_hash);
  CHECK(s.latency_p50_ns > 0);
  CHECK_FALSE(s.crashed);
}

TEST_CASE("the leader crashes mid-run: a new one within two election timeouts, nothing lost, "
          "and the restarted validator catches up from its disk",
          "[settlement][raft]") {
  out_dir out;
  auto sc = settlement_scenario(out.path.string(), "  validators: 5\n  crash_leader_at: 1s\n"
                                                   "  restart_after: 500ms\n  persist: true\n"
                                                   "  snapshot_every: 200\n");
  auto r = run_scenario(sc, registry);
  REQUIRE(r.settlement);
  const auto& s = *r.settlement;
  REQUIRE(s.crashed);
  CHECK(s.crash_at_ns == 1'000'000'000);
  REQUIRE(s.failover_ns);
  CHECK(*s.failover_ns > 0);
  CHECK(*s.failover_ns < 2 * 300'000'000);
  REQUIRE(s.new_leader);
  CHECK(*s.new_leader != *s.crashed);
  CHECK(s.restarted);
  CHECK(s.settled);
  CHECK(s.committed == r.tape.size());
  CHECK(s.replicas_agree); // the restarted validator included
  CHECK(s.matches_tape);
  // The wait shows in the latency tail and in the longest gap between commits.
  CHECK(s.longest_gap_ns > *s.failover_ns);
  // Its log is on disk.
  CHECK(std::filesystem::exists(out.path / "raft" / ("validator-" + std::to_string(*s.crashed))));

  // The same scenario and seed settle to the same ledger.
  auto again = run_scenario(sc, registry);
  REQUIRE(again.settlement);
  CHECK(again.settlement->state_hash == s.state_hash);
  CHECK(again.settlement->failover_ns == s.failover_ns);
}

TEST_CASE("settlement on Streamlet with an equivocating validator: every honest validator "
          "finalizes every trade, their ledgers equal the tape's, and the equivocator is "
          "proved guilty",
          "[settlement][streamlet]") {
  out_dir out;
  auto sc = settlement_scenario(out.path.string(), "  protocol: streamlet\n  validators: 4\n"
                                                   "  epoch: 100ms\n  byzantine: {2: equivocate}\n");
  auto r = run_scenario(sc, registry);
  REQUIRE(r.settlement);
  const auto& s = *r.settlement;
  CHECK(s.protocol == "streamlet");
  REQUIRE(r.tape.size() > 100);
  CHECK(s.settled);
  CHECK(s.submitted == r.tape.size());
  CHECK(s.committed == r.tape.size());
  CHECK(s.replicas_agree);
  CHECK(s.matches_tape);
  // Finality needs the block's epoch and two more notarized after it.
  CHECK(s.latency_p50_ns >= 100'000'000);
  REQUIRE_FALSE(s.misbehaviour.empty());
  for (const auto& m : s.misbehaviour) {
    INFO(m);
    CHECK(m.rfind("validator 2:", 0) == 0); // only the Byzantine one is accused
  }
  // The same ledger as Raft settles for the same market and seed.
  auto raft_sc = parse_scenario(scenario_yaml(out.path.string(), "  validators: 3\n"),
                                "settle.yaml", registry);
  auto raft = run_scenario(raft_sc, registry);
  REQUIRE(raft.settlement);
  CHECK(raft.settlement->state_hash == s.state_hash);
}

TEST_CASE("settlement on Streamlet with shard-signed trade batches: a leader's fake trades "
          "and repeated trades are refused and proved, accounts hold every honest trade once "
          "and nothing else",
          "[settlement][streamlet][signed_trades]") {
  out_dir out;
  auto sc = settlement_scenario(out.path.string(), "  protocol: streamlet\n  validators: 7\n"
                                                   "  epoch: 100ms\n"
                                                   "  byzantine: {1: fake_txs, 2: double_spend}\n");
  auto r = run_scenario(sc, registry);
  REQUIRE(r.settlement);
  const auto& s = *r.settlement;
  REQUIRE(r.tape.size() > 100);
  CHECK(s.settled);
  CHECK(s.committed == r.tape.size()); // every honest trade, on every honest validator
  CHECK(s.unsigned_finalized == 0);    // no fake trade finalized
  CHECK(s.finalized_twice == 0);       // no trade finalized twice
  CHECK(s.replicas_agree);
  CHECK(s.matches_tape); // the accounts are the tape's: nothing fake, nothing twice
  // Batched: fewer signed batches than trades (one signature each), each
  // batch at most trade_batch (256) trades.
  CHECK(s.batches > 0);
  CHECK(s.batches < r.tape.size() / 2);
  CHECK(s.batches * 256 >= r.tape.size());
  std::set<std::string> proved;
  for (const auto& m : s.misbehaviour) {
    INFO(m);
    CHECK((m.rfind("validator 1:", 0) == 0 || m.rfind("validator 2:", 0) == 0));
    proved.insert(m.substr(0, m.find(" (")));
  }
  CHECK(proved.count("validator 1: invalid_proposal") == 1);
  CHECK(proved.count("validator 2: invalid_proposal") == 1);
  const auto json = summary_json(r);
  CHECK(json.find("\"unsigned_finalized\": 0, \"finalized_twice\": 0") != std::string::npos);
}

TEST_CASE("settlement on Streamlet: a shard's batch leaves when full or when its window "
          "ends; with no window every trade is its own batch; the ledger is the tape's either "
          "way",
          "[settlement][streamlet][signed_trades]") {
  out_dir out;
  // Every trade settled once, as on the tape; how many batches carried them.
  auto batches_for = [&](const std::string& batching) {
    INFO(batching);
    auto r = run_scenario(settlement_scenario(out.path.string(),
                                              "  protocol: streamlet\n  validators: 4\n"
                                              "  epoch: 100ms\n" + batching),
                          registry);
    REQUIRE(r.settlement);
    CHECK(r.settlement->committed == r.tape.size());
    CHECK(r.settlement->matches_tape);
    return std::pair{r.settlement->batches, r.tape.size()};
  };
  auto [alone, trades] = batches_for("  trade_batch: 64\n  trade_batch_window: 0ms\n");
  CHECK(alone == trades);
  // At most 5 a batch, and a 50 ms window gathers more than one.
  auto [fives, trades5] = batches_for("  trade_batch: 5\n  trade_batch_window: 50ms\n");
  CHECK(fives * 5 >= trades5);
  CHECK(fives < trades5);
}

TEST_CASE("consensus prices: Streamlet price validators finalize prices near the symbol's "
          "reference, the shard's band rejects orders outside it, and a lying leader is proved",
          "[price_consensus][streamlet]") {
  out_dir out;
  auto yaml = [&](bool consensus) {
    auto text = scenario_yaml(out.path.string(), "  validators: 3\n");
    text = text.substr(0, text.find("settlement:\n"));
    text.replace(text.find("  - symbols: [AAA]\n"), 19,
                 "  - symbols: [AAA]\n    price_band_bps: 20\n");
    text.replace(text.find("duration: 3s"), 12, "duration: 10s");
    if (consensus)
      text += "price_consensus:\n  symbol: AAA\n  validators: 4\n  epoch: 250ms\n"
              "  step_bps: 30\n  byzantine: {3: shift_price}\n";
    return text;
  };
  auto with = run_scenario(parse_scenario(yaml(true), "prices.yaml", registry), registry);
  auto without = run_scenario(parse_scenario(yaml(false), "prices.yaml", registry), registry);
  REQUIRE(with.price_consensus);
  CHECK_FALSE(without.price_consensus);
  const auto& p = *with.price_consensus;
  CHECK(p.symbol == "AAA");
  CHECK(p.finalized_prices >= 30); // 40 epochs, finality one or two behind
  CHECK(p.first_price > 9'000);
  CHECK(p.first_price < 11'000);
  // The band (0.2% around the consensus price) bites: more rejects on AAA than
  // the same market without consensus prices (where the band never moves).
  CHECK(with.symbols.at(0).rejects > without.symbols.at(0).rejects);
  REQUIRE_FALSE(p.misbehaviour.empty());
  for (const auto& m : p.misbehaviour) {
    INFO(m);
    CHECK(m.rfind("validator 3:", 0) == 0);
  }
}

TEST_CASE("a trading halt decided by Dolev-Strong: an honest sender halts every shard after "
          "f+1 rounds; an equivocating or silent one leaves trading alone",
          "[halt][dolev_strong]") {
  out_dir out;
  auto yaml = [&](const std::string& sender) {
    return halt_yaml(out.path.string(), "  at: 1s\n  validators: 7\n  faulty: 2\n  round: 20ms\n"
                                        "  sender: " + sender + "\n");
  };
  auto honest = run_scenario(parse_scenario(yaml("honest"), "halt.yaml", registry), registry);
  REQUIRE(honest.halt);
  CHECK(honest.halt->decided);
  CHECK(honest.halt->halted);
  CHECK(honest.halt->agreement);
  CHECK(honest.halt->started_ns == 1'000'000'000);
  CHECK(honest.halt->decided_ns == 1'000'000'000 + 3 * 20'000'000); // f + 1 = 3 rounds
  // No trade after the halt reached the shards.
  for (const auto& t : honest.tape)
    CHECK(t.time_ns <= honest.halt->decided_ns);
  std::uint64_t rejects = 0;
  for (const auto& s : honest.symbols)
    rejects += s.rejects;
  CHECK(rejects > 100); // the agents keep sending; the shards refuse

  for (const char* sender : {"equivocate", "silent"}) {
    INFO("sender " << sender);
    auto r = run_scenario(parse_scenario(yaml(sender), "halt.yaml", registry), registry);
    REQUIRE(r.halt);
    CHECK(r.halt->decided);
    CHECK_FALSE(r.halt->halted);
    CHECK(r.halt->agreement);
    CHECK(r.tape.back().time_ns > 2'000'000'000); // trading went on
  }
}

TEST_CASE("a trading halt with a forging relay: the shards halt, the relay is convicted in "
          "the report and summary.json",
          "[halt][dolev_strong]") {
  out_dir out;
  auto text = halt_yaml(out.path.string(), "  at: 1s\n  validators: 7\n  faulty: 2\n"
                                           "  round: 20ms\n  byzantine: {3: forge_relay, "
                                           "5: selective_relay}\n");
  auto r = run_scenario(parse_scenario(text, "halt.yaml", registry), registry);
  REQUIRE(r.halt);
  CHECK(r.halt->halted);
  CHECK(r.halt->agreement);
  CHECK(r.halt->decided_ns == 1'000'000'000 + 3 * 20'000'000);
  CHECK(r.halt->refused >= 5); // every honest validator refused the forgery
  REQUIRE(r.halt->misbehaviour.size() == 1);
  CHECK(r.halt->misbehaviour.front().rfind("validator 3:", 0) == 0);
  for (const auto& t : r.tape)
    CHECK(t.time_ns <= r.halt->decided_ns);
  const auto json = summary_json(r);
  CHECK(json.find("\"misbehaviour\": [\"validator 3:") != std::string::npos);
}

TEST_CASE("a trading halt through the network layer: links faster than a round halt on "
          "time; links slower than a round leave the validators on the default",
          "[halt][dolev_strong][network]") {
  out_dir out;
  auto yaml = [&](const std::string& latency) {
    auto text = halt_yaml(out.path.string(),
                          "  at: 1s\n  validators: 5\n  faulty: 1\n  round: 20ms\n");
    // The two shards at two sites: validators 0, 2, 4 at one, 1, 3 at the other.
    text.replace(text.find("  - symbols: [AAA]"), 18, "  - site: node_0\n    symbols: [AAA]");
    text.replace(text.find("  - symbols: [BBB]"), 18, "  - site: node_1\n    symbols: [BBB]");
    return text + "network:\n  topology: mesh\n  nodes: 2\n  link: {latency: " + latency +
           "}\n";
  };
  auto fast = run_scenario(parse_scenario(yaml("5ms"), "halt.yaml", registry), registry);
  REQUIRE(fast.halt);
  CHECK(fast.halt->halted);
  CHECK(fast.halt->agreement);
  CHECK(fast.halt->decided_ns == 1'000'000'000 + 2 * 20'000'000);
  CHECK(fast.halt->refused == 0);

  // 30 ms > 20 ms rounds: the sender's chains to the other site arrive after
  // round 1. Its own site's validators (0, 2, 4) decide the halt, the others
  // the default: the report shows the disagreement and no shard halts.
  auto slow = run_scenario(parse_scenario(yaml("30ms"), "halt.yaml", registry), registry);
  REQUIRE(slow.halt);
  CHECK(slow.halt->decided);
  CHECK_FALSE(slow.halt->agreement);
  CHECK_FALSE(slow.halt->halted);
  CHECK(slow.halt->refused > 0);
  CHECK(slow.tape.back().time_ns > 2'000'000'000); // trading went on
}
