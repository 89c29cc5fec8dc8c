/// Trades signed in batches by the exchange shard that executed them, and
/// settled by Streamlet validator actors (virtual time) under trade_rules:
/// a batch is what its shard signed, over a range of its trade numbers; a
/// leader that inserts trades no shard executed or settles some again
/// (a batch replayed, or one that overlaps a settled range) proposes an
/// invalid block that no honest validator votes for and that convicts it,
/// and every honest trade is finalized exactly once.

#include "actors/consensus_messages.hpp"
#include "actors/runtime.hpp"
#include "consensus/bft/streamlet_checker.hpp"
#include "consensus/bft/streamlet_trades.hpp"
#include "consensus/bft/streamlet_validator.hpp"
#include "consensus/crypto/canonical.hpp"

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
const std::vector<crypto::public_key> shard_keys{shard0.public_part(),
                                                 shard1.public_part()};

/// What the honest validators finalized, and what they proved.
struct outcome {
  std::map<validator_id, std::vector<std::string>> txs;     ///< finalized, in order
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

/// Six honest trades in three batches: shard 0's trades 1-2 and 3, shard
/// 1's trades 1-3.
std::vector<std::string> commands(std::uint32_t shard, std::uint64_t first,
                                  std::uint64_t count) {
  std::vector<std::string> out;
  for (auto seq = first; seq < first + count; ++seq)
    out.push_back(fmt::format("trade {}/{}", shard, seq));
  return out;
}

std::vector<std::string> honest_trades() {
  return {encode_trade_batch(shard0, 0, 1, commands(0, 1, 2)),
          encode_trade_batch(shard0, 0, 3, commands(0, 3, 1)),
          encode_trade_batch(shard1, 1, 1, commands(1, 1, 3))};
}

/// Every honest validator finalized exactly the honest batches, each once,
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
      auto b = decode_trade_batch(tx);
      REQUIRE(b);
      CHECK(verify_trade_batch(*b.value, shard_keys));
    }
    CHECK(o.rejected.at(v) > 0);
    CHECK(o.convicted.count(v) == 1);
    if (o.convicted.count(v) == 1)
      CHECK(o.convicted.at(v) == std::set<validator_id>{1});
  }
}

block block_of(std::vector<std::string> txs, const block* parent = nullptr) {
  block b;
  b.epoch = parent ? parent->epoch + 1 : 1;
  b.height = parent ? parent->height + 1 : 1;
  b.parent = parent ? block_hash(*parent) : genesis_hash();
  b.txs = std::move(txs);
  return b;
}

/// One validator under trade_rules (alone, it notarizes its own blocks).
streamlet_core lone_core() {
  auto key = crypto::key_pair::derive(42, 0);
  return streamlet_core(streamlet_params{1, second, leader_rule::round_robin}, 0, key,
                        {key.public_part()}, trade_rules(shard_keys));
}

} // namespace

TEST_CASE("a trade batch round-trips, and verifies under its shard's key only, and not "
          "once altered",
          "[streamlet_trades]") {
  const auto cmds = commands(1, 42, 3);
  const auto tx = encode_trade_batch(shard1, 1, 42, cmds);
  auto b = decode_trade_batch(tx);
  REQUIRE(b);
  CHECK(b.reason.empty());
  CHECK(b.value->shard == 1);
  CHECK(b.value->first_seq == 42);
  CHECK(b.value->commands == cmds);
  CHECK(verify_trade_batch(*b.value, shard_keys));

  auto other_shard = *b.value;
  other_shard.shard = 0; // shard 0 never signed it
  CHECK_FALSE(verify_trade_batch(other_shard, shard_keys));
  auto altered = *b.value;
  altered.commands[1] = "buy 99 ACME";
  CHECK_FALSE(verify_trade_batch(altered, shard_keys));
  auto shifted = *b.value; // the same trades under other numbers
  shifted.first_seq = 43;
  CHECK_FALSE(verify_trade_batch(shifted, shard_keys));
  auto dropped = *b.value; // a trade left out
  dropped.commands.pop_back();
  CHECK_FALSE(verify_trade_batch(dropped, shard_keys));
  auto unknown = *b.value;
  unknown.shard = 2;
  CHECK_FALSE(verify_trade_batch(unknown, shard_keys));
  // Signed by a key that is not the shard's (a validator's, say).
  auto wrong_key = decode_trade_batch(
      encode_trade_batch(crypto::key_pair::derive(42, 1), 1, 42, cmds));
  REQUIRE(wrong_key);
  CHECK_FALSE(verify_trade_batch(*wrong_key.value, shard_keys));
  auto forged = decode_trade_batch(encode_forged_trade_batch(1, 42, cmds, 5));
  REQUIRE(forged);
  CHECK_FALSE(verify_trade_batch(*forged.value, shard_keys));
  // A single trade is a batch of one.
  auto one = decode_trade_batch(encode_trade_batch(shard0, 0, 7, {"x"}));
  REQUIRE(one);
  CHECK(one.value->commands == std::vector<std::string>{"x"});
}

TEST_CASE("malformed trade batches are refused with a reason: every truncation, trailing "
          "bytes, another tag, no trades, too many, numbers past 2^64",
          "[streamlet_trades]") {
  const auto tx = encode_trade_batch(shard0, 0, 1, commands(0, 1, 3));
  for (std::size_t len = 0; len < tx.size(); ++len) {
    INFO("truncated to " << len << " bytes");
    auto b = decode_trade_batch(tx.substr(0, len));
    CHECK_FALSE(b);
    CHECK_FALSE(b.reason.empty());
  }
  CHECK(decode_trade_batch(tx.substr(0, tx.size() - 1)).reason ==
        "a truncated trade batch");
  CHECK(decode_trade_batch(tx + "x").reason == "bytes after a trade batch's signature");
  CHECK(decode_trade_batch("buy 10 ACME").reason.starts_with("not a trade batch"));
  auto coin_like =
      crypto::canonical_writer("marketsim/streamlet/coin/v1").u64(1).u64(2).take();
  CHECK(decode_trade_batch(coin_like).reason.starts_with("not a trade batch"));
  CHECK(decode_trade_batch(encode_trade_batch(shard0, 0, 1, {})).reason ==
        "a trade batch with no trades");
  // A count beyond the limit is refused before anything is read for it.
  auto huge = crypto::canonical_writer("marketsim/settlement/trade-batch/v1")
                  .u32(0)
                  .u64(1)
                  .u32(max_batch_trades + 1)
                  .take();
  CHECK(decode_trade_batch(huge).reason ==
        "a trade batch of 65537 trades (at most 65536)");
  const auto top = std::numeric_limits<std::uint64_t>::max();
  CHECK(decode_trade_batch(encode_trade_batch(shard0, 0, top, {"a", "b"})).reason ==
        "a trade batch whose sequence numbers pass 2^64");
  CHECK(
      decode_trade_batch(encode_trade_batch(shard0, 0, top, {"a"}))); // ends at 2^64 - 1
}

TEST_CASE("trade_rules on one block: shard-signed batches pass, each trade once; forged, "
          "unknown-shard, truncated and overlapping batches are refused",
          "[streamlet_trades]") {
  auto core = lone_core();
  const auto a = encode_trade_batch(shard0, 0, 1, commands(0, 1, 3)); // shard 0: 1-3
  const auto b =
      encode_trade_batch(shard1, 1, 1, commands(1, 1, 3)); // same numbers, shard 1
  const auto next = encode_trade_batch(shard0, 0, 4, commands(0, 4, 2)); // 4-5: adjacent
  CHECK_FALSE(core.validate(block_of({a, b, next})));
  CHECK_FALSE(core.validate(block_of({})));
  // The same batch twice in a block.
  CHECK(core.validate(block_of({a, a})) == reject_reason::invalid_payload);
  // Validly signed batches whose ranges share one trade (3), either order.
  const auto overlap = encode_trade_batch(shard0, 0, 3, commands(0, 3, 2));
  CHECK(core.validate(block_of({a, overlap})) == reject_reason::invalid_payload);
  CHECK(core.validate(block_of({overlap, a})) == reject_reason::invalid_payload);
  // One inside the other.
  const auto inner = encode_trade_batch(shard0, 0, 2, commands(0, 2, 1));
  CHECK(core.validate(block_of({a, inner})) == reject_reason::invalid_payload);
  // a's signature is remembered as verified; its bytes with another
  // signature are not a.
  CHECK(
      core.validate(block_of({encode_forged_trade_batch(0, 1, commands(0, 1, 3), 3)})) ==
      reject_reason::invalid_payload);
  // A shard the validators do not know, even signing with its own key.
  const auto shard2 = crypto::key_pair::derive(77, 2);
  CHECK(core.validate(block_of({encode_trade_batch(shard2, 2, 1, commands(2, 1, 1))})) ==
        reject_reason::invalid_payload);
  CHECK(core.validate(block_of({a.substr(0, a.size() - 10)})) ==
        reject_reason::invalid_payload);
  CHECK(core.validate(block_of({"not a trade"})) == reject_reason::invalid_payload);
  CHECK_FALSE(core.validate(block_of({a}))); // a itself stays good
}

TEST_CASE(
    "trade_rules along a chain: a batch whose range overlaps a batch of the chain is "
    "refused, one after it passes, and another fork is not affected",
    "[streamlet_trades]") {
  auto core = lone_core();
  const auto a = encode_trade_batch(shard0, 0, 1, commands(0, 1, 3)); // shard 0: 1-3
  core.submit(a);
  core.tick(0); // epoch 1: it proposes a, and notarizes it alone
  const block* first = core.find(core.longest_notarized_tip());
  REQUIRE(first);
  REQUIRE(first->height == 1);
  REQUIRE(first->txs == std::vector<std::string>{a});

  CHECK(core.validate(block_of({a}, first)) == reject_reason::invalid_payload);
  for (std::uint64_t from = 1; from <= 3; ++from) {
    INFO("a batch from trade " << from);
    CHECK(core.validate(block_of(
              {encode_trade_batch(shard0, 0, from, commands(0, from, 2))}, first)) ==
          reject_reason::invalid_payload);
  }
  // Trades 4-5 of shard 0, and shard 1's 1-3, are new on this chain.
  CHECK_FALSE(
      core.validate(block_of({encode_trade_batch(shard0, 0, 4, commands(0, 4, 2)),
                              encode_trade_batch(shard1, 1, 1, commands(1, 1, 3))},
                             first)));
  // A sibling of `first` (another fork from genesis) may settle them.
  auto sibling = block_of({encode_trade_batch(shard0, 0, 2, commands(0, 2, 2))});
  sibling.epoch = 2;
  CHECK_FALSE(core.validate(sibling));
}

TEST_CASE("a leader inserting fake trades is refused and convicted by every honest "
          "validator; honest trades settle exactly once; unsigned ones never",
          "[streamlet_trades]") {
  behaviour_params fakes;
  fakes.fake_txs = [](const block& draft, const streamlet_core&) {
    // A batch shard 0 never signed, and one signed by the leader itself.
    return std::vector<std::string>{
        encode_forged_trade_batch(0, 1000 + draft.epoch, {"fake"}, draft.epoch),
        encode_trade_batch(crypto::key_pair::derive(42, 1), 1, 2000 + draft.epoch,
                           {"fake", "fake"})};
  };
  auto txs = honest_trades();
  txs.push_back("not a trade"); // a client's unsigned transaction: stays in the pools
  auto o = settle(behaviour_kind::fake_txs, fakes, txs);
  check_honest_settlement(o);
}

TEST_CASE(
    "a leader settling a batch of its chain again is refused and convicted by every "
    "honest validator; each trade settles exactly once",
    "[streamlet_trades]") {
  behaviour_params replay;
  replay.respend = [](const std::string& tx,
                      const streamlet_core&) -> std::optional<std::string> {
    if (!decode_trade_batch(tx))
      return std::nullopt;
    return tx; // validly signed by its shard: only its repetition is wrong
  };
  // The first leader's block settles the trades; when validator 1 leads
  // again it has a chain to replay from.
  auto o = settle(behaviour_kind::double_spend, replay, honest_trades());
  check_honest_settlement(o);
}

TEST_CASE(
    "a leader colluding with a shard, settling again one trade of a batch of its chain "
    "in a newly signed overlapping batch, is refused and convicted by every honest "
    "validator",
    "[streamlet_trades]") {
  behaviour_params overlap;
  overlap.respend = [](const std::string& tx,
                       const streamlet_core&) -> std::optional<std::string> {
    auto b = decode_trade_batch(tx);
    if (!b)
      return std::nullopt;
    // The batch's last trade and the next number, signed by the shard.
    const auto last = b.value->first_seq + b.value->commands.size() - 1;
    const auto& key = b.value->shard == 0 ? shard0 : shard1;
    return encode_trade_batch(key, b.value->shard, last, {"again", "new"});
  };
  auto o = settle(behaviour_kind::double_spend, overlap, honest_trades());
  check_honest_settlement(o);
}

namespace {

/// The rule of trade_rules over a decoder that counts its calls: every
/// transaction the rule reads, in a block or along its chain, is one call.
payload_check counted_trade_rules(std::shared_ptr<std::uint64_t> decodes) {
  return signed_once_rule([decodes](std::string_view tx) -> std::optional<signed_tx> {
    ++*decodes;
    return trade_batch_claim(tx, shard_keys);
  });
}

/// Shard 0's trades [4 (k - 1) + 1, 4 k): block k's batch in a long chain.
std::string batch_of_block(std::uint64_t k) {
  return encode_trade_batch(shard0, 0, 4 * (k - 1) + 1, commands(0, 4 * (k - 1) + 1, 4));
}

} // namespace

TEST_CASE("trade_rules checks a block of a 2,000-block chain reading its own batches and "
          "at most its parent's, whatever its height; a dead fork reads at most 64 more "
          "blocks, once",
          "[streamlet_trades]") {
  auto decodes = std::make_shared<std::uint64_t>(0);
  auto key = crypto::key_pair::derive(42, 0);
  streamlet_core core(streamlet_params{1, second, leader_rule::round_robin}, 0, key,
                      {key.public_part()}, counted_trade_rules(decodes));
  constexpr std::uint64_t height = 2000;
  for (std::uint64_t k = 1; k <= height; ++k) {
    core.submit(batch_of_block(k));
    core.tick(static_cast<time_ns>(k - 1) * second); // epoch k: proposes, notarizes
  }
  REQUIRE(core.longest_notarized_height() == height);
  // Each block was checked twice (as the leader's draft, then as a
  // proposal): its own batch each time, and its parent's batch once.
  CHECK(*decodes <= 3 * height);

  const block* tip = core.find(core.longest_notarized_tip());
  REQUIRE(tip->height == height);
  std::vector<const block*> chain(height + 1); // chain[k]: the block at height k
  for (const block* b = tip; b && b->height > 0; b = core.find(b->parent))
    chain[b->height] = b;

  auto reads = [&](const block& b, bool valid) {
    const auto before = *decodes;
    CHECK(core.validate(b).has_value() != valid);
    return *decodes - before;
  };
  const auto fresh =
      encode_trade_batch(shard0, 0, 4 * height + 1, commands(0, 4 * height + 1, 2));
  const auto repeat_first = encode_trade_batch(shard0, 0, 3, commands(0, 3, 1));
  // A child of the tip: its batch and, the first time, the tip's (no child
  // of the tip was checked yet); then only its batch. As at height 1999.
  CHECK(reads(block_of({fresh}, tip), true) == 2);
  CHECK(reads(block_of({fresh}, tip), true) == 1);
  CHECK(reads(block_of({fresh}, chain[height - 1]), true) == 1);
  // Trade 3, settled by block 1, is still refused 2,000 blocks later.
  CHECK(reads(block_of({repeat_first}, tip), false) == 1);
  // A fork from block 1000 (an index dropped as final, rebuilt from the
  // nearest kept one, 960): block 1500's trades are new there; block 999's
  // are not.
  auto fork = block_of({batch_of_block(1500)}, chain[1000]);
  fork.epoch = height + 1;
  const auto first_read = reads(fork, true);
  CHECK(first_read >= 1);
  CHECK(first_read <= 1 + 64);
  CHECK(reads(fork, true) == 1); // and once only
  auto fork_repeat = block_of({batch_of_block(999)}, chain[1000]);
  fork_repeat.epoch = height + 1;
  CHECK(reads(fork_repeat, false) == 1);
  // Near genesis alike: at most 64 blocks of the chain, once.
  CHECK(reads(block_of({fresh}, chain[10]), true) <= 1 + 10);
  CHECK(reads(block_of({fresh}, chain[10]), true) == 1);
}
