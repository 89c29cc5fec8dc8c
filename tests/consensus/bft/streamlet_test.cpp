#include "streamlet_cluster.hpp"

#include <catch2/catch.hpp>

using namespace marketsim::consensus::bft::streamlet;
using marketsim::test::cluster;
using marketsim::test::epoch_ns;
namespace crypto = marketsim::consensus::crypto;


TEST_CASE("quorum is ceil(2n/3)", "[streamlet]") {
  CHECK(quorum(3) == 2);
  CHECK(quorum(4) == 3);
  CHECK(quorum(6) == 4);
  CHECK(quorum(7) == 5);
  CHECK(quorum(16) == 11);
}

TEST_CASE("leaders: round robin is e mod n; the hash rule is fixed and reaches everyone",
          "[streamlet]") {
  streamlet_params p;
  p.n = 7;
  p.leader = leader_rule::round_robin;
  CHECK(leader_of(p, 9) == 2);
  p.leader = leader_rule::hash;
  std::set<validator_id> seen;
  for (epoch_t e = 1; e <= 200; ++e) {
    CHECK(leader_of(p, e) == leader_of(p, e));
    seen.insert(leader_of(p, e));
  }
  CHECK(seen.size() == 7);
  CHECK(epoch_at(p, 0) == 1);
  CHECK(epoch_at(p, p.epoch_duration - 1) == 1);
  CHECK(epoch_at(p, p.epoch_duration) == 2);
}

TEST_CASE("honest validators finalize the middle of three consecutive notarized epochs",
          "[streamlet]") {
  cluster c(4);
  c.run_epoch(1);
  for (auto& n : c.nodes) {
    CHECK(n.longest_notarized_height() == 1);
    CHECK(n.finalized().empty());
  }
  c.run_epoch(2); // genesis(0), b1(1), b2(2): b1 is final
  c.run_epoch(3); // b1, b2, b3: b2 is final
  for (validator_id i = 0; i < 4; ++i) {
    REQUIRE(c.nodes[i].finalized().size() == 2);
    CHECK(c.nodes[i].finalized() == c.nodes[0].finalized());
    REQUIRE(c.finalized[i].size() == 2);
    CHECK(c.finalized[i][0]->epoch == 1);
    CHECK(c.finalized[i][1]->epoch == 2);
  }
  CHECK(c.misbehaviour.empty());
  CHECK(c.rejected.empty());
}

TEST_CASE("a missed epoch delays finality until three consecutive, then the whole prefix",
          "[streamlet]") {
  cluster c(4);
  c.run_epoch(1);
  // Epoch 2's leader (2) is down: no block in epoch 2.
  c.run_epoch(2, {true, true, false, true});
  c.run_epoch(3); // b1(1) <- b3(3): not consecutive
  c.run_epoch(
      4); // b1, b3, b4: epochs 1, 3, 4 -> nothing yet (genesis,b1 final? no: 0,1,3)
  CHECK(c.nodes[0].finalized().empty());
  c.run_epoch(5); // b3, b4, b5: epochs 3, 4, 5 -> b4 and its prefix b1, b3
  REQUIRE(c.finalized[0].size() == 3);
  CHECK(c.finalized[0][0]->epoch == 1);
  CHECK(c.finalized[0][1]->epoch == 3);
  CHECK(c.finalized[0][2]->epoch == 4);
}

TEST_CASE("two of four votes do not notarize; the third does", "[streamlet]") {
  cluster c(4);
  // Only validators 0 and 1 are up in epoch 1 (leader 1 proposes, 0 and 1 vote).
  c.run_epoch(1, {true, true, false, false});
  CHECK(c.nodes[0].longest_notarized_height() == 0);
  CHECK(c.nodes[1].longest_notarized_height() == 0);
  // Validator 3 wakes up in epoch 1, gets the proposal and both votes, and
  // votes itself: three votes, notarized at 3.
  c.nodes[3].tick(epoch_start(c.p, 1));
  auto sent = c.log;
  REQUIRE(sent.size() == 3); // one proposal, two votes
  for (const auto& e : sent)
    c.deliver(3, e.msg, e.from);
  CHECK(c.nodes[3].longest_notarized_height() == 1);
  CHECK(c.nodes[3].stats().votes_sent == 1);
}

TEST_CASE("batched transactions are finalized once and leave the pool", "[streamlet]") {
  cluster c(4);
  for (auto& n : c.nodes)
    for (int i = 0; i < 5; ++i)
      n.submit("tx" + std::to_string(i));
  c.nodes[0].submit("tx0"); // a duplicate is ignored
  CHECK(c.nodes[0].pool_size() == 5);
  for (epoch_t e = 1; e <= 4; ++e)
    c.run_epoch(e);
  std::vector<std::string> txs;
  for (const auto& b : c.finalized[2])
    txs.insert(txs.end(), b->txs.begin(), b->txs.end());
  CHECK(txs == std::vector<std::string>{"tx0", "tx1", "tx2", "tx3", "tx4"});
  for (auto& n : c.nodes)
    CHECK(n.pool_size() == 0);
}

TEST_CASE("a vote or proposal whose signature does not verify is rejected, never counted",
          "[streamlet]") {
  cluster c(4);
  c.run_epoch(1);
  auto tip = c.nodes[0].longest_notarized_tip();
  // Epoch 2, leader 2: a proposal with one flipped signature bit.
  auto b = c.nodes[2].next_block(2);
  auto p = make_proposal(c.keys[2], b);
  p.sig.bytes[5] ^= 0x01;
  c.nodes[0].tick(epoch_start(c.p, 2));
  c.deliver(0, p, 3);
  CHECK(c.nodes[0].find(p.hash) == nullptr);
  REQUIRE(c.rejected.size() == 1);
  CHECK(c.rejected[0].reason == reject_reason::bad_signature);
  // Votes in three names, one signature forged: not notarized (2 valid < 3).
  auto good = make_proposal(c.keys[2], b);
  c.deliver(0, good, 2);
  auto forged = make_vote(c.keys[3], 2, good.hash, 3);
  forged.sig.bytes[0] ^= 0x80;
  c.deliver(0, make_vote(c.keys[1], 2, good.hash, 1));
  c.deliver(0, forged);
  CHECK(c.nodes[0].longest_notarized_tip() == tip);
  c.deliver(0, make_vote(c.keys[3], 2, good.hash, 3));
  CHECK(c.nodes[0].longest_notarized_tip() == good.hash);
  CHECK(c.rejected.size() == 2);
}

TEST_CASE("two proposals for one epoch give double_proposal evidence anyone can check",
          "[streamlet]") {
  cluster c(4);
  c.nodes[0].tick(epoch_start(c.p, 1));
  auto a = c.nodes[1].next_block(1);
  auto b = a;
  b.txs.push_back("other");
  auto pa = make_proposal(c.keys[1], a);
  auto pb = make_proposal(c.keys[1], b);
  c.deliver(0, pa, 1);
  c.deliver(0, pb, 1);
  REQUIRE(c.misbehaviour.size() == 1);
  const auto& ev = c.misbehaviour[0];
  CHECK(ev.kind == offence::double_proposal);
  CHECK(ev.culprit == 1);
  CHECK(ev.epoch == 1);
  CHECK(verify_evidence(ev, c.p, c.roster));
  // Evidence with a tampered signature proves nothing.
  auto bad = ev;
  std::get<proposal>(*bad.second).sig.bytes[1] ^= 1;
  CHECK_FALSE(verify_evidence(bad, c.p, c.roster));
  // Validator 0 voted once, for the first proposal only.
  CHECK(c.nodes[0].stats().votes_sent == 1);
}

TEST_CASE("two votes by one validator in one epoch give double_vote evidence",
          "[streamlet]") {
  cluster c(4);
  c.nodes[0].tick(epoch_start(c.p, 1));
  auto h1 = crypto::blake2b_256("x");
  auto h2 = crypto::blake2b_256("y");
  c.deliver(0, make_vote(c.keys[3], 1, h1, 3));
  c.deliver(0, make_vote(c.keys[3], 1, h1, 3)); // a replay: not an offence
  CHECK(c.misbehaviour.empty());
  c.deliver(0, make_vote(c.keys[3], 1, h2, 3));
  REQUIRE(c.misbehaviour.size() == 1);
  CHECK(c.misbehaviour[0].kind == offence::double_vote);
  CHECK(verify_evidence(c.misbehaviour[0], c.p, c.roster));
  // The same evidence against another validator does not verify.
  auto wrong = c.misbehaviour[0];
  wrong.culprit = 2;
  CHECK_FALSE(verify_evidence(wrong, c.p, c.roster));
}

TEST_CASE("a proposal signed by a non-leader is refused with evidence", "[streamlet]") {
  cluster c(4);
  c.nodes[0].tick(epoch_start(c.p, 1));
  auto b = c.nodes[3].next_block(1); // epoch 1's leader is 1, not 3
  auto p = make_proposal(c.keys[3], b);
  c.deliver(0, p, 3);
  CHECK(c.nodes[0].find(p.hash) == nullptr);
  REQUIRE(c.misbehaviour.size() == 1);
  CHECK(c.misbehaviour[0].kind == offence::proposal_not_leader);
  CHECK(verify_evidence(c.misbehaviour[0], c.p, c.roster));
}

TEST_CASE("no vote for a proposal that does not extend a longest notarized chain",
          "[streamlet]") {
  cluster c(4);
  c.run_epoch(1);
  c.run_epoch(2);
  REQUIRE(c.nodes[0].longest_notarized_height() == 2);
  // Epoch 3's leader (3) proposes on genesis instead.
  c.nodes[0].tick(epoch_start(c.p, 3));
  block stale;
  stale.epoch = 3;
  stale.height = 1;
  stale.parent = genesis_hash();
  stale.proposer = 3;
  auto votes_before = c.nodes[0].stats().votes_sent;
  c.deliver(0, make_proposal(c.keys[3], stale), 3);
  CHECK(c.nodes[0].stats().votes_sent == votes_before);
  CHECK(c.nodes[0].find(block_hash(stale)) != nullptr); // valid, just not voted for
}

TEST_CASE("a block arriving after its child is accepted with it (orphans)",
          "[streamlet]") {
  cluster c(4);
  for (auto& n : c.nodes)
    n.tick(epoch_start(c.p, 1));
  auto b1 = make_proposal(c.keys[1], c.nodes[1].next_block(1));
  block b2;
  b2.epoch = 2;
  b2.height = 2;
  b2.parent = b1.hash;
  b2.proposer = 2;
  auto p2 = make_proposal(c.keys[2], b2);
  c.deliver(0, p2, 2);
  CHECK(c.nodes[0].find(p2.hash) == nullptr);
  c.deliver(0, b1, 1);
  CHECK(c.nodes[0].find(b1.hash) != nullptr);
  CHECK(c.nodes[0].find(p2.hash) != nullptr);
}

TEST_CASE("messages round-trip through their wire bytes; malformed bytes are refused",
          "[streamlet][wire]") {
  auto keys = crypto::key_pair::derive(5, 1);
  block b;
  b.epoch = 9;
  b.height = 4;
  b.parent = crypto::blake2b_256("parent");
  b.proposer = 1;
  b.txs = {"a", "", std::string(300, 'z')};
  auto p = make_proposal(keys, b);
  auto bytes = encode_message(p);
  auto back = decode_message(bytes);
  REQUIRE(back);
  const auto& q = std::get<proposal>(*back);
  CHECK(*q.blk == b);
  CHECK(q.hash == p.hash);
  CHECK(q.sig == p.sig);
  CHECK(signature_ok(q, keys.public_part()));

  auto v = make_vote(keys, 9, p.hash, 1);
  auto vb = decode_message(encode_message(v));
  REQUIRE(vb);
  CHECK(std::get<vote>(*vb) == v);

  CHECK_FALSE(decode_message(bytes.substr(0, bytes.size() - 1)));
  CHECK_FALSE(decode_message(bytes + "x"));
  CHECK_FALSE(decode_message(""));
  auto lying = bytes;
  // The tx count sits after tag(4+27), kind(1), epoch(8), height(8), parent(32),
  // proposer(4).
  auto count_at =
      4 + std::string_view("marketsim/streamlet/wire/v1").size() + 1 + 8 + 8 + 32 + 4;
  lying[count_at + 3] = '\x7f';
  CHECK_FALSE(decode_message(lying));
}

TEST_CASE("a leader whose pool holds junk builds its block with one check per transaction, "
          "not one per prefix",
          "[streamlet]") {
  streamlet_params p;
  p.n = 4;
  p.max_block_txs = 1000;
  std::vector<crypto::key_pair> keys;
  std::vector<crypto::public_key> roster;
  for (validator_id i = 0; i < p.n; ++i) {
    keys.push_back(crypto::key_pair::derive(7, i));
    roster.push_back(keys.back().public_part());
  }
  // The rule: no transaction starting with "bad"; counts what it examines.
  std::size_t examined = 0;
  payload_check rule = [&examined](const block& b, const streamlet_core&) {
    examined += b.txs.size();
    return std::none_of(b.txs.begin(), b.txs.end(),
                        [](const std::string& tx) { return tx.rfind("bad", 0) == 0; });
  };
  streamlet_core core(p, 1, keys[1], roster, rule);
  for (int k = 0; k < 300; ++k)
    core.submit((k % 3 == 0 ? "bad-" : "good-") + std::to_string(k));
  auto b = core.next_block(1);
  CHECK(b.txs.size() == 200);
  for (const auto& tx : b.txs)
    CHECK(tx.rfind("good-", 0) == 0);
  // The whole pool once, each transaction alone, the good ones together:
  // 300 + 300 + 200. Adding one at a time would examine about 300^2 / 2.
  CHECK(examined == 800);
}

TEST_CASE("a validator that restarts without its state abstains in its restart epoch, then "
          "takes part again",
          "[streamlet]") {
  cluster c(4);
  // Validator 1 leads epoch 1 and has (we suppose) just restarted in it: it
  // may have proposed and voted before the crash, so it must do neither now.
  c.nodes[1].abstain_through(1);
  c.run_epoch(1);
  CHECK(c.nodes[1].stats().proposals_sent == 0);
  CHECK(c.nodes[1].stats().votes_sent == 0);
  for (auto& n : c.nodes)
    CHECK(n.longest_notarized_height() == 0); // no leader's block in epoch 1
  c.run_epoch(2);
  CHECK(c.nodes[1].stats().votes_sent == 1);
  for (auto& n : c.nodes)
    CHECK(n.longest_notarized_height() == 1);
  CHECK(c.misbehaviour.empty());
}
