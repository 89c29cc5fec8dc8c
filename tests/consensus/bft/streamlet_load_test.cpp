/// The load of `streamlet-validator --load` and `streamlet-bench`: load
/// transactions carry origin, sequence and submission time; the finality
/// meter counts what a validator finalized and proved; the driver keeps at
/// most its window of own transactions unfinalized, in both modes.

#include "actors/consensus_messages.hpp"
#include "actors/vocabulary.hpp"
#include "consensus/bft/streamlet_load.hpp"
#include "consensus/bft/streamlet_trades.hpp"
#include "consensus/raft/settlement_ledger.hpp"

#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <set>
#include <thread>

namespace {

using namespace marketsim;
using namespace marketsim::consensus::bft::streamlet;

streamlet_params params_4() {
  streamlet_params p;
  p.n = 4;
  p.epoch_duration = 100'000'000; // 100 ms
  return p;
}

std::shared_ptr<const block> block_of(epoch_t epoch, std::uint64_t height,
                                      std::vector<std::string> txs) {
  auto b = std::make_shared<block>();
  b->epoch = epoch;
  b->height = height;
  b->txs = std::move(txs);
  return b;
}

/// Polls `done` for up to 5 s (the driver runs on CAF's real-time clock).
bool eventually(const std::function<bool()>& done) {
  for (int k = 0; k < 500; ++k) {
    if (done())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return done();
}

struct sink_state {
  static inline const char* name = "test.streamlet_sink";
};

/// Stands in for a validator: counts the transactions submitted to it.
caf::behavior sink(caf::stateful_actor<sink_state>*, std::shared_ptr<std::atomic<int>> txs) {
  return {[txs](const actors::streamlet_submit& s) {
    txs->fetch_add(static_cast<int>(s.txs.size()));
  }};
}

struct system_config : caf::actor_system_config {
  system_config() {
    actors::add_message_types(*this);
    set("scheduler.max-threads", std::size_t{2});
  }
};

} // namespace

TEST_CASE("a load transaction round-trips and is padded to its size", "[streamlet][load]") {
  auto tx = encode_load_tx({7, 123456789012ull, -5}, 100);
  CHECK(tx.size() == 100);
  auto t = decode_load_tx(tx);
  REQUIRE(t);
  CHECK(t->origin == 7);
  CHECK(t->seq == 123456789012ull);
  CHECK(t->submitted_ns == -5);
  CHECK(encode_load_tx({1, 2, 3}, 4).size() == load_tx_header_bytes);
  CHECK_FALSE(decode_load_tx(tx.substr(0, 23)));
  CHECK_FALSE(decode_load_tx(std::string(100, 'x')));
}

TEST_CASE("the meter counts blocks, transactions, own transactions and evidence",
          "[streamlet][load]") {
  finality_meter meter{0, params_4(), 0, 1};
  auto obs = meter.observer(true);
  const auto now = steady_now_ns();
  auto own = [&](std::uint64_t seq) { return encode_load_tx({0, seq, now}, 32); };
  auto other = encode_load_tx({2, 0, now}, 32);
  auto b1 = block_of(1, 1, {own(0), own(1), other});
  auto b2 = block_of(2, 2, {"opaque"});
  obs.on_finalized(0, b1, 150'000'000); // 1.5 epochs after epoch 1 starts
  obs.on_finalized(0, b2, 250'000'000);
  evidence e;
  e.kind = offence::double_proposal;
  e.culprit = 2;
  e.epoch = 3;
  obs.on_evidence(0, e, 260'000'000);
  obs.on_rejected(0, rejection{reject_reason::bad_signature, 1, 3}, 260'000'000);

  auto s = meter.read();
  CHECK(s.height == 2);
  CHECK(s.last_hash == block_hash(*b2).hex());
  CHECK(s.last_epoch == 2);
  CHECK(s.txs == 4);
  CHECK(s.own_finalized == 2);
  CHECK(meter.own_finalized() == 2);
  CHECK(s.evidence == 1);
  CHECK(s.evidence_by.at("double_proposal by validator 3") == 1); // ids printed from 1
  CHECK(s.rejected == 1);
  CHECK(s.block_latency_epochs == Approx(1.0)); // (1 + 1) / 2
  CHECK(s.block_latency_ms == Approx(150.0));   // (150 + 150) / 2
  // Epochs (0, 2]: 4 transactions in 0.2 s.
  CHECK(meter.rate(0, 2) == Approx(20.0));
  CHECK(meter.rate(1, 2) == Approx(10.0));
  CHECK(meter.rate(2, 2) == 0);

  auto lines = meter.take_lines();
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == "finalized height 1 epoch 1 txs 3 hash " + block_hash(*b1).hex());
  CHECK(lines[2] == "evidence: double_proposal by validator 3 in epoch 3");
  CHECK(meter.take_lines().empty());
}

TEST_CASE("the meter counts the trades of shard-signed batches, and times its own shard's "
          "batches from their submission",
          "[streamlet][load]") {
  finality_meter meter{1, params_4(), 1};
  auto obs = meter.observer();
  const auto shard1 = consensus::crypto::key_pair::derive(4242, 1);
  const auto shard2 = consensus::crypto::key_pair::derive(4242, 2);
  const auto cmds = sample_trade_commands(1, 5);
  // The sample commands are settlement commands of one trade each, all different.
  for (const auto& c : cmds) {
    auto d = consensus::raft::decode_settlement_command(c);
    REQUIRE(d);
    auto* trades = std::get_if<std::vector<consensus::raft::trade_record>>(&*d.value);
    REQUIRE(trades);
    CHECK(trades->size() == 1);
    CHECK(trades->front().buyer != trades->front().seller);
  }
  CHECK(std::set<std::string>(cmds.begin(), cmds.end()).size() == cmds.size());
  meter.batch_submitted(1, steady_now_ns() - 50'000'000); // 50 ms ago
  auto b1 = block_of(1, 1,
                     {encode_trade_batch(shard1, 1, 1, cmds),
                      encode_trade_batch(shard2, 2, 1, sample_trade_commands(1, 3)),
                      encode_load_tx({1, 0, steady_now_ns()}, 32)});
  obs.on_finalized(1, b1, 150'000'000);
  auto s = meter.read();
  CHECK(s.txs == 3);
  CHECK(s.trades == 8);
  CHECK(s.own_finalized == 6); // its shard's 5 trades and its load transaction
  CHECK(s.own_latency_max_ms >= 50.0);
  CHECK(meter.rate(0, 1, true) == Approx(80.0)); // 8 trades in 0.1 s
  CHECK(meter.rate(0, 1) == Approx(30.0));
}

TEST_CASE("the driver keeps at most its window of own transactions unfinalized",
          "[streamlet][load]") {
  system_config cfg;
  caf::actor_system sys{cfg};
  auto meter = std::make_shared<finality_meter>(0, params_4(), 0);
  auto obs = meter->observer();
  auto got = std::make_shared<std::atomic<int>>(0);
  auto validator = sys.spawn(sink, got);
  auto counters = std::make_shared<load_counters>();
  // Starts a driver; it must submit exactly `window` and then stop there.
  auto start = [&](load_params p) {
    auto driver = spawn_load_driver(sys, validator, p, meter, counters);
    REQUIRE(eventually([&] { return got->load() == static_cast<int>(p.window); }));
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
    CHECK(got->load() == static_cast<int>(p.window)); // nothing finalized: nothing more
    return driver;
  };

  SECTION("saturating: the window, then as much again as is finalized") {
    load_params p;
    p.window = 250;
    p.max_per_message = 100;
    auto driver = start(p);
    std::vector<std::string> txs;
    for (std::uint64_t k = 0; k < 40; ++k)
      txs.push_back(encode_load_tx({0, k, steady_now_ns()}, 32));
    obs.on_finalized(0, block_of(1, 1, txs), 0);
    CHECK(eventually([&] { return got->load() == 290; }));
    CHECK(counters->submitted.load() == 290);
    caf::anon_send_exit(driver, caf::exit_reason::user_shutdown);
  }
  SECTION("at a rate the group cannot follow: still the window") {
    load_params p;
    p.rate = 1e7;
    p.window = 120;
    caf::anon_send_exit(start(p), caf::exit_reason::user_shutdown);
  }
  caf::anon_send_exit(validator, caf::exit_reason::user_shutdown);
}
