/// Streamlet validator actors on the deterministic scheduler (virtual time):
/// a group finalizes the same blocks, an equivocating leader is caught with
/// evidence by every honest validator, malformed wire bytes are rejected and
/// counted, and in price mode every honest validator finalizes the same
/// prices while a leader proposing a shifted price gets no notarization.

#include "actors/consensus_messages.hpp"
#include "actors/runtime.hpp"
#include "consensus/bft/streamlet_checker.hpp"
#include "consensus/bft/streamlet_coins.hpp"
#include "consensus/bft/streamlet_validator.hpp"

#include <caf/all.hpp>
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace marketsim;
using namespace marketsim::consensus::bft;
using namespace marketsim::consensus::bft::streamlet;
namespace crypto = marketsim::consensus::crypto;

constexpr time_ns second = 1'000'000'000;

struct group {
  actors::runtime rt;
  std::shared_ptr<group_record> rec = std::make_shared<group_record>();
  std::vector<caf::actor> handles;
  std::vector<crypto::key_pair> keys;
  std::vector<crypto::public_key> roster;
  std::uint32_t n;

  explicit group(std::uint32_t n_) : n(n_) {
    for (std::uint32_t i = 0; i < n; ++i) {
      keys.push_back(crypto::key_pair::derive(42, i));
      roster.push_back(keys.back().public_part());
    }
  }

  ~group() { rt.shutdown(handles); }

  streamlet_validator_params params(validator_id id) {
    streamlet_validator_params p;
    p.protocol.n = n;
    p.protocol.epoch_duration = second;
    p.protocol.leader = leader_rule::round_robin;
    p.id = id;
    p.keys = keys[id];
    p.roster = roster;
    p.origin_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      rt.start_time().time_since_epoch())
                      .count();
    p.observer = record_into(rec);
    return p;
  }

  /// Params of every validator, in price mode when `pm` is set.
  std::vector<streamlet_validator_params> all(std::optional<price_mode> pm = {}) {
    std::vector<streamlet_validator_params> ps;
    for (validator_id i = 0; i < n; ++i) {
      ps.push_back(params(i));
      ps.back().prices = pm;
    }
    return ps;
  }

  /// The prices validator `id` finalized, in order.
  std::vector<price_proposal> prices_of(validator_id id) {
    std::vector<price_proposal> out;
    for (const auto& f : rec->finalized[id])
      if (auto p = price_of(*f.blk)) {
        CHECK(p->epoch == f.blk->epoch);
        out.push_back(*p);
      }
    return out;
  }

  void start(std::vector<streamlet_validator_params> ps) {
    handles = spawn_streamlet_group(rt.system(), std::move(ps));
  }

  std::vector<hash256> chain(validator_id id) {
    std::vector<hash256> out;
    for (const auto& f : rec->finalized[id])
      out.push_back(block_hash(*f.blk));
    return out;
  }

  safety_report safety(const std::vector<validator_id>& honest) {
    std::vector<std::pair<std::string, std::vector<hash256>>> chains;
    for (auto id : honest)
      chains.push_back({fmt::format("v{}", id), chain(id)});
    return check_finalized_prefixes(chains);
  }
};

price_mode prices(std::uint64_t seed) {
  price_mode pm;
  pm.sources = honest_sources(5, seed);
  pm.feed_seed = seed;
  return pm;
}

} // namespace

TEST_CASE("four validators finalize the same blocks", "[streamlet_validator]") {
  group g{4};
  auto ps = g.all();
  g.start(std::move(ps));
  for (int k = 0; k < 5; ++k)
    for (const auto& h : g.handles)
      caf::anon_send(h, actors::streamlet_submit{{"tx-" + std::to_string(k)}});
  g.rt.run_until(12 * second);
  auto first = g.chain(0);
  CHECK(first.size() >= 8);
  for (validator_id i = 1; i < 4; ++i)
    CHECK(g.chain(i) == first);
  std::size_t txs = 0;
  for (const auto& f : g.rec->finalized[0])
    txs += f.blk->txs.size();
  CHECK(txs == 5);
  CHECK(g.rec->evidence.empty());
  CHECK(g.safety({0, 1, 2, 3}).safe);
}

TEST_CASE("an equivocating leader is caught by every honest validator",
          "[streamlet_validator]") {
  group g{4};
  auto ps = g.all();
  ps[1].behaviour = behaviour_kind::equivocate;
  g.start(std::move(ps));
  for (const auto& h : g.handles)
    caf::anon_send(h, actors::streamlet_submit{{"a", "b"}});
  g.rt.run_until(12 * second);
  std::map<validator_id, int> caught;
  for (const auto& r : g.rec->evidence) {
    CHECK(r.ev.culprit == 1);
    CHECK(verify_evidence(r.ev, streamlet_params{4, second, leader_rule::round_robin},
                          g.roster));
    if (r.ev.kind == offence::double_proposal || r.ev.kind == offence::double_vote)
      ++caught[r.reporter];
  }
  for (validator_id i : {0u, 2u, 3u})
    CHECK(caught[i] > 0);
  CHECK(g.safety({0, 2, 3}).safe);
  CHECK(g.chain(0).size() >= 4);
}

TEST_CASE("malformed wire bytes are rejected and counted", "[streamlet_validator]") {
  group g{4};
  auto ps = g.all();
  g.start(std::move(ps));
  auto good = encode_message(make_vote(g.keys[2], 1, genesis_hash(), 2));
  caf::anon_send(g.handles[0], actors::streamlet_wire{2, "garbage"});
  caf::anon_send(g.handles[0], actors::streamlet_wire{2, good.substr(0, good.size() - 1)});
  auto trailing = good;
  trailing.push_back('x');
  caf::anon_send(g.handles[0], actors::streamlet_wire{3, trailing});
  caf::anon_send(g.handles[0], actors::streamlet_wire{3, ""});
  g.rt.run_until(8 * second);
  CHECK(g.rec->malformed[0] == 4);
  CHECK(g.rec->malformed[1] == 0);
  // The validator went on as if nothing happened.
  CHECK(g.chain(0).size() >= 4);
  CHECK(g.chain(0) == g.chain(1));
}

TEST_CASE("price mode: every honest validator finalizes the same prices",
          "[streamlet_validator]") {
  group g{4};
  auto ps = g.all(prices(9));
  g.start(std::move(ps));
  g.rt.run_until(15 * second);
  auto first = g.prices_of(0);
  CHECK(first.size() >= 10);
  for (validator_id i = 1; i < 4; ++i)
    CHECK(g.prices_of(i) == first);
  CHECK(g.rec->evidence.empty());
}

TEST_CASE("price mode: a leader proposing a shifted price gets no notarization",
          "[streamlet_validator]") {
  group g{4};
  auto ps = g.all(prices(11));
  ps[2].prices->shift_bps = 300; // 3%: inside the 10% move, far outside the 0.5% tolerance
  g.start(std::move(ps));
  g.rt.run_until(20 * second);
  for (validator_id i : {0u, 1u, 3u}) {
    INFO("validator " << i);
    CHECK(g.rec->finalized[i].size() >= 6);
    for (const auto& f : g.rec->finalized[i])
      CHECK(f.blk->proposer != 2);
    bool accused = false;
    for (const auto& r : g.rec->evidence)
      if (r.reporter == i && r.ev.culprit == 2 && r.ev.kind == offence::invalid_proposal)
        accused = true;
    CHECK(accused);
  }
  for (const auto& r : g.rec->evidence)
    CHECK(r.ev.culprit == 2);
  CHECK(g.safety({0, 1, 3}).safe);
}

TEST_CASE("coin rules: a leader adding forged transfers is refused and reported",
          "[streamlet_validator]") {
  group g{4};
  auto issuer = crypto::key_pair::derive(42, 1'000'000);
  auto ps = g.all();
  for (auto& p : ps)
    p.coin_issuer = issuer.public_part();
  ps[1].behaviour = behaviour_kind::fake_txs;
  g.start(std::move(ps));
  for (std::uint64_t coin = 1; coin <= 6; ++coin)
    for (const auto& h : g.handles)
      caf::anon_send(h, actors::streamlet_submit{{encode_transfer(issuer, coin, 7)}});
  g.rt.run_until(12 * second);
  std::size_t txs = 0;
  for (const auto& f : g.rec->finalized[0]) {
    CHECK(f.blk->proposer != 1);
    txs += f.blk->txs.size();
  }
  CHECK(txs == 6);
  for (validator_id i : {0u, 2u, 3u}) {
    bool accused = false;
    for (const auto& r : g.rec->evidence)
      accused = accused || (r.reporter == i && r.ev.culprit == 1 &&
                            r.ev.kind == offence::invalid_proposal);
    CHECK(accused);
  }
  CHECK(g.safety({0, 2, 3}).safe);
}

namespace {

/// A test link for one validator's traffic: forwards streamlet_wire and
/// streamlet_sync to `target` while `sw->up`, loses them otherwise.
struct link_switch {
  bool up = true;
  std::uint64_t sync_forwarded = 0;
};

caf::behavior lossy_relay(caf::event_based_actor* self, caf::actor target,
                          std::shared_ptr<link_switch> sw) {
  return {
      [self, target, sw](const actors::streamlet_wire& w) {
        if (sw->up)
          self->send(target, w);
      },
      [self, target, sw](const actors::streamlet_sync& w) {
        if (!sw->up)
          return;
        ++sw->sync_forwarded;
        self->send(target, w);
      },
  };
}

struct cut_off_outcome {
  std::size_t behind_at_reconnect = 0; ///< others' finalized - validator 3's, at 8 s
  std::size_t growth_after = 0;        ///< validator 3's blocks finalized after 8 s
  std::uint64_t sync_messages = 0;     ///< through its links
  bool consistent = false;             ///< its chain and validator 0's agree
};

/// Four validators; every message to or from validator 3 is lost from 3 s
/// to 8 s (1 s epochs); the run ends at 20 s.
cut_off_outcome cut_off_validator_3(bool sync) {
  group g{4};
  auto ps = g.all();
  for (auto& p : ps)
    p.protocol.sync = sync;
  auto& sys = g.rt.system();
  std::vector<caf::actor> vs;
  for (auto& p : ps)
    vs.push_back(spawn_streamlet_validator(sys, std::move(p)));
  auto sw = std::make_shared<link_switch>();
  auto to_3 = sys.spawn(lossy_relay, vs[3], sw);
  g.handles = vs;
  g.handles.push_back(to_3);
  actors::raft_peers others{{0, 1, 2, 3}, {vs[0], vs[1], vs[2], to_3}};
  actors::raft_peers of_3{{0, 1, 2, 3}, {}};
  for (validator_id i = 0; i < 3; ++i) {
    of_3.handles.push_back(sys.spawn(lossy_relay, vs[i], sw));
    g.handles.push_back(of_3.handles.back());
  }
  of_3.handles.push_back(vs[3]);
  for (validator_id i = 0; i < 3; ++i)
    caf::anon_send(vs[i], others);
  caf::anon_send(vs[3], of_3);
  for (int k = 0; k < 8; ++k)
    for (const auto& v : vs)
      caf::anon_send(v, actors::streamlet_submit{{"tx-" + std::to_string(k)}});

  g.rt.run_until(3 * second);
  sw->up = false;
  g.rt.run_until(8 * second);
  sw->up = true;
  cut_off_outcome o;
  auto at_reconnect = g.chain(3).size();
  o.behind_at_reconnect = g.chain(0).size() - at_reconnect;
  auto before = sw->sync_forwarded;
  g.rt.run_until(20 * second);
  o.growth_after = g.chain(3).size() - at_reconnect;
  o.sync_messages = sw->sync_forwarded - before;
  o.consistent = g.safety({0, 1, 2, 3}).safe && g.rec->evidence.empty();
  return o;
}

} // namespace

TEST_CASE("a validator whose messages were all lost for five epochs catches up by block sync",
          "[streamlet_validator][sync]") {
  auto o = cut_off_validator_3(true);
  CHECK(o.behind_at_reconnect >= 2);
  CHECK(o.sync_messages > 0);
  CHECK(o.growth_after >= o.behind_at_reconnect + 5);
  CHECK(o.consistent);
}

TEST_CASE("without block sync, the validator cut off stays behind", "[streamlet_validator][sync]") {
  auto o = cut_off_validator_3(false);
  CHECK(o.behind_at_reconnect >= 2);
  CHECK(o.sync_messages == 0);
  CHECK(o.growth_after == 0);
  CHECK(o.consistent);
}

TEST_CASE("sync bytes sent as live gossip, and gossip sent as sync, are malformed",
          "[streamlet_validator][sync]") {
  group g{4};
  g.start(g.all());
  sync_request q;
  q.requester = 2;
  q.epoch = 1;
  sign(g.keys[2], q);
  auto vote_bytes = encode_message(make_vote(g.keys[2], 1, genesis_hash(), 2));
  caf::anon_send(g.handles[0], actors::streamlet_wire{2, encode_message(q)});
  caf::anon_send(g.handles[0], actors::streamlet_sync{2, vote_bytes});
  caf::anon_send(g.handles[0], actors::streamlet_sync{2, "garbage"});
  g.rt.run_until(6 * second);
  CHECK(g.rec->malformed[0] == 3);
  CHECK(g.chain(0).size() >= 3);
  CHECK(g.chain(0) == g.chain(1));
}

TEST_CASE("a proposal that arrives before the validator knows its peers is held, and the "
          "validator's vote for it still reaches them",
          "[streamlet_validator]") {
  // Validator 2 never runs, so epoch 1's block (leader 1) needs the votes of
  // 0, 1 and 3. Validator 3 learns its peers only after epoch 1's proposal
  // reached it; block sync is off, so nothing else could repair a lost vote.
  group g{4};
  std::vector<validator_id> live{0, 1, 3};
  std::map<validator_id, caf::actor> v;
  for (auto id : live) {
    auto p = g.params(id);
    p.protocol.sync = false;
    v[id] = spawn_streamlet_validator(g.rt.system(), std::move(p));
    g.handles.push_back(v[id]);
  }
  actors::raft_peers peers;
  for (auto id : live) {
    peers.ids.push_back(id);
    peers.handles.push_back(v[id]);
  }
  caf::anon_send(v[0], peers);
  caf::anon_send(v[1], peers);
  g.rt.run_until(second / 2); // epoch 1: validator 1 has proposed to all
  caf::anon_send(v[3], peers);
  g.rt.run_until(12 * second);

  auto chain = g.rec->finalized[0];
  REQUIRE(chain.size() >= 3);
  CHECK(chain.front().blk->epoch == 1);
  CHECK(g.safety({0, 1, 3}).safe);
  CHECK(g.chain(3) == g.chain(0));
}
