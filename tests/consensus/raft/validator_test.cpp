/// Raft validator actors on the deterministic scheduler (virtual time): a
/// replicated exchange shard whose replicas agree, a leader crash with
/// failover and a restart from disk, snapshots for a far-behind validator,
/// and validators talking over the network layer.

#include "actors/consensus_messages.hpp"
#include "actors/runtime.hpp"
#include "consensus/raft/client.hpp"
#include "consensus/raft/exchange_command.hpp"
#include "consensus/raft/validator.hpp"
#include "network/endpoints.hpp"
#include "network/generators.hpp"
#include "network/network_actor.hpp"

#include <caf/all.hpp>
#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace marketsim;
using namespace marketsim::consensus::raft;
using actors::raft_status;
using actors::raft_submit;
using actors::raft_submit_reply;
using actors::raft_submit_status;
using namespace std::chrono_literals;

constexpr std::int64_t ms = 1'000'000;

namespace fs = std::filesystem;

struct temp_dir {
  fs::path path;
  explicit temp_dir(const std::string& tag) {
    path = fs::temp_directory_path() /
           ("validator_test_" + tag + "_" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

/// What every replica applied, in order: (index, term, data), and what the
/// user got back.
struct observed {
  std::map<node_id, std::vector<log_entry>> applied;
  std::map<node_id, std::uint64_t> trades;
  std::map<std::uint64_t, raft_submit_reply> replies; ///< by user request id
  std::size_t reply_messages = 0; ///< messages that carried replies
  std::map<node_id, raft_status> status;
  actors::raft_client_stats client;
};

/// A user of the client: submits what it is told to, records the replies;
/// records the raft_status answers it asked for.
caf::behavior user(caf::event_based_actor*, std::shared_ptr<observed> obs) {
  return {
      [obs](const raft_submit_reply& r) {
        ++obs->reply_messages;
        obs->replies[r.request_id] = r;
      },
      [obs](const actors::raft_submit_reply_batch& b) {
        ++obs->reply_messages;
        for (const auto& r : b.replies)
          obs->replies[r.request_id] = r;
      },
      [obs](const raft_status& s) { obs->status[s.id] = s; },
      [obs](const actors::raft_client_stats& s) { obs->client = s; },
  };
}

std::string order(std::uint64_t id, market::side s, market::price_t price) {
  market::order_request o;
  o.id = id;
  o.owner = 1 + id % 7;
  o.symbol = 0;
  o.side = s;
  o.type = market::order_type::limit;
  o.tif = market::time_in_force::gtc;
  o.price = price;
  o.qty = 1 + static_cast<market::qty_t>(id % 5);
  return encode(exchange_command{o});
}

/// Order k of a stream that trades often: buys and sells around 1000.
std::string order_k(std::uint64_t k) {
  const auto s = k % 2 == 0 ? market::side::buy : market::side::sell;
  const auto offset = static_cast<market::price_t>(k % 7) - 3;
  return order(k, s, 1000 + (s == market::side::buy ? offset : -offset));
}

struct cluster {
  actors::runtime rt;
  std::shared_ptr<observed> obs = std::make_shared<observed>();
  std::vector<node_id> ids{1, 2, 3};
  std::map<node_id, caf::actor> validators;
  std::map<node_id, std::string> dirs; ///< "" = in memory
  caf::actor user_actor;
  caf::actor client;
  raft_params raft;
  std::uint64_t snapshot_every = 0;
  /// With a network: how each validator reaches each other one.
  network::endpoints* net = nullptr;
  std::map<node_id, network::site_id> site;

  cluster() {
    user_actor = rt.system().spawn(user, obs);
  }

  ~cluster() {
    std::vector<caf::actor> all{user_actor, client};
    for (auto& [id, v] : validators)
      all.push_back(v);
    if (net)
      for (auto& p : net->proxies())
        all.push_back(p);
    rt.shutdown(all);
  }

  /// Every validator keeps its state in a directory of `tmp`.
  void on_disk(const temp_dir& tmp) {
    for (auto id : ids)
      dirs[id] = (tmp.path / fmt::format("v{}", id)).string();
  }

  caf::actor spawn(node_id id, bool founding = true) {
    validator_params p;
    p.id = id;
    if (founding)
      p.voters.voters = ids; // a joining validator waits for the leader's config
    p.raft = raft;
    p.seed = 1000 + id;
    p.data_dir = dirs[id];
    p.snapshot_every = snapshot_every;
    p.machine = exchange_machine({"ACME"});
    auto o = obs;
    p.on_apply = [o](node_id v, const log_entry& e, const state_machine::result& r) {
      o->applied[v].push_back(e);
      o->trades[v] += r.trades;
    };
    auto v = spawn_validator(rt.system(), std::move(p));
    validators[id] = v;
    if (net)
      net->place(v, site.at(id));
    return v;
  }

  /// Handle through which validator `from` reaches `to` (a network proxy or
  /// the actor itself).
  caf::actor handle(node_id from, node_id to) {
    if (!net)
      return validators.at(to);
    return net->reach(validators.at(to), site.at(from));
  }

  void introduce() {
    for (auto& [id, v] : validators) {
      actors::raft_peers peers;
      for (auto& [other, w] : validators) {
        peers.ids.push_back(other);
        peers.handles.push_back(handle(id, other));
      }
      caf::anon_send(v, std::move(peers));
    }
    if (client) {
      actors::raft_peers all;
      for (auto& [id, v] : validators) {
        all.ids.push_back(id);
        all.handles.push_back(v);
      }
      caf::anon_send(client, std::move(all));
    }
  }

  void start(std::uint32_t max_batch = 1) {
    for (auto id : ids)
      spawn(id);
    introduce();
    client_params cp;
    cp.ids = ids;
    for (auto id : ids)
      cp.handles.push_back(validators.at(id));
    cp.retry_after = 300ms;
    cp.max_batch = max_batch;
    client = spawn_raft_client(rt.system(), std::move(cp));
  }

  void submit(std::uint64_t request_id, std::string command) {
    caf::send_as(user_actor, client, raft_submit{request_id, std::move(command)});
  }

  void crash(node_id id) {
    caf::anon_send_exit(validators.at(id), caf::exit_reason::kill);
    rt.drain();
  }

  /// Asks every live validator for its status and waits for the answers.
  void poll_status() {
    obs->status.clear();
    for (auto& [id, v] : validators)
      caf::send_as(user_actor, v, actors::raft_status_request{});
    rt.drain();
  }

  /// start(), then one second for the election; exactly one leader.
  std::vector<node_id> start_and_elect(std::uint32_t max_batch = 1) {
    start(max_batch);
    rt.run_for(1000 * ms);
    auto found = leaders();
    REQUIRE(found.size() == 1);
    return found;
  }

  std::vector<node_id> leaders() {
    poll_status();
    std::vector<node_id> out;
    for (auto& [id, s] : obs->status)
      if (s.role == static_cast<std::uint8_t>(node_role::leader))
        out.push_back(id);
    return out;
  }
};

/// Every validator that answered the last status poll has applied as far as
/// `ref` and has its state hash.
void check_same_state(const observed& obs, node_id ref_id) {
  const auto& ref = obs.status.at(ref_id);
  for (auto& [id, st] : obs.status) {
    INFO("validator " << id);
    CHECK(st.applied_index == ref.applied_index);
    CHECK(st.state_hash == ref.state_hash);
  }
}

/// The replicas' logs agree where they overlap (state machine safety), and
/// every acknowledged command is in every listed replica's applied log.
void check_agreement(const observed& obs, const std::vector<node_id>& replicas,
                     const std::map<std::uint64_t, std::string>& sent) {
  std::map<index_t, log_entry> reference;
  for (auto id : replicas)
    for (const auto& e : obs.applied.at(id)) {
      auto [it, fresh] = reference.emplace(e.index, e);
      INFO("validator " << id << " index " << e.index);
      CHECK(it->second == e);
    }
  // Exactly once: no command is applied twice (a resend that committed again
  // reaches the machine as a noop).
  std::map<std::string, index_t> applied_at;
  for (auto& [i, e] : reference) {
    if (e.kind != entry_kind::command)
      continue;
    auto [it, fresh] = applied_at.emplace(e.data, i);
    INFO("command at index " << i << " was applied at " << it->second << " already");
    CHECK(fresh);
  }
  for (const auto& [id, reply] : obs.replies) {
    if (reply.status != raft_submit_status::committed || sent.count(id) == 0)
      continue; // membership changes are not commands
    INFO("acknowledged request " << id);
    REQUIRE(reference.count(reply.index) == 1);
    CHECK(reference.at(reply.index).data == sent.at(id));
    for (auto v : replicas) {
      INFO("replica " << v);
      const auto& log = obs.applied.at(v);
      const bool has = std::any_of(log.begin(), log.end(),
                                   [&](const log_entry& e) { return e.index == reply.index; });
      CHECK(has);
    }
  }
}

} // namespace

TEST_CASE("three validators elect one leader and replicate an order stream; every replica "
          "has the same tape",
          "[raft][validator]") {
  cluster c;
  auto leaders = c.start_and_elect();

  std::map<std::uint64_t, std::string> sent;
  for (std::uint64_t k = 1; k <= 200; ++k) {
    sent[k] = order_k(k);
    c.submit(k, sent[k]);
    c.rt.run_for(2 * ms);
  }
  c.rt.run_for(1000 * ms);

  REQUIRE(c.obs->replies.size() == 200);
  for (auto& [id, r] : c.obs->replies) {
    INFO("request " << id << ": " << actors::to_string(r.status) << " " << r.reason);
    CHECK(r.status == raft_submit_status::committed);
    CHECK(r.result.rfind("events=", 0) == 0);
  }
  c.poll_status();
  REQUIRE(c.obs->status.size() == 3);
  const auto& first = c.obs->status.begin()->second;
  CHECK(first.applied_index >= 201); // the leader's noop and 200 orders
  CHECK(first.state_hash.size() == 64);
  for (auto& [id, s] : c.obs->status) {
    INFO("validator " << id);
    CHECK(s.applied_index == first.applied_index);
    CHECK(s.state_hash == first.state_hash);
    CHECK(s.leader == leaders.front());
  }
  CHECK(c.obs->trades.at(1) > 50);
  CHECK(c.obs->trades.at(1) == c.obs->trades.at(2));
  CHECK(c.obs->trades.at(1) == c.obs->trades.at(3));
  check_agreement(*c.obs, {1, 2, 3}, sent);
}

TEST_CASE("a validator rejects a message it does not understand and keeps working",
          "[raft][validator]") {
  cluster c;
  auto leaders = c.start_and_elect();
  auto errors = std::make_shared<int>(0);
  // A plain string and an order request of the market: neither is Raft's.
  auto v = c.validators.at(leaders.front());
  auto asker = c.rt.system().spawn([v, errors](caf::event_based_actor* self) {
    self->request(v, caf::infinite, std::string{"hello"})
        .then([](const std::string&) {}, [errors](caf::error&) { ++*errors; });
    self->request(v, caf::infinite, market::order_request{})
        .then([](const market::order_request&) {}, [errors](caf::error&) { ++*errors; });
  });
  c.rt.drain();
  CHECK(*errors == 2);
  caf::send_as(c.user_actor, v, raft_submit{1, order_k(1)});
  c.rt.run_for(100 * ms);
  REQUIRE(c.obs->replies.count(1) == 1);
  CHECK(c.obs->replies.at(1).status == raft_submit_status::committed);
  c.rt.shutdown({asker});
}

TEST_CASE("a follower redirects a client to the leader, which answers only after commit",
          "[raft][validator]") {
  cluster c;
  auto leaders = c.start_and_elect();
  node_id follower = leaders.front() == 1 ? 2 : 1;
  caf::send_as(c.user_actor, c.validators.at(follower), raft_submit{7, order_k(7)});
  c.rt.drain();
  REQUIRE(c.obs->replies.count(7) == 1);
  CHECK(c.obs->replies.at(7).status == raft_submit_status::redirect);
  CHECK(c.obs->replies.at(7).leader_hint == leaders.front());

  // Straight to the leader: no answer until a majority has the entry, which
  // takes the messages' trips (the same job queue) but no timer.
  c.obs->replies.clear();
  caf::send_as(c.user_actor, c.validators.at(leaders.front()), raft_submit{8, order_k(8)});
  c.rt.drain();
  REQUIRE(c.obs->replies.count(8) == 1);
  CHECK(c.obs->replies.at(8).status == raft_submit_status::committed);
}

TEST_CASE("a command resent after its answer was lost is applied once, and the resend gets "
          "the first answer, also after a restart from a snapshot",
          "[raft][validator]") {
  temp_dir tmp{"sessions"};
  cluster c;
  c.on_disk(tmp);
  c.snapshot_every = 3;
  auto leaders = c.start_and_elect();
  auto leader = c.validators.at(leaders.front());
  const std::uint64_t session = 42;
  // Request 1 of session 42, then the same again as if its answer was lost.
  caf::send_as(c.user_actor, leader, raft_submit{1, order_k(1), session, 1});
  c.rt.drain();
  REQUIRE(c.obs->replies.count(1) == 1);
  const auto first = c.obs->replies.at(1);
  REQUIRE(first.status == raft_submit_status::committed);
  c.obs->replies.clear();
  caf::send_as(c.user_actor, leader, raft_submit{1, order_k(1), session, 1});
  c.rt.drain();
  REQUIRE(c.obs->replies.count(1) == 1);
  CHECK(c.obs->replies.at(1) == first); // same index, term and output
  for (auto& [id, log] : c.obs->applied) {
    INFO("validator " << id);
    CHECK(std::count_if(log.begin(), log.end(),
                        [&](const log_entry& e) { return e.data == order_k(1); }) == 1);
  }

  // More commands, so every replica snapshots (every 3 entries) with the
  // session in it; then every validator restarts from its directory.
  for (std::uint64_t k = 2; k <= 7; ++k)
    caf::send_as(c.user_actor, leader, raft_submit{k, order_k(k), session, 1});
  c.rt.drain();
  c.poll_status();
  for (auto& [id, st] : c.obs->status) {
    INFO("validator " << id);
    CHECK(st.snapshot_index >= 3);
  }
  for (auto id : c.ids)
    c.crash(id);
  c.validators.clear();
  c.obs->applied.clear();
  for (auto id : c.ids)
    c.spawn(id);
  c.introduce();
  c.rt.run_for(1000 * ms);
  leaders = c.leaders();
  REQUIRE(leaders.size() == 1);
  c.obs->replies.clear();
  caf::send_as(c.user_actor, c.validators.at(leaders.front()),
               raft_submit{1, order_k(1), session, 1});
  c.rt.drain();
  REQUIRE(c.obs->replies.count(1) == 1);
  CHECK(c.obs->replies.at(1).status == raft_submit_status::committed);
  CHECK(c.obs->replies.at(1).index == first.index);
  for (auto& [id, log] : c.obs->applied) {
    INFO("validator " << id << " after the restart");
    CHECK(std::none_of(log.begin(), log.end(),
                       [&](const log_entry& e) { return e.data == order_k(1); }));
  }
  c.rt.run_for(200 * ms); // followers learn the commit index from a heartbeat
  c.poll_status();
  check_same_state(*c.obs, leaders.front());
}

TEST_CASE("the answers to a batch of commands travel together, in one message per step",
          "[raft][validator]") {
  cluster c;
  auto leaders = c.start_and_elect();
  node_id follower = leaders.front() == 1 ? 2 : 1;
  auto batch = [](std::uint64_t first) {
    actors::raft_submit_batch b;
    for (std::uint64_t k = first; k < first + 5; ++k)
      b.commands.push_back({k, order_k(k)});
    return b;
  };
  // A follower refuses the five at once: one message, five redirects.
  caf::send_as(c.user_actor, c.validators.at(follower), batch(10));
  c.rt.drain();
  CHECK(c.obs->reply_messages == 1);
  REQUIRE(c.obs->replies.size() == 5);
  for (const auto& [id, r] : c.obs->replies) {
    CHECK(r.status == raft_submit_status::redirect);
    CHECK(r.leader_hint == leaders.front());
  }

  // The leader appends them together, so they commit in one step: one
  // message with five commits, at consecutive indices.
  c.obs->replies.clear();
  c.obs->reply_messages = 0;
  caf::send_as(c.user_actor, c.validators.at(leaders.front()), batch(20));
  c.rt.drain();
  CHECK(c.obs->reply_messages == 1);
  REQUIRE(c.obs->replies.size() == 5);
  for (std::uint64_t k = 20; k < 25; ++k) {
    CHECK(c.obs->replies.at(k).status == raft_submit_status::committed);
    CHECK(c.obs->replies.at(k).index == c.obs->replies.at(20).index + (k - 20));
  }
}

TEST_CASE("the leader crashes: a new leader within two election timeouts, no acknowledged "
          "order lost, and the crashed validator restarts from disk and catches up",
          "[raft][validator]") {
  temp_dir tmp{"crash"};
  cluster c;
  c.on_disk(tmp);
  c.start();
  c.rt.run_for(1000 * ms);
  auto leaders = c.leaders();
  REQUIRE(leaders.size() == 1);
  const node_id old_leader = leaders.front();

  std::map<std::uint64_t, std::string> sent;
  std::uint64_t k = 0;
  auto stream = [&](std::int64_t for_ns) {
    for (std::int64_t t = 0; t < for_ns; t += 5 * ms) {
      ++k;
      sent[k] = order_k(k);
      c.submit(k, sent[k]);
      c.rt.run_for(5 * ms);
    }
  };
  stream(500 * ms);
  const auto acked_before = c.obs->replies.size();
  CHECK(acked_before > 50);

  const auto crash_at = c.rt.now();
  c.crash(old_leader);
  c.validators.erase(old_leader);
  stream(1000 * ms);

  leaders = c.leaders();
  REQUIRE(leaders.size() == 1);
  CHECK(leaders.front() != old_leader);
  const auto& s = c.obs->status.at(leaders.front());
  const auto start_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            c.rt.start_time().time_since_epoch())
                            .count();
  const auto failover = s.became_leader_ns - start_ns - crash_at;
  INFO("failover " << failover / ms << " ms");
  CHECK(failover > 0);
  CHECK(failover < 2 * c.raft.election_timeout_max);

  // The crashed validator comes back from its directory.
  c.obs->applied.erase(old_leader);
  c.spawn(old_leader);
  c.introduce();
  stream(500 * ms);
  c.rt.run_for(2000 * ms);

  for (auto& [id, r] : c.obs->replies) {
    INFO("request " << id << " " << actors::to_string(r.status) << " " << r.reason);
    CHECK(r.status == raft_submit_status::committed);
  }
  caf::send_as(c.user_actor, c.client, actors::raft_client_stats_request{});
  c.rt.drain();
  INFO("client: requests " << c.obs->client.requests << " committed " << c.obs->client.committed
       << " sends " << c.obs->client.sends << " redirects " << c.obs->client.redirects
       << " timeouts " << c.obs->client.timeouts << " lost " << c.obs->client.lost);
  for (auto& [id, cmd] : sent) {
    INFO("request " << id << " has an answer");
    CHECK(c.obs->replies.count(id) == 1);
  }
  c.poll_status();
  REQUIRE(c.obs->status.size() == 3);
  check_same_state(*c.obs, leaders.front());
  check_agreement(*c.obs, {1, 2, 3}, sent);
}

TEST_CASE("a validator that was away while the others compacted their logs gets a snapshot "
          "and reaches the same state",
          "[raft][validator]") {
  cluster c;
  c.snapshot_every = 20;
  c.start(8);
  c.rt.run_for(1000 * ms);
  auto leaders = c.leaders();
  REQUIRE(leaders.size() == 1);
  const node_id away = leaders.front() == 3 ? 2 : 3;
  c.crash(away);
  c.validators.erase(away);

  std::map<std::uint64_t, std::string> sent;
  for (std::uint64_t k = 1; k <= 150; ++k) {
    sent[k] = order_k(k);
    c.submit(k, sent[k]);
    c.rt.run_for(1 * ms);
  }
  c.rt.run_for(500 * ms);
  c.poll_status();
  CHECK(c.obs->status.at(leaders.front()).snapshot_index > 100);

  // Back with an empty disk (in memory): it can only catch up by snapshot.
  c.obs->applied.erase(away);
  c.spawn(away);
  c.introduce();
  c.rt.run_for(2000 * ms);
  c.poll_status();
  REQUIRE(c.obs->status.size() == 3);
  const auto& ref = c.obs->status.at(leaders.front());
  const auto& back = c.obs->status.at(away);
  CHECK(back.snapshot_index > 0);
  CHECK(back.applied_index == ref.applied_index);
  CHECK(back.state_hash == ref.state_hash);
  CHECK(c.obs->replies.size() == 150);
}

TEST_CASE("validators over the network layer: commits take the links' latency, a partitioned "
          "leader is replaced on the majority side, and healing reconciles every replica",
          "[raft][validator][network]") {
  // A triangle of sites, 10 ms per link.
  network::topology topo;
  const auto a = topo.add_site({"a"});
  const auto b = topo.add_site({"b"});
  const auto cc = topo.add_site({"c"});
  network::link_props lp;
  lp.latency_ns = 10 * ms;
  topo.connect(a, b, lp);
  topo.connect(b, cc, lp);
  topo.connect(a, cc, lp);

  cluster c;
  auto net = network::spawn_network(c.rt.system(), topo, {});
  network::endpoints ep{c.rt.system(), net};
  c.net = &ep;
  c.site = {{1, a}, {2, b}, {3, cc}};
  c.raft.election_timeout_min = 300 * ms;
  c.raft.election_timeout_max = 600 * ms;
  c.raft.heartbeat_interval = 100 * ms;
  c.start();
  ep.place(c.client, a);
  ep.place(c.user_actor, a);
  c.rt.run_for(3000 * ms);
  auto leaders = c.leaders();
  REQUIRE(leaders.size() == 1);
  const node_id leader = leaders.front();

  // A commit needs a round trip from the leader to one follower (20 ms),
  // plus the trip from the client's site to the leader and back.
  std::map<std::uint64_t, std::string> sent;
  sent[1] = order_k(1);
  caf::send_as(c.user_actor, c.validators.at(leader), raft_submit{1, sent[1]});
  c.rt.run_for(19 * ms);
  CHECK(c.obs->replies.count(1) == 0); // not before one leader-follower round trip
  c.rt.run_for(200 * ms);
  REQUIRE(c.obs->replies.count(1) == 1);
  CHECK(c.obs->replies.at(1).status == raft_submit_status::committed);

  // Cut the leader's site off from the other two.
  const auto lsite = c.site.at(leader);
  for (auto other : {a, b, cc})
    if (other != lsite) {
      caf::anon_send(net, actors::net_link_state{lsite, other, false});
      caf::anon_send(net, actors::net_link_state{other, lsite, false});
    }
  c.rt.run_for(3000 * ms);
  leaders = c.leaders();
  std::vector<node_id> majority_leaders;
  for (auto id : leaders)
    if (id != leader)
      majority_leaders.push_back(id);
  REQUIRE(majority_leaders.size() == 1);

  // The majority commits on; the old leader cannot.
  for (std::uint64_t k = 2; k <= 20; ++k) {
    sent[k] = order_k(k);
    caf::send_as(c.user_actor, c.validators.at(majority_leaders.front()), raft_submit{k, sent[k]});
  }
  c.rt.run_for(1000 * ms);
  for (std::uint64_t k = 2; k <= 20; ++k) {
    INFO("request " << k);
    REQUIRE(c.obs->replies.count(k) == 1);
    CHECK(c.obs->replies.at(k).status == raft_submit_status::committed);
  }

  // Heal: the old leader steps down and catches up.
  for (auto other : {a, b, cc})
    if (other != lsite) {
      caf::anon_send(net, actors::net_link_state{lsite, other, true});
      caf::anon_send(net, actors::net_link_state{other, lsite, true});
    }
  c.rt.run_for(3000 * ms);
  leaders = c.leaders();
  REQUIRE(leaders.size() == 1);
  check_same_state(*c.obs, leaders.front());
  check_agreement(*c.obs, {1, 2, 3}, sent);
  c.rt.shutdown({caf::actor_cast<caf::actor>(net)});
}

TEST_CASE("membership: a fourth validator joins and catches up, then the leader removes itself "
          "and the group goes on without it",
          "[raft][validator][membership]") {
  cluster c;
  auto leaders = c.start_and_elect();
  const node_id first_leader = leaders.front();

  std::map<std::uint64_t, std::string> sent;
  for (std::uint64_t k = 1; k <= 50; ++k) {
    sent[k] = order_k(k);
    c.submit(k, sent[k]);
  }
  c.rt.run_for(500 * ms);

  // Validator 4 starts with no configuration and is introduced to everyone.
  c.spawn(4, false);
  c.introduce();
  c.rt.run_for(300 * ms);
  c.poll_status();
  CHECK(c.obs->status.at(4).applied_index == 0); // not a member yet: nobody replicates to it

  // A follower redirects; the leader commits the change.
  const node_id follower = first_leader == 1 ? 2 : 1;
  caf::send_as(c.user_actor, c.validators.at(follower), actors::raft_membership{900, true, 4});
  c.rt.drain();
  REQUIRE(c.obs->replies.count(900) == 1);
  CHECK(c.obs->replies.at(900).status == raft_submit_status::redirect);
  CHECK(c.obs->replies.at(900).leader_hint == first_leader);
  caf::send_as(c.user_actor, c.validators.at(first_leader), actors::raft_membership{901, true, 4});
  c.rt.run_for(500 * ms);
  REQUIRE(c.obs->replies.count(901) == 1);
  CHECK(c.obs->replies.at(901).status == raft_submit_status::committed);

  // Adding it twice is refused with a reason.
  caf::send_as(c.user_actor, c.validators.at(first_leader), actors::raft_membership{902, true, 4});
  c.rt.run_for(100 * ms);
  REQUIRE(c.obs->replies.count(902) == 1);
  CHECK(c.obs->replies.at(902).status == raft_submit_status::rejected);
  CHECK_FALSE(c.obs->replies.at(902).reason.empty());

  for (std::uint64_t k = 51; k <= 100; ++k) {
    sent[k] = order_k(k);
    c.submit(k, sent[k]);
  }
  c.rt.run_for(1000 * ms);
  c.poll_status();
  check_same_state(*c.obs, first_leader);
  CHECK(c.obs->status.at(4).applied_index == c.obs->status.at(first_leader).applied_index);

  // The leader removes itself: it commits the change, hands over and steps down.
  caf::send_as(c.user_actor, c.validators.at(first_leader),
               actors::raft_membership{903, false, first_leader});
  c.rt.run_for(2000 * ms);
  REQUIRE(c.obs->replies.count(903) == 1);
  CHECK(c.obs->replies.at(903).status == raft_submit_status::committed);
  leaders = c.leaders();
  REQUIRE(leaders.size() == 1);
  CHECK(leaders.front() != first_leader);

  for (std::uint64_t k = 101; k <= 150; ++k) {
    sent[k] = order_k(k);
    c.submit(k, sent[k]);
  }
  c.rt.run_for(2000 * ms);
  for (std::uint64_t k = 1; k <= 150; ++k) {
    INFO("request " << k);
    REQUIRE(c.obs->replies.count(k) == 1);
    CHECK(c.obs->replies.at(k).status == raft_submit_status::committed);
  }
  // The three remaining members agree; the removed one stopped applying.
  c.poll_status();
  const auto& ref = c.obs->status.at(leaders.front());
  for (node_id id : {node_id{1}, node_id{2}, node_id{3}, node_id{4}}) {
    if (id == first_leader)
      continue;
    INFO("validator " << id);
    CHECK(c.obs->status.at(id).applied_index == ref.applied_index);
    CHECK(c.obs->status.at(id).state_hash == ref.state_hash);
  }
  std::vector<node_id> members;
  for (node_id id : {node_id{1}, node_id{2}, node_id{3}, node_id{4}})
    if (id != first_leader)
      members.push_back(id);
  check_agreement(*c.obs, members, sent);
}
