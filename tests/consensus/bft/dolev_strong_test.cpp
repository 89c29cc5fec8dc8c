// Specification of Dolev-Strong Byzantine broadcast: agreement, validity,
// the default on equivocation, and that forged signatures never pass, under
// Byzantine senders and relayers, over many seeds. A lockstep network below
// delivers in round r+1 what was sent in round r; the adversary controls the
// Byzantine nodes, sees what is delivered to them, and signs only with their
// keys.

#include "consensus/bft/dolev_strong.hpp"

#include "actors/random.hpp"
#include "consensus/crypto/canonical.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <functional>
#include <map>

using namespace marketsim::consensus::bft;
namespace crypto = marketsim::consensus::crypto;
using marketsim::actors::random_stream;

namespace {

const std::string value_a = "value A";
const std::string value_b = "value B";
const std::string bottom = "<bottom>";

struct world;
/// Called in rounds 0..f with what was delivered to Byzantine nodes in that
/// round; returns what they send (delivered in round + 1).
using adversary_fn = std::function<std::vector<ds_send>(world&, std::uint32_t,
                                                        const std::vector<ds_send>&)>;

struct world {
  ds_config cfg;
  std::vector<crypto::key_pair> keys;
  std::set<node_id> byzantine;
  std::map<node_id, dolev_strong_node> honest;
  adversary_fn adversary;
  std::map<ds_verdict, int> verdicts; ///< of honest nodes, over the run
  std::uint64_t messages = 0;         ///< deliveries

  world(std::uint32_t n, std::uint32_t f, node_id sender, std::set<node_id> byz,
        std::uint64_t seed, std::string default_value = bottom)
      : byzantine(std::move(byz)) {
    cfg.n = n;
    cfg.f = f;
    cfg.sender = sender;
    cfg.instance = seed;
    cfg.default_value = std::move(default_value);
    for (node_id i = 0; i < n; ++i) {
      keys.push_back(crypto::key_pair::derive(seed, i));
      cfg.keys.push_back(keys.back().public_part());
    }
    for (node_id i = 0; i < n; ++i)
      if (byzantine.count(i) == 0)
        honest.emplace(i, dolev_strong_node(cfg, i, keys[i]));
  }

  bool sender_honest() const { return byzantine.count(cfg.sender) == 0; }

  void run(const std::string& value) {
    std::vector<ds_send> flight;
    if (sender_honest())
      flight = honest.at(cfg.sender).start(value);
    append(flight, act(0, {}));
    for (std::uint32_t r = 1; r <= cfg.last_round(); ++r) {
      std::vector<ds_send> next, to_byzantine;
      for (const auto& s : flight) {
        ++messages;
        if (byzantine.count(s.to) > 0) {
          to_byzantine.push_back(s);
          continue;
        }
        auto res = honest.at(s.to).receive(s.msg, r);
        ++verdicts[res.verdict];
        append(next, res.sends);
      }
      if (r <= cfg.f)
        append(next, act(r, to_byzantine));
      flight = std::move(next);
    }
  }

  std::set<std::string> honest_outputs() const {
    std::set<std::string> out;
    for (const auto& [id, node] : honest)
      out.insert(node.output());
    return out;
  }

  std::uint64_t verifications() const {
    std::uint64_t v = 0;
    for (const auto& [id, node] : honest)
      v += node.verifications();
    return v;
  }

  /// A message from Byzantine `signers` (the first being the sender): each
  /// signs in turn with its own key.
  ds_message byzantine_chain(const std::string& value,
                             const std::vector<node_id>& signers) const {
    ds_message m;
    m.instance = cfg.instance;
    m.sender = cfg.sender;
    m.value = value;
    for (node_id s : signers) {
      REQUIRE(byzantine.count(s) > 0);
      m = ds_extend(std::move(m), s, keys[s]);
    }
    return m;
  }

private:
  std::vector<ds_send> act(std::uint32_t round, const std::vector<ds_send>& delivered) {
    return adversary ? adversary(*this, round, delivered) : std::vector<ds_send>{};
  }

  static void append(std::vector<ds_send>& to, const std::vector<ds_send>& from) {
    to.insert(to.end(), from.begin(), from.end());
  }
};

/// f distinct Byzantine nodes out of n, the sender among them or not.
std::set<node_id> pick_byzantine(random_stream& rng, std::uint32_t n, std::uint32_t f,
                                 node_id sender, bool sender_byzantine) {
  std::set<node_id> out;
  if (sender_byzantine && f > 0)
    out.insert(sender);
  while (out.size() < f) {
    auto i = static_cast<node_id>(rng.uniform_int(0, n - 1));
    if (i != sender)
      out.insert(i);
  }
  return out;
}

/// The shape of a random world: n in [min_n, 7], f in [min_f, n - 1 - f_slack].
struct world_shape {
  std::uint32_t min_n = 2;
  std::uint32_t min_f = 0;
  std::uint32_t f_slack = 0;
  bool sender_byzantine = false;
  bool random_sender = false; ///< else node 0 sends
};

/// A world drawn from `seed` (nodes, f, sender, which nodes are Byzantine).
world random_world(std::uint64_t seed, world_shape shape) {
  random_stream rng(seed);
  const auto n = static_cast<std::uint32_t>(rng.uniform_int(shape.min_n, 7));
  const auto f =
      static_cast<std::uint32_t>(rng.uniform_int(shape.min_f, n - 1 - shape.f_slack));
  const auto sender =
      shape.random_sender ? static_cast<node_id>(rng.uniform_int(0, n - 1)) : node_id{0};
  return world(n, f, sender, pick_byzantine(rng, n, f, sender, shape.sender_byzantine),
               seed);
}

/// Byzantine relayers that relay what they receive only sometimes, to a
/// random subset, possibly a round late (dropped, selective, delayed relays).
adversary_fn flaky_relayers(std::uint64_t seed) {
  auto rng = std::make_shared<random_stream>(seed);
  auto held = std::make_shared<std::vector<ds_message>>();
  return [rng, held](world& w, std::uint32_t round, const std::vector<ds_send>& in) {
    std::vector<ds_send> out;
    // a message held from the round before is now one link short: wrong_round
    for (auto& m : *held)
      out.push_back({static_cast<node_id>(rng->uniform_int(0, w.cfg.n - 1)), m});
    held->clear();
    for (const auto& s : in) {
      bool signed_already = false;
      for (auto& l : s.msg.chain)
        signed_already = signed_already || l.signer == s.to;
      if (signed_already || rng->bernoulli(0.3))
        continue; // dropped
      auto m = ds_extend(s.msg, s.to, w.keys[s.to]);
      if (rng->bernoulli(0.2)) {
        held->push_back(m);
        continue;
      }
      for (node_id i = 0; i < w.cfg.n; ++i)
        if (rng->bernoulli(0.5))
          out.push_back({i, m});
    }
    (void)round;
    return out;
  };
}

/// A Byzantine sender (and its Byzantine friends) that sends random values
/// from three, with chains of Byzantine signatures of random lengths, to
/// random nodes in random rounds, plus the flaky relaying above.
adversary_fn chaotic_sender(std::uint64_t seed) {
  auto rng = std::make_shared<random_stream>(seed);
  auto relay = flaky_relayers(seed ^ 0x5eed);
  return [rng, relay](world& w, std::uint32_t round, const std::vector<ds_send>& in) {
    auto out = relay(w, round, in);
    const std::vector<std::string> values{value_a, value_b, "value C"};
    std::vector<node_id> others;
    for (node_id b : w.byzantine)
      if (b != w.cfg.sender)
        others.push_back(b);
    const int sends = static_cast<int>(rng->uniform_int(0, 3));
    for (int k = 0; k < sends; ++k) {
      std::vector<node_id> signers{w.cfg.sender};
      const auto extra = rng->uniform_int(0, static_cast<std::int64_t>(others.size()));
      for (std::int64_t j = 0; j < extra; ++j)
        signers.push_back(others[static_cast<std::size_t>(j)]);
      const auto& v = values[static_cast<std::size_t>(rng->uniform_int(0, 2))];
      const auto m = w.byzantine_chain(v, signers);
      for (node_id i = 0; i < w.cfg.n; ++i)
        if (rng->bernoulli(0.5))
          out.push_back({i, m});
    }
    return out;
  };
}

/// Round 0: the Byzantine sender sends A to the honest nodes in `to_a`, B to
/// the others; its friends stay silent.
adversary_fn equivocating_sender(std::set<node_id> to_a) {
  return [to_a](world& w, std::uint32_t round, const std::vector<ds_send>&) {
    std::vector<ds_send> out;
    if (round != 0)
      return out;
    const auto a = w.byzantine_chain(value_a, {w.cfg.sender});
    const auto b = w.byzantine_chain(value_b, {w.cfg.sender});
    for (const auto& [id, node] : w.honest)
      out.push_back({id, to_a.count(id) ? a : b});
    return out;
  };
}

bool all_equal(const std::set<std::string>& outputs) {
  return outputs.size() == 1;
}

} // namespace

// -- the chain check --

TEST_CASE("ds_check accepts a well-formed chain and names what is wrong with others",
          "[dolev_strong]") {
  world w(4, 2, 0, {}, 1);
  auto m = ds_make_initial(w.cfg, value_a, w.keys[0]);
  CHECK(ds_check(w.cfg, m, 1) == ds_verdict::accepted);
  CHECK(ds_check(w.cfg, m, 2) == ds_verdict::wrong_round);
  CHECK(ds_check(w.cfg, m, 0) == ds_verdict::wrong_round);
  auto m2 = ds_extend(m, 2, w.keys[2]);
  CHECK(ds_check(w.cfg, m2, 2) == ds_verdict::accepted);
  CHECK(ds_check(w.cfg, ds_extend(m2, 3, w.keys[3]), 3) == ds_verdict::accepted);
  CHECK(ds_check(w.cfg, ds_extend(m2, 2, w.keys[2]), 3) == ds_verdict::duplicate_signer);
  CHECK(ds_check(w.cfg, ds_extend(m2, 9, w.keys[1]), 3) == ds_verdict::unknown_signer);

  auto not_sender = ds_extend(ds_message{w.cfg.instance, 0, value_a, {}}, 1, w.keys[1]);
  CHECK(ds_check(w.cfg, not_sender, 1) == ds_verdict::not_from_sender);

  auto other_instance = m;
  other_instance.instance += 1;
  CHECK(ds_check(w.cfg, other_instance, 1) == ds_verdict::wrong_instance);
  CHECK(to_string(ds_verdict::bad_signature) == "bad_signature");
}

TEST_CASE("forged signatures are never accepted", "[dolev_strong]") {
  world w(4, 2, 0, {3}, 2);
  const auto good = ds_make_initial(w.cfg, value_a, w.keys[0]);

  SECTION("another value under the sender's signature") {
    auto m = good;
    m.value = value_b;
    CHECK(ds_check(w.cfg, m, 1) == ds_verdict::bad_signature);
  }
  SECTION("random bytes as the sender's signature") {
    auto m = good;
    random_stream rng(7);
    for (auto& b : m.chain[0].sig.bytes)
      b = static_cast<std::uint8_t>(rng());
    CHECK(ds_check(w.cfg, m, 1) == ds_verdict::bad_signature);
  }
  SECTION("a Byzantine node signs with its own key in the sender's name") {
    ds_message m{w.cfg.instance, 0, value_b, {}};
    m.chain.push_back({0, {}});
    m.chain[0].sig = w.keys[3].sign(ds_signed_bytes(m, 0));
    CHECK(ds_check(w.cfg, m, 1) == ds_verdict::bad_signature);
  }
  SECTION("a relay signature moved onto another chain") {
    const auto relayed = ds_extend(good, 1, w.keys[1]);
    auto m = ds_extend(ds_make_initial(w.cfg, value_b, w.keys[0]), 1, w.keys[3]);
    m.chain[1] = relayed.chain[1];
    CHECK(ds_check(w.cfg, m, 2) == ds_verdict::bad_signature);
  }
  SECTION("a signature replayed from another broadcast instance") {
    auto cfg2 = w.cfg;
    cfg2.instance += 1;
    auto m = good;
    m.instance = cfg2.instance;
    CHECK(ds_check(cfg2, m, 1) == ds_verdict::bad_signature);
  }
}

TEST_CASE("forged chains spread by Byzantine nodes change no honest output, over many "
          "seeds",
          "[dolev_strong]") {
  for (std::uint64_t seed = 1; seed <= 50; ++seed) {
    auto w = random_world(seed, {.min_n = 3, .min_f = 1});
    w.adversary = [](world& w, std::uint32_t round, const std::vector<ds_send>&) {
      // value B "from the honest sender": signed by a Byzantine key, with
      // Byzantine relay signatures after it, of the length the round needs
      std::vector<ds_send> out;
      ds_message m{w.cfg.instance, w.cfg.sender, value_b, {}};
      const node_id forger = *w.byzantine.begin();
      m.chain.push_back(
          {w.cfg.sender,
           w.keys[forger].sign(ds_signed_bytes(
               ds_message{m.instance, m.sender, m.value, {{w.cfg.sender, {}}}}, 0))});
      for (node_id b : w.byzantine) {
        if (m.chain.size() == round + 1)
          break;
        m = ds_extend(std::move(m), b, w.keys[b]);
      }
      for (const auto& [id, node] : w.honest)
        out.push_back({id, m});
      return out;
    };
    w.run(value_a);
    INFO("seed " << seed << " n " << w.cfg.n << " f " << w.cfg.f);
    CHECK(w.honest_outputs() == std::set<std::string>{value_a});
    for (const auto& [id, node] : w.honest)
      CHECK(node.extracted() == std::set<std::string>{value_a});
    CHECK(w.verdicts[ds_verdict::bad_signature] > 0);
  }
}

TEST_CASE("a value accepted in round r <= f is relayed once to every other node, one "
          "accepted in the last round is not relayed",
          "[dolev_strong]") {
  world w(4, 1, 0, {}, 4);
  auto& node = w.honest.at(2);
  const auto m = ds_make_initial(w.cfg, value_a, w.keys[0]);
  auto first = node.receive(m, 1);
  CHECK(first.verdict == ds_verdict::accepted);
  REQUIRE(first.sends.size() == 3);
  for (const auto& s : first.sends) {
    CHECK(s.to != 2);
    CHECK(s.msg.chain.size() == 2);
    CHECK(ds_check(w.cfg, s.msg, 2) == ds_verdict::accepted);
  }
  CHECK(node.receive(m, 1).verdict == ds_verdict::redundant);

  const auto late = ds_extend(ds_make_initial(w.cfg, value_b, w.keys[0]), 1, w.keys[1]);
  auto last = node.receive(late, 2);
  CHECK(last.verdict == ds_verdict::accepted);
  CHECK(last.sends.empty());
  CHECK(node.output() == bottom);
}

// -- honest runs --

TEST_CASE("an honest sender's value is output by every node when all are honest",
          "[dolev_strong]") {
  for (std::uint32_t n : {1u, 2u, 4u, 7u}) {
    world w(n, n - 1, n - 1, {}, n);
    w.run(value_a);
    INFO("n " << n);
    CHECK(w.honest_outputs() == std::set<std::string>{value_a});
    for (const auto& [id, node] : w.honest)
      CHECK(node.decided_value());
  }
}

TEST_CASE("validity and agreement with an honest sender and Byzantine relayers that "
          "drop, delay and relay selectively, over many seeds",
          "[dolev_strong]") {
  for (std::uint64_t seed = 1; seed <= 150; ++seed) {
    auto w = random_world(seed, {.random_sender = true});
    w.adversary = flaky_relayers(seed);
    w.run(value_a);
    INFO("seed " << seed << " n " << w.cfg.n << " f " << w.cfg.f);
    CHECK(w.honest_outputs() == std::set<std::string>{value_a});
  }
}

// -- Byzantine senders --

TEST_CASE("an equivocating sender gives the default on every honest node",
          "[dolev_strong]") {
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    auto w = random_world(
        seed, {.min_n = 3, .min_f = 1, .f_slack = 1, .sender_byzantine = true});
    random_stream rng(seed);
    // both values reach at least one honest node each
    std::vector<node_id> hs;
    for (const auto& [id, node] : w.honest)
      hs.push_back(id);
    std::set<node_id> to_a{hs.front()};
    for (std::size_t i = 1; i + 1 < hs.size(); ++i)
      if (rng.bernoulli(0.5))
        to_a.insert(hs[i]);
    w.adversary = equivocating_sender(to_a);
    w.run("ignored");
    INFO("seed " << seed << " n " << w.cfg.n << " f " << w.cfg.f);
    CHECK(w.honest_outputs() == std::set<std::string>{bottom});
    for (const auto& [id, node] : w.honest)
      CHECK(node.extracted() == std::set<std::string>{value_a, value_b});
  }
}

TEST_CASE("a late sender is never accepted: every honest node outputs the default",
          "[dolev_strong]") {
  world w(4, 1, 0, {0}, 3);
  w.adversary = [](world& w, std::uint32_t round, const std::vector<ds_send>&) {
    std::vector<ds_send> out;
    if (round == w.cfg.f) // delivered in the last round with one signature
      for (const auto& [id, node] : w.honest)
        out.push_back({id, w.byzantine_chain(value_a, {w.cfg.sender})});
    return out;
  };
  w.run("ignored");
  CHECK(w.honest_outputs() == std::set<std::string>{bottom});
  CHECK(w.verdicts[ds_verdict::wrong_round] == 3);
  CHECK(w.verdicts[ds_verdict::accepted] == 0);
}

TEST_CASE("a coalition of f that reveals a second value to one honest node in round f "
          "still ends in agreement on the default",
          "[dolev_strong]") {
  for (std::uint32_t n : {4u, 5u, 7u}) {
    const std::uint32_t f = n - 2;
    std::set<node_id> byz;
    for (node_id i = 0; i < f; ++i)
      byz.insert(i);
    world w(n, f, 0, byz, n);
    w.adversary = [](world& w, std::uint32_t round, const std::vector<ds_send>&) {
      std::vector<ds_send> out;
      if (round == 0) // A to everyone, as an honest sender would
        for (const auto& [id, node] : w.honest)
          out.push_back({id, w.byzantine_chain(value_a, {w.cfg.sender})});
      if (round + 1 == w.cfg.f) { // B with all f signatures, to one honest node
        std::vector<node_id> signers(w.byzantine.begin(), w.byzantine.end());
        out.push_back({w.honest.begin()->first, w.byzantine_chain(value_b, signers)});
      }
      return out;
    };
    w.run("ignored");
    INFO("n " << n << " f " << f);
    CHECK(w.honest_outputs() == std::set<std::string>{bottom});
  }
}

TEST_CASE("agreement under a chaotic Byzantine sender and relayers, over many seeds",
          "[dolev_strong]") {
  int defaults = 0, values = 0;
  for (std::uint64_t seed = 1; seed <= 150; ++seed) {
    auto w = random_world(seed, {.min_f = 1, .sender_byzantine = true});
    w.adversary = chaotic_sender(seed);
    w.run("ignored");
    INFO("seed " << seed << " n " << w.cfg.n << " f " << w.cfg.f);
    const auto outputs = w.honest_outputs();
    CHECK(all_equal(outputs));
    (outputs.count(bottom) ? defaults : values) += 1;
    for (const auto& [id, node] : w.honest)
      CHECK(node.extracted().size() <= 2); // a node keeps (and relays) two values at most
  }
  // the adversary is not trivial: both outcomes occur
  CHECK(defaults > 0);
  CHECK(values > 0);
}

// -- the use case: a trading halt --

namespace {

/// A trading halt decision, as the value of a broadcast (canonical bytes).
struct trading_halt {
  bool halt = false;
  std::string reason;

  std::string encode() const {
    crypto::canonical_writer w("marketsim/trading-halt/v1");
    w.u8(halt ? 1 : 0).bytes(reason);
    return w.take();
  }
  static std::optional<trading_halt> decode(const std::string& bytes) {
    crypto::canonical_reader r(bytes, "marketsim/trading-halt/v1");
    trading_halt h{r.u8() == 1, r.bytes()};
    return r.ok() ? std::optional{h} : std::nullopt;
  }
};

} // namespace

TEST_CASE("a trading halt broadcast by an honest exchange reaches every honest "
          "validator; an equivocating one falls back to no halt",
          "[dolev_strong][halt]") {
  const trading_halt no_halt{false, "no decision"};
  const trading_halt halt{true, "AAPL moved 12% in 1 s: circuit breaker"};

  world honest_run(7, 2, 0, {3, 5}, 11, no_halt.encode());
  honest_run.adversary = flaky_relayers(11);
  honest_run.run(halt.encode());
  for (const auto& [id, node] : honest_run.honest) {
    const auto decided = trading_halt::decode(node.output());
    REQUIRE(decided);
    CHECK(decided->halt);
    CHECK(decided->reason == halt.reason);
  }

  // The default ("no halt") is part of the config every node holds.
  world lying(7, 2, 0, {0, 4}, 12, no_halt.encode());
  lying.adversary = [halt](world& w, std::uint32_t round, const std::vector<ds_send>&) {
    std::vector<ds_send> out;
    if (round == 0)
      for (const auto& [id, node] : w.honest) {
        const trading_halt h{id % 2 == 0, halt.reason};
        out.push_back({id, w.byzantine_chain(h.encode(), {0})});
      }
    return out;
  };
  lying.run("ignored");
  for (const auto& [id, node] : lying.honest) {
    const auto decided = trading_halt::decode(node.output());
    REQUIRE(decided);
    CHECK_FALSE(decided->halt);
    CHECK(decided->reason == "no decision");
  }
}

// -- benchmark (hidden: run with "[.bench]") --

TEST_CASE("dolev-strong rounds for n = 4, 7, 16: wall time and verifications",
          "[.bench][dolev_strong]") {
  for (std::uint32_t n : {4u, 7u, 16u}) {
    for (std::uint32_t f : {(n - 1) / 3, n - 1}) {
      for (bool equivocate : {false, true}) {
        constexpr int runs = 200;
        // keys and nodes are built before the clock starts: only the
        // broadcast (signing, relaying, verifying, deciding) is timed
        std::vector<world> worlds;
        for (int k = 0; k < runs; ++k) {
          worlds.emplace_back(n, f, 0,
                              equivocate ? std::set<node_id>{0} : std::set<node_id>{},
                              static_cast<std::uint64_t>(k + 1));
          if (equivocate) {
            std::set<node_id> to_a;
            for (node_id i = 1; i < n; i += 2)
              to_a.insert(i);
            worlds.back().adversary = equivocating_sender(to_a);
          }
        }
        std::uint64_t verifications = 0, messages = 0;
        const auto t0 = std::chrono::steady_clock::now();
        for (auto& w : worlds)
          w.run(value_a);
        const auto t1 = std::chrono::steady_clock::now();
        for (auto& w : worlds) {
          verifications += w.verifications();
          messages += w.messages;
          REQUIRE(all_equal(w.honest_outputs()));
        }
        const double ms =
            std::chrono::duration<double, std::milli>(t1 - t0).count() / runs;
        std::printf("n=%2u f=%2u rounds=%2u %-11s %8.3f ms/broadcast  %6.1f verifications"
                    "  %7.1f messages\n",
                    n, f, f + 1, equivocate ? "equivocate" : "honest", ms,
                    static_cast<double>(verifications) / runs,
                    static_cast<double>(messages) / runs);
      }
    }
  }
}
