/// Dolev-Strong validator actors on the deterministic scheduler (virtual
/// time): one CAF actor per validator, rounds on the actor clock, chains as
/// ds_wire messages (directly, or through the network layer's link actors).
/// An honest sender's value is decided by every honest validator after
/// exactly f+1 rounds; an equivocating or silent sender leaves everyone on
/// the default; a relay's forged signature is refused with evidence that
/// convicts the relay; a selective relay changes nothing; a network slower
/// than a round makes chains late. Every test checks agreement among the
/// honest validators.

#include "actors/consensus_messages.hpp"
#include "actors/runtime.hpp"
#include "consensus/bft/dolev_strong_validator.hpp"
#include "network/endpoints.hpp"
#include "network/network_actor.hpp"
#include "network/topology.hpp"

#include <caf/all.hpp>
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace marketsim;
using namespace marketsim::consensus::bft;
namespace crypto = marketsim::consensus::crypto;

constexpr std::int64_t ms = 1'000'000;
constexpr std::int64_t round0 = 1000 * ms; ///< the broadcast starts
constexpr std::int64_t round_len = 20 * ms;
const std::string halt = "halt";
const std::string no_halt = "no-halt";

/// What the decisions sent to a report_to actor said.
struct reports {
  std::mutex mutex;
  std::vector<actors::ds_decision> got;
};

caf::behavior collector(caf::event_based_actor*, std::shared_ptr<reports> out) {
  return {[out](const actors::ds_decision& d) {
    std::lock_guard<std::mutex> lock{out->mutex};
    out->got.push_back(d);
  }};
}

struct group {
  actors::runtime rt;
  std::shared_ptr<ds_record> rec = std::make_shared<ds_record>();
  std::shared_ptr<reports> reported = std::make_shared<reports>();
  caf::actor report_to;
  ds_config cfg;
  std::vector<crypto::key_pair> keys;
  std::map<node_id, ds_behaviour_kind> byzantine;
  std::vector<caf::actor> handles;
  std::vector<caf::actor> extra; ///< to quit too (network, proxies)

  group(std::uint32_t n, std::uint32_t f) {
    cfg.n = n;
    cfg.f = f;
    cfg.sender = 0;
    cfg.instance = 7;
    cfg.default_value = no_halt;
    for (node_id i = 0; i < n; ++i) {
      keys.push_back(crypto::key_pair::derive(99, i));
      cfg.keys.push_back(keys.back().public_part());
    }
    report_to = rt.system().spawn(collector, reported);
  }

  ~group() {
    auto all = handles;
    all.insert(all.end(), extra.begin(), extra.end());
    all.push_back(report_to);
    rt.shutdown(all);
  }

  bool honest(node_id i) const { return byzantine.count(i) == 0; }

  /// Spawns every validator; `reach` as in introduce_ds_group.
  void start(const std::function<caf::actor(std::size_t, std::size_t)>& reach = {},
             const std::function<void(const caf::actor&, node_id)>& placed = {}) {
    for (node_id i = 0; i < cfg.n; ++i) {
      ds_validator_params p;
      p.protocol = cfg;
      p.id = i;
      p.keys = keys[i];
      if (auto it = byzantine.find(i); it != byzantine.end())
        p.behaviour = it->second;
      p.value = halt;
      p.origin_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        rt.start_time().time_since_epoch())
                        .count();
      p.start_ns = round0;
      p.round_ns = round_len;
      p.report_to = report_to;
      p.observer = ds_record_into(rec);
      handles.push_back(spawn_ds_validator(rt.system(), std::move(p)));
      if (placed)
        placed(handles.back(), i);
    }
    introduce_ds_group(handles, reach);
  }

  /// Every honest validator decided `value`, at the end of round f+1, and
  /// reported it to report_to. Agreement follows; checked anyway as such.
  void check_all_decide(const std::string& value) {
    std::lock_guard<std::mutex> lock{rec->mutex};
    std::optional<std::string> first;
    for (node_id i = 0; i < cfg.n; ++i) {
      if (!honest(i))
        continue;
      INFO("validator " << i);
      auto it = rec->decided.find(i);
      REQUIRE(it != rec->decided.end());
      if (!first)
        first = it->second.outcome.value;
      CHECK(it->second.outcome.value == *first); // agreement
      CHECK(it->second.outcome.value == value);
      CHECK(it->second.at == round0 + (cfg.f + 1) * round_len);
    }
    std::lock_guard<std::mutex> lock2{reported->mutex};
    std::set<std::uint32_t> from;
    for (const auto& d : reported->got) {
      CHECK(d.instance == cfg.instance);
      CHECK(d.rounds == cfg.f + 1);
      if (honest(d.validator))
        CHECK(d.value == value);
      from.insert(d.validator);
    }
    for (node_id i = 0; i < cfg.n; ++i)
      if (honest(i))
        CHECK(from.count(i) == 1);
  }

  std::size_t decided_count() {
    std::lock_guard<std::mutex> lock{rec->mutex};
    return rec->decided.size();
  }
};

} // namespace

TEST_CASE("an honest sender: every honest validator actor decides its value after exactly "
          "f+1 rounds",
          "[dolev_strong_validator]") {
  for (auto [n, f] : {std::pair{4u, 1u}, std::pair{7u, 2u}, std::pair{5u, 4u}}) {
    INFO("n = " << n << ", f = " << f);
    group g{n, f};
    g.start();
    // One instant before round f+1's tick nobody has decided.
    g.rt.run_until(round0 + (f + 1) * round_len - 1);
    CHECK(g.decided_count() == 0);
    g.rt.run_until(round0 + (f + 1) * round_len);
    g.check_all_decide(halt);
    std::lock_guard<std::mutex> lock{g.rec->mutex};
    CHECK(g.rec->refused.empty());
    for (const auto& [id, d] : g.rec->decided)
      CHECK(d.outcome.extracted);
  }
}

namespace {

/// A Byzantine sender (0) among n validators: every honest validator decides
/// the default after f+1 rounds without a single extracted value. Returns
/// the verifications the honest validators did.
std::uint64_t byzantine_sender(ds_behaviour_kind kind, std::uint32_t n, std::uint32_t f) {
  group g{n, f};
  g.byzantine[0] = kind;
  g.start();
  g.rt.run_until(round0 + 10 * round_len);
  g.check_all_decide(no_halt);
  std::lock_guard<std::mutex> lock{g.rec->mutex};
  std::uint64_t verifications = 0;
  for (const auto& [id, d] : g.rec->decided)
    if (g.honest(id)) {
      CHECK_FALSE(d.outcome.extracted);
      verifications += d.outcome.verifications;
    }
  return verifications;
}

} // namespace

TEST_CASE("an equivocating sender: every honest validator actor decides the default",
          "[dolev_strong_validator]") {
  // Two values extracted (each seen once from the sender and relayed): two
  // or more verifications per honest validator.
  CHECK(byzantine_sender(ds_behaviour_kind::equivocate, 7, 2) >= 2 * 6);
}

TEST_CASE("a silent sender: every honest validator actor decides the default",
          "[dolev_strong_validator]") {
  CHECK(byzantine_sender(ds_behaviour_kind::silent, 4, 1) == 0); // nothing to check
}

TEST_CASE("a relay's forged signature is refused, logged with evidence that convicts the "
          "relay, and changes no decision",
          "[dolev_strong_validator]") {
  group g{7, 2};
  g.byzantine[3] = ds_behaviour_kind::forge_relay;
  g.start();
  g.rt.run_until(round0 + 10 * round_len);
  g.check_all_decide(halt);
  std::lock_guard<std::mutex> lock{g.rec->mutex};
  std::set<node_id> refusing;
  for (const auto& r : g.rec->refused) {
    INFO("reporter " << r.reporter);
    CHECK(g.honest(r.reporter));
    CHECK(r.r.kind == ds_refusal_kind::invalid);
    CHECK(r.r.verdict == ds_verdict::bad_signature);
    CHECK(r.r.from == 3);
    REQUIRE(r.r.evidence);
    CHECK(r.r.evidence->bad_link == 0); // the sender's signature, moved to another value
    REQUIRE(r.r.evidence->culprit);
    CHECK(*r.r.evidence->culprit == 3);
    CHECK(ds_verify_evidence(g.cfg, *r.r.evidence));
    CHECK(r.r.evidence->msg.value == no_halt);
    refusing.insert(r.reporter);
  }
  // Every honest validator, the sender too (it holds halt, not the forged
  // value, so it checks the chain), refused the forgery.
  for (node_id i = 0; i < g.cfg.n; ++i)
    if (g.honest(i))
      CHECK(refusing.count(i) == 1);
  // Evidence cannot be made from an honest chain: the chain as the sender
  // signed it has nothing forged, and evidence put back to that value fails.
  CHECK_FALSE(ds_forgery_evidence(g.cfg, ds_make_initial(g.cfg, halt, g.keys[0])));
  auto e = *g.rec->refused.front().r.evidence;
  e.msg.value = halt;
  CHECK_FALSE(ds_verify_evidence(g.cfg, e));
}

TEST_CASE("a selective relay changes nothing, under an honest or an equivocating sender",
          "[dolev_strong_validator]") {
  using k = ds_behaviour_kind;
  for (auto [byzantine, value] :
       {std::pair{std::map<node_id, k>{{2, k::selective_relay}, {5, k::selective_relay}}, halt},
        std::pair{std::map<node_id, k>{{0, k::equivocate}, {4, k::selective_relay}}, no_halt}}) {
    INFO("expected " << value);
    group g{7, 2};
    g.byzantine = byzantine;
    g.start();
    g.rt.run_until(round0 + 10 * round_len);
    g.check_all_decide(value);
  }
}

TEST_CASE("chains that are empty, too long, late, flooding or from strangers are refused "
          "and counted",
          "[dolev_strong_validator]") {
  group g{4, 1};
  g.start();
  g.rt.run_until(round0 + round_len); // round 1 has ticked
  auto good = ds_make_initial(g.cfg, halt, g.keys[0]);
  auto v = g.handles[2];
  caf::anon_send(v, actors::ds_wire{1, ds_message{g.cfg.instance, 0, halt, {}}}); // empty
  auto long_chain = ds_extend(ds_extend(good, 1, g.keys[1]), 3, g.keys[3]); // 3 > f+1
  caf::anon_send(v, actors::ds_wire{1, long_chain});
  caf::anon_send(v, actors::ds_wire{1, good}); // one signature, after round 1: late
  auto two = ds_extend(good, 1, g.keys[1]);
  // In validator 1's name (`from` is not authenticated), after its own
  // honest relay: 3 more pass (then redundant in round 2), 3 are over the
  // limit; one from an id outside the group is refused at once.
  for (int k = 0; k < 6; ++k)
    caf::anon_send(v, actors::ds_wire{1, two});
  caf::anon_send(v, actors::ds_wire{9, two});
  g.rt.run_until(round0 + 10 * round_len);
  g.check_all_decide(halt);
  std::lock_guard<std::mutex> lock{g.rec->mutex};
  std::map<ds_refusal_kind, int> kinds;
  for (const auto& r : g.rec->refused) {
    CHECK(r.reporter == 2);
    CHECK(r.r.round == 1);
    ++kinds[r.r.kind];
  }
  CHECK(kinds[ds_refusal_kind::invalid] == 2);
  CHECK(kinds[ds_refusal_kind::late] == 1);
  CHECK(kinds[ds_refusal_kind::over_limit] == 3);
  CHECK(kinds[ds_refusal_kind::unknown_sender] == 1);
  CHECK(g.rec->decided[2].outcome.refused == 7);
}

namespace {

/// Validators 0..n-1 at sites of a full mesh with constant `latency` links,
/// reaching each other through the network layer.
void through_network(group& g, std::int64_t latency) {
  auto& sys = g.rt.system();
  network::topology topo;
  std::vector<network::site_id> sites;
  for (node_id i = 0; i < g.cfg.n; ++i)
    sites.push_back(topo.add_site({fmt::format("v{}", i)}));
  for (node_id a = 0; a < g.cfg.n; ++a)
    for (node_id b = a + 1; b < g.cfg.n; ++b)
      topo.connect(sites[a], sites[b], network::link_props{latency});
  auto net = network::spawn_network(sys, topo, {});
  auto ep = std::make_shared<network::endpoints>(sys, net);
  g.start([&](std::size_t from, std::size_t to) { return ep->reach(g.handles[to], sites[from]); },
          [&](const caf::actor& v, node_id i) { ep->place(v, sites[i]); });
  g.rt.run_until(round0 + 10 * round_len);
  for (auto& p : ep->proxies())
    g.extra.push_back(p);
  g.extra.push_back(caf::actor_cast<caf::actor>(net));
  CHECK(ep->stats().forwarded > 0); // the chains crossed the network
}

} // namespace

TEST_CASE("through the network layer: links faster than a round change nothing; links "
          "slower than a round make every chain late",
          "[dolev_strong_validator][network]") {
  {
    group g{4, 1};
    through_network(g, 15 * ms);
    g.check_all_decide(halt);
    std::lock_guard<std::mutex> lock{g.rec->mutex};
    CHECK(g.rec->refused.empty());
  }
  {
    // Synchrony broken: the sender's chains reach the others after round 1's
    // tick. They refuse them as late and decide the default; the sender,
    // which extracted its own value, decides it: agreement is lost exactly
    // when the timing requirement is.
    group g{4, 1};
    through_network(g, 30 * ms);
    std::lock_guard<std::mutex> lock{g.rec->mutex};
    CHECK(g.rec->decided[0].outcome.value == halt);
    for (node_id i = 1; i < 4; ++i) {
      INFO("validator " << i);
      CHECK(g.rec->decided[i].outcome.value == no_halt);
    }
    std::size_t late = 0;
    for (const auto& r : g.rec->refused)
      late += r.r.kind == ds_refusal_kind::late ? 1 : 0;
    CHECK(late == 3); // one per receiver: nobody relays what it never accepted
  }
}
