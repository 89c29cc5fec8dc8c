/// Trades signed by the exchange shard that executed them, settled by
/// Streamlet validator actors (virtual time) under trade_rules: a trade is
/// what its shard signed, a leader that inserts a trade no shard executed or
/// settles one again proposes an invalid block that no honest validator
/// votes for and that convicts it, and every honest trade is finalized
/// exactly once.

#include "actors/consensus_messages.hpp"
#include "actors/runtime.hpp"
#include "consensus/bft/streamlet_checker.hpp"
#include "consensus/bft/streamlet_trades.hpp"
#include "consensus/bft/streamlet_validator.hpp"

#include <caf/all.hpp>
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace marketsim;
using namespace marketsim::consensus::bft::streamlet;
namespace crypto = marketsim::consensus::crypto;

constexpr time_ns second = 1'000'000'000;

const auto shard0 = crypto::key_pair::derive(77, 0);
const auto shard1 = crypto::key_pair::derive(77, 1);
const std::vector<crypto::public_key> shard_keys{shard0.public_part(), shard1.public_part()};

/// What the honest validators finalized, and what they proved.
struct outcome {
  std::map<validator_id, std::vector<std::string>> txs; ///< finalized, in order
  std::map<validator_id, std::set<validator_id>> convicted; ///< invalid_proposal culprits
  std::map<validator_id, std::uint64_t> rejected;
  bool safe = false;
};

/// Four validators under trade_rules, validator 1 under `byzantine` (with
/// `opts`), twelve 1 s epochs; every validator's pool gets `txs` at the start.
outcome settle(behaviour_kind byzantine, behaviour_params opts,
               const std::vector<std::string>& txs) {
  actors::runtime rt;
  auto rec = std::make_shared<group_record>();
  const std::uint32_t n = 4;
  std::vector<crypto::key_pair> keys;
  std::vector<crypto::public_key> roster;
  for (std::uint32_t i = 0; i < n; ++i) {
    keys.push_back(crypto::key_pair::derive(42, i));
    roster.push_back(keys.back().public_part());
  }
  std::vector<streamlet_validator_params> ps;
  for (validator_id i = 0; i < n; ++i) {
    streamlet_validator_params p;
    p.protocol.n = n;
    p.protocol.epoch_duration = second;
    p.id = i;
    p.keys = keys[i];
    p.roster = roster;
    p.payload = trade_rules(shard_keys);
    if (i == 1) {
      p.behaviour = byzantine;
      p.behaviour_opts = opts;
    }
    p.origin_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      rt.start_time().time_since_epoch())
                      .count();
    p.observer = record_into(rec);
    ps.push_back(std::move(p));
  }
  auto handles = spawn_streamlet_group(rt.system(), std::move(ps));
  for (const auto& h : handles)
    caf::anon_send(h, actors::streamlet_submit{txs});
  rt.run_until(12 * second);

  outcome o;
  std::vector<std::pair<std::string, std::vector<hash256>>> chains;
  for (validator_id v : {0u, 2u, 3u}) {
    std::vector<hash256> hashes;
    for (const auto& f : rec->finalized[v]) {
      hashes.push_back(block_hash(*f.blk));
      for (const auto& tx : f.blk->txs)
        o.txs[v].push_back(tx);
    }
    chains.emplace_back(fmt::format("v{}", v), std::move(hashes));
    o.rejected[v] = rec->rejected[v];
  }
  for (const auto& r : rec->evidence)
    if (r.reporter != 1 && r.ev.kind == offence::invalid_proposal)
      o.convicted[r.reporter].insert(r.ev.culprit);
  o.safe = check_finalized_prefixes(chains).safe;
  rt.shutdown(handles);
  return o;
}

/// Six honest trades, three per shard.
std::vector<std::string> honest_trades() {
  std::vector<std::string> out;
  for (std::uint64_t seq = 1; seq <= 3; ++seq) {
    out.push_back(encode_signed_trade(shard0, 0, seq, fmt::format("trade 0/{}", seq)));
    out.push_back(encode_signed_trade(shard1, 1, seq, fmt::format("trade 1/{}", seq)));
  }
  return out;
}

/// Every honest validator finalized exactly the honest trades, each once,
/// each signed by its shard; the leader was convicted by all of them.
void check_honest_settlement(const outcome& o) {
  const auto expected = honest_trades();
  CHECK(o.safe);
  for (validator_id v : {0u, 2u, 3u}) {
    INFO("validator " << v);
    const auto& got = o.txs.at(v);
    CHECK(std::multiset<std::string>(got.begin(), got.end()) ==
          std::multiset<std::string>(expected.begin(), expected.end()));
    for (const auto& tx : got) {
      auto t = decode_signed_trade(tx);
      REQUIRE(t);
      CHECK(verify_signed_trade(*t, shard_keys));
    }
    CHECK(o.rejected.at(v) > 0);
    CHECK(o.convicted.count(v) == 1);
    if (o.convicted.count(v) == 1)
      CHECK(o.convicted.at(v) == std::set<validator_id>{1});
  }
}

} // namespace

TEST_CASE("a shard-signed trade verifies under its shard's key only, and not once altered",
          "[streamlet_trades]") {
  const auto tx = encode_signed_trade(shard1, 1, 42, "buy 10 ACME");
  auto t = decode_signed_trade(tx);
  REQUIRE(t);
  CHECK(t->shard == 1);
  CHECK(t->seq == 42);
  CHECK(t->command == "buy 10 ACME");
  CHECK(verify_signed_trade(*t, shard_keys));

  auto other_shard = *t;
  other_shard.shard = 0; // shard 0 never signed it
  CHECK_FALSE(verify_signed_trade(other_shard, shard_keys));
  auto altered = *t;
  altered.command = "buy 99 ACME";
  CHECK_FALSE(verify_signed_trade(altered, shard_keys));
  auto unknown = *t;
  unknown.shard = 2;
  CHECK_FALSE(verify_signed_trade(unknown, shard_keys));
  // Signed by a key that is not the shard's (a validator's, say).
  auto wrong_key = decode_signed_trade(
      encode_signed_trade(crypto::key_pair::derive(42, 1), 1, 42, "buy 10 ACME"));
  REQUIRE(wrong_key);
  CHECK_FALSE(verify_signed_trade(*wrong_key, shard_keys));
  auto forged = decode_signed_trade(encode_forged_trade(1, 42, "buy 10 ACME", 5));
  REQUIRE(forged);
  CHECK_FALSE(verify_signed_trade(*forged, shard_keys));

  CHECK_FALSE(decode_signed_trade(tx.substr(0, tx.size() - 1)));
  CHECK_FALSE(decode_signed_trade(tx + "x"));
  CHECK_FALSE(decode_signed_trade("buy 10 ACME"));
}

TEST_CASE("trade_rules on one block: shard-signed trades pass, each once; a forged copy of a "
          "trade verified before is still refused",
          "[streamlet_trades]") {
  auto key = crypto::key_pair::derive(42, 0);
  streamlet_core core(streamlet_params{1, second, leader_rule::round_robin}, 0, key,
                      {key.public_part()}, trade_rules(shard_keys));
  auto block_of = [](std::vector<std::string> txs) {
    block b;
    b.epoch = 1;
    b.height = 1;
    b.parent = genesis_hash();
    b.txs = std::move(txs);
    return b;
  };
  const auto t1 = encode_signed_trade(shard0, 0, 1, "a");
  const auto t2 = encode_signed_trade(shard1, 1, 1, "b"); // same seq, other shard: distinct
  CHECK_FALSE(core.validate(block_of({t1, t2})));
  CHECK(core.validate(block_of({t1, t1})) == reject_reason::invalid_payload);
  // Same shard and seq, another (validly signed) command: the same trade twice.
  CHECK(core.validate(block_of({t1, encode_signed_trade(shard0, 0, 1, "c")})) ==
        reject_reason::invalid_payload);
  // t1's signature is remembered as verified; its bytes with another
  // signature are not t1.
  CHECK(core.validate(block_of({encode_forged_trade(0, 1, "a", 3)})) ==
        reject_reason::invalid_payload);
  CHECK(core.validate(block_of({"not a trade"})) == reject_reason::invalid_payload);
  CHECK_FALSE(core.validate(block_of({})));
}

TEST_CASE("a leader inserting fake trades is refused and convicted by every honest "
          "validator; honest trades settle exactly once; unsigned ones never",
          "[streamlet_trades]") {
  behaviour_params fakes;
  fakes.fake_txs = [](const block& draft, const streamlet_core&) {
    // A trade shard 0 never executed, and one signed by the leader itself.
    return std::vector<std::string>{
        encode_forged_trade(0, 1000 + draft.epoch, "fake", draft.epoch),
        encode_signed_trade(crypto::key_pair::derive(42, 1), 1, 2000 + draft.epoch, "fake")};
  };
  auto txs = honest_trades();
  txs.push_back("not a trade"); // a client's unsigned transaction: stays in the pools
  auto o = settle(behaviour_kind::fake_txs, fakes, txs);
  check_honest_settlement(o);
}

TEST_CASE("a leader settling a trade of its chain again is refused and convicted by every "
          "honest validator; each trade settles exactly once",
          "[streamlet_trades]") {
  behaviour_params replay;
  replay.respend = [](const std::string& tx, const streamlet_core&) -> std::optional<std::string> {
    if (!decode_signed_trade(tx))
      return std::nullopt;
    return tx; // validly signed by its shard: only its repetition is wrong
  };
  // The first leader's block settles the trades; when validator 1 leads
  // again it has a chain to replay from.
  auto o = settle(behaviour_kind::double_spend, replay, honest_trades());
  check_honest_settlement(o);
}
