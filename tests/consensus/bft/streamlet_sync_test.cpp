/// Streamlet block sync (streamlet.hpp, "Block sync"): a validator that lost
/// messages catches up from its peers' signed blocks and notarization
/// certificates; a Byzantine responder or requester gets nothing past the
/// checks. The safety checker runs after every step of every case.

#include "streamlet_cluster.hpp"

#include "consensus/bft/streamlet_sim.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>

using namespace marketsim::consensus::bft::streamlet;
using marketsim::test::cluster;
using marketsim::test::epoch_ns;
namespace crypto = marketsim::consensus::crypto;

namespace {

/// Steps `c` and checks safety after each step.
void step_epoch(cluster& c, epoch_t e, std::vector<bool> up = {},
                const cluster::drop_rule& drop = {}) {
  c.run_epoch(e, std::move(up), drop);
  auto s = c.safety();
  INFO(s.violation);
  REQUIRE(s.safe);
}

/// The tick three quarters into epoch `e` (past the half-epoch grace of a
/// need found at its start).
void step_late_in_epoch(cluster& c, epoch_t e) {
  c.tick_all(epoch_start(c.p, e) + epoch_ns * 3 / 4);
  auto s = c.safety();
  INFO(s.violation);
  REQUIRE(s.safe);
}

/// The proposal of epoch `e` and the votes for it, from everything sent.
certified_block sent_for(const cluster& c, epoch_t e) {
  certified_block cb;
  for (const auto& env : c.log)
    if (auto* p = std::get_if<proposal>(&env.msg); p && p->blk->epoch == e)
      cb.prop = *p;
  for (const auto& env : c.log)
    if (auto* v = std::get_if<vote>(&env.msg); v && v->block == cb.prop.hash &&
                                               std::none_of(cb.votes.begin(), cb.votes.end(),
                                                            [&](const vote& w) {
                                                              return w.voter == v->voter;
                                                            }))
      cb.votes.push_back(*v);
  return cb;
}

std::size_t rejected(const cluster& c, reject_reason why, validator_id from) {
  return static_cast<std::size_t>(
      std::count_if(c.rejected.begin(), c.rejected.end(), [&](const rejection& r) {
        return r.reason == why && r.from == from;
      }));
}

/// Epoch 1 for all; in epoch 2 validator 0 gets b2's proposal but loses
/// every vote; epoch 3's leader (3) proposes on b2.
void lose_votes_of_b2(cluster& c) {
  step_epoch(c, 1);
  step_epoch(c, 2, {}, [](const envelope& e, validator_id to) {
    return to == 0 && std::holds_alternative<vote>(e.msg);
  });
  step_epoch(c, 3);
}

} // namespace

TEST_CASE("a validator that lost the votes of one block gets its certificate and votes again",
          "[streamlet][sync]") {
  cluster c(4);
  lose_votes_of_b2(c);
  auto b2 = sent_for(c, 2).prop.hash;
  auto& v0 = c.nodes[0];
  REQUIRE(v0.find(b2) != nullptr);
  CHECK_FALSE(v0.chain_notarized(b2));
  CHECK(v0.longest_notarized_height() == 1);
  CHECK(v0.sync_needs() == std::vector<hash256>{b2});
  auto votes_before = v0.stats().votes_sent;
  // Past half an epoch the loss is no longer a message in flight: it asks.
  step_late_in_epoch(c, 3);
  CHECK(v0.stats().sync_requests_sent == 1);
  CHECK(v0.stats().sync_blocks_received >= 1);
  CHECK(v0.chain_notarized(b2));
  CHECK(v0.longest_notarized_height() == 3);
  // b3 is notarized already (1, 2, 3 voted): it extends b3 from now on,
  // and does not vote for b3 itself (not on a longest notarized chain's tip).
  CHECK(v0.stats().votes_sent == votes_before);
  CHECK(v0.sync_needs().empty());
  // It leads epoch 4 on the common chain: b3 is final everywhere.
  step_epoch(c, 4);
  for (validator_id i = 0; i < 4; ++i) {
    INFO("validator " << i);
    CHECK(c.nodes[i].finalized().size() == 3);
    CHECK(c.nodes[i].finalized() == c.nodes[1].finalized());
  }
  CHECK(c.misbehaviour.empty());
  CHECK(c.rejected.empty());
}

TEST_CASE("without sync, the validator that lost the votes stays behind",
          "[streamlet][sync]") {
  cluster c(4, false, false);
  lose_votes_of_b2(c);
  step_late_in_epoch(c, 3);
  auto votes_before = c.nodes[0].stats().votes_sent;
  step_epoch(c, 4); // it leads on b1, a shorter chain: only it votes for that
  step_epoch(c, 5);
  CHECK(c.nodes[0].stats().votes_sent == votes_before + 1);
  CHECK(c.nodes[0].longest_notarized_height() == 1);
  CHECK(c.nodes[0].finalized().empty());
  CHECK(c.nodes[1].finalized().size() >= 2);
  CHECK(c.nodes[0].stats().sync_requests_sent == 0);
}

// -- a Byzantine responder -------------------------------------------------------

namespace {

/// Validator 0 is down in epoch 2 and misses b2; in epoch 3 it gets b3 from
/// its proposer (3) and, after half an epoch, asks 3 for b2. The request is
/// held back: the test answers as validator 3.
struct asked_byzantine {
  cluster c{4};
  sync_request request;
  certified_block b2;

  asked_byzantine() {
    step_epoch(c, 1);
    step_epoch(c, 2, {false, true, true, true});
    step_epoch(c, 3);
    b2 = sent_for(c, 2);
    REQUIRE(c.nodes[0].find(b2.prop.hash) == nullptr);
    auto r = c.nodes[0].tick(epoch_start(c.p, 3) + epoch_ns * 3 / 4);
    REQUIRE(r.sends.size() == 1);
    REQUIRE(r.sends[0].to == 3);
    request = std::get<sync_request>(r.sends[0].msg);
    CHECK(request.wanted == std::vector<hash256>{b2.prop.hash});
  }

  sync_response answer(std::vector<certified_block> blocks, validator_id signer = 3) {
    sync_response s;
    s.responder = 3;
    s.request = sync_request_digest(request);
    s.blocks = std::move(blocks);
    sign(c.keys[signer], s);
    return s;
  }

  void deliver(const sync_response& s) {
    c.deliver(0, s, 3);
    auto report = c.safety();
    INFO(report.violation);
    REQUIRE(report.safe);
  }

  bool caught_up() const { return c.nodes[0].chain_notarized(b2.prop.hash); }
};

} // namespace

TEST_CASE("an honest sync response is accepted", "[streamlet][sync]") {
  asked_byzantine a;
  a.deliver(a.answer({a.b2}));
  CHECK(a.caught_up());
  CHECK(a.c.nodes[0].stats().sync_blocks_received == 1);
  CHECK(a.c.rejected.empty());
  // The same response again: no request is pending for it any more.
  a.deliver(a.answer({a.b2}));
  CHECK(rejected(a.c, reject_reason::unsolicited, 3) == 1);
}

TEST_CASE("a Byzantine responder's flawed response is refused as a whole and reported",
          "[streamlet][sync]") {
  asked_byzantine a;
  auto b2 = a.b2;
  REQUIRE(b2.votes.size() == 3);
  reject_reason expected = reject_reason::bad_signature;

  SECTION("a forged proposal signature") {
    b2.prop.sig.bytes[7] ^= 0x10;
    a.deliver(a.answer({b2}));
  }
  SECTION("a forged vote signature in the certificate") {
    b2.votes[1].sig.bytes[0] ^= 0x01;
    a.deliver(a.answer({b2}));
  }
  SECTION("a certificate short of a quorum") {
    b2.votes.pop_back();
    expected = reject_reason::bad_certificate;
    a.deliver(a.answer({b2}));
  }
  SECTION("a quorum padded with one voter twice") {
    b2.votes.back() = b2.votes.front();
    expected = reject_reason::bad_certificate;
    a.deliver(a.answer({b2}));
  }
  SECTION("a validly signed vote of another epoch in the certificate") {
    b2.votes.back() = make_vote(a.c.keys[b2.votes.back().voter], 3, b2.prop.hash,
                                b2.votes.back().voter);
    expected = reject_reason::bad_certificate;
    a.deliver(a.answer({b2}));
  }
  SECTION("a block whose contents do not match its hash") {
    auto changed = *b2.prop.blk;
    changed.txs.push_back("smuggled");
    b2.prop.blk = std::make_shared<const block>(changed);
    expected = reject_reason::hash_mismatch;
    a.deliver(a.answer({b2}));
  }
  SECTION("more blocks than asked") {
    a.deliver(a.answer(std::vector<certified_block>(a.c.p.max_sync_blocks + 1, b2)));
    expected = reject_reason::unsolicited;
  }
  SECTION("a response signed by someone else than its responder") {
    a.deliver(a.answer({b2}, 2));
  }
  SECTION("a response to a request nobody made") {
    auto s = a.answer({b2});
    s.request = crypto::blake2b_256("no such request");
    sign(a.c.keys[3], s);
    a.deliver(s);
    expected = reject_reason::unsolicited;
  }
  INFO("expected " << to_string(expected));
  CHECK(rejected(a.c, expected, 3) == 1);
  CHECK_FALSE(a.caught_up());
  CHECK(a.c.nodes[0].find(a.b2.prop.hash) == nullptr);
  CHECK(a.c.nodes[0].longest_notarized_height() == 1);
  CHECK(a.c.misbehaviour.empty()); // nothing signed proves who forged it

  // The next epoch it asks another validator (1), which answers honestly.
  step_epoch(a.c, 4);
  step_late_in_epoch(a.c, 4);
  CHECK(a.caught_up());
  CHECK(a.c.nodes[1].stats().sync_responses_sent >= 1);
  CHECK(a.c.nodes[3].stats().sync_responses_sent == 0);
}

TEST_CASE("an invalid block with a full certificate from sync is refused with evidence",
          "[streamlet][sync]") {
  asked_byzantine a;
  // Epoch 2's leader (2) signs a block that skips a height; 1, 2 and 3
  // sign votes for it (f >= n/3 colluding, or keys the test holds).
  auto bad = *a.b2.prop.blk;
  bad.height += 3;
  certified_block cb{make_proposal(a.c.keys[2], bad), {}};
  for (validator_id v : {1u, 2u, 3u})
    cb.votes.push_back(make_vote(a.c.keys[v], 2, cb.prop.hash, v));
  a.deliver(a.answer({cb}));
  CHECK(a.c.nodes[0].find(cb.prop.hash) == nullptr);
  CHECK_FALSE(a.c.nodes[0].chain_notarized(cb.prop.hash));
  CHECK(a.c.nodes[0].longest_notarized_height() == 1);
  CHECK(rejected(a.c, reject_reason::bad_structure, 2) == 1);
  std::set<std::pair<offence, validator_id>> proven;
  for (const auto& e : a.c.misbehaviour) {
    CHECK(verify_evidence(e, a.c.p, a.c.roster));
    proven.insert({e.kind, e.culprit});
  }
  CHECK(proven == std::set<std::pair<offence, validator_id>>{
                      {offence::invalid_proposal, 2},
                      {offence::vote_for_invalid, 1},
                      {offence::vote_for_invalid, 2},
                      {offence::vote_for_invalid, 3},
                  });
}

// -- the responder's side --------------------------------------------------------

namespace {

sync_request ask(const cluster& c, validator_id requester, epoch_t e, std::uint32_t max_blocks,
                 std::uint64_t tip_height = 0) {
  sync_request r;
  r.requester = requester;
  r.epoch = e;
  r.tip_height = tip_height;
  r.max_blocks = max_blocks;
  sign(c.keys[requester], r);
  return r;
}

std::vector<sync_response> responses_to(const cluster& c, validator_id to) {
  std::vector<sync_response> out;
  for (const auto& env : c.log)
    if (auto* s = std::get_if<sync_response>(&env.msg); s && env.to == to)
      out.push_back(*s);
  return out;
}

} // namespace

TEST_CASE("a responder answers signed, fresh requests, within its limits, never with more "
          "than asked",
          "[streamlet][sync]") {
  auto params = cluster::defaults(4);
  params.max_sync_blocks = 4;
  params.sync_answers_per_epoch = 2;
  cluster c(params);
  for (epoch_t e = 1; e <= 6; ++e)
    step_epoch(c, e);
  REQUIRE(c.nodes[1].longest_notarized_height() == 6);

  // Asked for 2: the two blocks below its tip, lowest first, certified.
  c.deliver(1, ask(c, 0, 6, 2, 0), 0);
  auto got = responses_to(c, 0);
  REQUIRE(got.size() == 1);
  REQUIRE(got[0].blocks.size() == 2);
  CHECK(got[0].blocks[0].prop.blk->height == 5);
  CHECK(got[0].blocks[1].prop.blk->height == 6);
  CHECK(signature_ok(got[0], c.roster[1]));
  for (const auto& cb : got[0].blocks) {
    CHECK(cb.votes.size() == quorum(4));
    for (const auto& v : cb.votes)
      CHECK(signature_ok(v, c.roster[v.voter]));
  }
  // Asked for 100: its own limit (4) holds.
  c.deliver(1, ask(c, 0, 6, 100, 0), 0);
  got = responses_to(c, 0);
  REQUIRE(got.size() == 2);
  CHECK(got[1].blocks.size() == 4);
  // A third request in the epoch: over the limit.
  c.deliver(1, ask(c, 0, 6, 1, 0), 0);
  CHECK(responses_to(c, 0).size() == 2);
  CHECK(rejected(c, reject_reason::rate_limited, 0) == 1);

  // Refused before any work: a forged signature, a requester's name signed
  // by another, a replay from an old epoch.
  auto forged = ask(c, 2, 6, 2);
  forged.sig.bytes[3] ^= 0x04;
  c.deliver(1, forged, 2);
  auto borrowed = ask(c, 3, 6, 2);
  borrowed.requester = 2; // 3 signed it, in 2's name
  c.deliver(1, borrowed, 3);
  CHECK(rejected(c, reject_reason::bad_signature, 2) == 2);
  c.deliver(1, ask(c, 2, 3, 2), 2);
  CHECK(rejected(c, reject_reason::stale_request, 2) == 1);
  CHECK(responses_to(c, 2).empty());
  // Nothing above the requester's tip: no answer at all.
  c.deliver(1, ask(c, 3, 6, 4, 6), 3);
  CHECK(responses_to(c, 3).empty());
  CHECK(c.nodes[1].stats().sync_responses_sent == 2);
  CHECK(c.nodes[1].stats().sync_blocks_sent == 6);
}

TEST_CASE("sync requests and responses round-trip through their wire bytes; malformed bytes "
          "are refused",
          "[streamlet][sync][wire]") {
  cluster c(4);
  step_epoch(c, 1);
  step_epoch(c, 2);
  auto q = ask(c, 2, 2, 16, 1);
  q.wanted = {crypto::blake2b_256("a"), crypto::blake2b_256("b")};
  sign(c.keys[2], q);
  auto qb = encode_message(q);
  auto back = decode_message(qb);
  REQUIRE(back);
  CHECK(std::get<sync_request>(*back) == q);
  CHECK(signature_ok(std::get<sync_request>(*back), c.roster[2]));

  sync_response s;
  s.responder = 1;
  s.request = sync_request_digest(q);
  s.blocks = {sent_for(c, 1), sent_for(c, 2)};
  sign(c.keys[1], s);
  auto sb = encode_message(s);
  auto sback = decode_message(sb);
  REQUIRE(sback);
  const auto& s2 = std::get<sync_response>(*sback);
  CHECK(signature_ok(s2, c.roster[1]));
  REQUIRE(s2.blocks.size() == 2);
  CHECK(*s2.blocks[1].prop.blk == *s.blocks[1].prop.blk);
  CHECK(s2.blocks[1].votes == s.blocks[1].votes);
  CHECK(sync_response_bytes(s2) == sync_response_bytes(s));

  for (const auto& bytes : {qb, sb}) {
    CHECK_FALSE(decode_message(bytes.substr(0, bytes.size() - 1)));
    CHECK_FALSE(decode_message(bytes + "x"));
  }
  // A wanted count the input cannot hold: tag(4+27), kind(1), requester(4),
  // epoch(8), finalized(8), tip(8), max blocks(4), then the count.
  auto lying = qb;
  auto count_at = 4 + std::string_view("marketsim/streamlet/wire/v1").size() + 1 + 4 + 8 +
                  8 + 8 + 4;
  lying[count_at + 3] = '\x7f';
  CHECK_FALSE(decode_message(lying));
  auto bad_kind = qb;
  bad_kind[count_at - 33] = '\x04';
  CHECK_FALSE(decode_message(bad_kind));
}

// -- whole runs (streamlet_sim) ------------------------------------------------------

namespace {

/// 4 honest validators, 1 s epochs, delays up to a quarter epoch; validator
/// 2 loses everything it sends or is sent from epoch 5 to epoch 15 (GST is
/// set at the reconnection, so finalized_at_gst is its height then).
sim_params cut_off_run(std::uint64_t seed, bool sync) {
  sim_params p;
  p.protocol.n = 4;
  p.protocol.epoch_duration = 1'000'000'000;
  p.protocol.leader = seed % 2 ? leader_rule::hash : leader_rule::round_robin;
  p.protocol.sync = sync;
  p.seed = seed;
  p.delta = p.protocol.epoch_duration / 4;
  p.pre_gst_max_delay = p.delta;
  p.heal = 0; // no two sides: only the outage
  p.gst = 15 * p.protocol.epoch_duration;
  p.duration = 35 * p.protocol.epoch_duration;
  p.outages.push_back({2, 5 * p.protocol.epoch_duration, p.gst});
  return p;
}

} // namespace

TEST_CASE("a validator cut off for ten epochs catches up by sync and finalizes with the others",
          "[streamlet][sync][sim]") {
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    auto p = cut_off_run(seed, true);
    INFO("replay: " << describe(p));
    auto r = run_simulation(p);
    INFO(r.safety.violation);
    REQUIRE(r.safety.safe);
    const auto& cut = r.nodes[2];
    const auto& other = r.nodes[0];
    // Behind when it came back; caught up (same prefix) and finalizing since.
    CHECK(cut.finalized_at_gst + 3 <= other.finalized_at_gst);
    CHECK(cut.finalized.size() >= other.finalized_at_gst + 10);
    CHECK(cut.stats.sync_blocks_received >= other.finalized_at_gst - cut.finalized_at_gst);
    CHECK(r.live(10));
    for (const auto& n : r.nodes) {
      auto k = std::min(n.finalized.size(), cut.finalized.size());
      CHECK(std::equal(cut.finalized.begin(), cut.finalized.begin() + k, n.finalized.begin()));
    }
    CHECK(r.misbehaviour.empty());
  }
}

TEST_CASE("without sync, the validator cut off stays behind for good", "[streamlet][sync][sim]") {
  auto r = run_simulation(cut_off_run(1, false));
  REQUIRE(r.safety.safe);
  CHECK(r.nodes[2].finalized.size() == r.nodes[2].finalized_at_gst);
  CHECK(r.nodes[0].finalized.size() >= r.nodes[0].finalized_at_gst + 10);
  CHECK_FALSE(r.live(1));
}

TEST_CASE("catch-up cost after an outage (a measurement, not run by default)",
          "[.bench][streamlet][sync]") {
  for (std::uint64_t outage_epochs : {10, 50}) {
    for (std::uint64_t seed = 1; seed <= 3; ++seed) {
      auto p = cut_off_run(seed, true);
      const auto e = p.protocol.epoch_duration;
      p.outages[0].until = p.gst = static_cast<time_ns>(5 + outage_epochs) * e;
      // The first run length at which the cut-off validator has finalized
      // what the others had when it came back (runs are prefixes of each
      // other: the same seed, only the end moves).
      std::uint64_t caught_after = 0;
      sim_result r;
      for (std::uint64_t k = 1; k <= 20 && caught_after == 0; ++k) {
        p.duration = p.gst + static_cast<time_ns>(k) * e;
        r = run_simulation(p);
        REQUIRE(r.safety.safe);
        if (r.nodes[2].finalized.size() >= r.nodes[0].finalized_at_gst)
          caught_after = k;
      }
      const auto& s = r.nodes[2].stats;
      std::uint64_t served = 0;
      for (const auto& n : r.nodes)
        served += n.stats.sync_responses_sent;
      std::printf("outage %3llu epochs, seed %llu: behind by %llu finalized blocks, caught up "
                  "within %llu epochs; %llu requests, %llu responses (all nodes), %llu blocks "
                  "received, %llu refused\n",
                  static_cast<unsigned long long>(outage_epochs),
                  static_cast<unsigned long long>(seed),
                  static_cast<unsigned long long>(r.nodes[0].finalized_at_gst -
                                                  r.nodes[2].finalized_at_gst),
                  static_cast<unsigned long long>(caught_after),
                  static_cast<unsigned long long>(s.sync_requests_sent),
                  static_cast<unsigned long long>(served),
                  static_cast<unsigned long long>(s.sync_blocks_received),
                  static_cast<unsigned long long>(s.sync_refused));
      CHECK(caught_after > 0);
    }
  }
}
