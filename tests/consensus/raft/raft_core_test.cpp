// The Raft core, one rule at a time. Node-level tests feed hand-made
// messages to one node; cluster-level tests run a few nodes on the simulated
// network (raft_sim.hpp) with the invariants checker after every step.

#include "consensus/raft/raft.hpp"
#include "consensus/raft/raft_invariants.hpp"
#include "raft_sim.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

using namespace marketsim::consensus::raft;
using sim::ms;

namespace {

raft_params test_params() {
  raft_params p;
  p.max_inflight = 4;
  return p;
}

log_entry cmd(term_t t, index_t i, std::string data = "x") {
  return log_entry{t, i, entry_kind::command, std::move(data)};
}

/// A node of the cluster {1, 2, 3} (or `voters`) restored with this log.
node make_node(node_id self, std::vector<log_entry> log, term_t term = 0,
               std::vector<node_id> voters = {1, 2, 3}, raft_params p = test_params()) {
  persistent_state st;
  st.state.term = term;
  st.log = std::move(log);
  return node(self, cluster_config{voters}, p, 42 + self, 0, std::move(st));
}

template <class T>
std::vector<T> sent(const output& out) {
  std::vector<T> v;
  for (const auto& m : out.sends)
    if (const T* x = std::get_if<T>(&m))
      v.push_back(*x);
  return v;
}

/// Drives `n` to leadership by hand: its timer fires, the others grant the
/// pre-vote and the vote. Returns the output of becoming leader.
output elect(node& n) {
  output out = n.tick(n.wake_at());
  REQUIRE(n.role() == node_role::pre_candidate);
  for (node_id v : n.config().voters)
    if (v != n.id() && n.role() == node_role::pre_candidate)
      out = n.step(vote_reply{n.term() + 1, v, n.id(), true, true}, n.wake_at());
  REQUIRE(n.role() == node_role::candidate);
  for (node_id v : n.config().voters)
    if (v != n.id() && n.role() == node_role::candidate)
      out = n.step(vote_reply{n.term(), v, n.id(), true, false}, 0);
  REQUIRE(n.role() == node_role::leader);
  return out;
}

std::vector<term_t> terms_of(const node& n) {
  std::vector<term_t> t;
  for (index_t i = n.snapshot_index() + 1; i <= n.last_index(); ++i)
    t.push_back(n.entry(i)->term);
  return t;
}

/// A 3- (or n-) node simulated cluster with a leader elected.
sim::cluster started_cluster(std::vector<node_id> founders = {1, 2, 3},
                             std::vector<node_id> joiners = {}, std::uint64_t seed = 7) {
  sim::cluster c(std::move(founders), std::move(joiners), test_params(), seed);
  REQUIRE(c.run_until([&] { return c.leader() != nullptr; }, 3000 * ms));
  return c;
}

/// Proposes `count` commands through the leader and waits until all commit.
void commit_commands(sim::cluster& c, int count, const std::string& prefix = "c") {
  const std::size_t before = c.acked().size();
  for (int i = 0; i < count; ++i) {
    node* l = c.leader();
    REQUIRE(l != nullptr);
    REQUIRE(c.propose(l->id(), prefix + std::to_string(i)).error == raft_error::ok);
  }
  REQUIRE(c.run_until([&] { return c.acked().size() == before + count; },
                      c.now() + 3000 * ms));
}

} // namespace

// -- elections ------------------------------------------------------------------

TEST_CASE("a follower whose timer fires asks for pre-votes without changing its term",
          "[raft][election]") {
  node n = make_node(1, {}, 5);
  output out = n.tick(n.wake_at());
  CHECK(n.role() == node_role::pre_candidate);
  CHECK(n.term() == 5);
  CHECK_FALSE(out.persist_state);
  auto reqs = sent<request_vote>(out);
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[0].pre_vote);
  CHECK(reqs[0].term == 6);
}

TEST_CASE("a majority of pre-votes starts a real election in the next term",
          "[raft][election]") {
  node n = make_node(1, {}, 5);
  n.tick(n.wake_at());
  output out = n.step(vote_reply{6, 2, 1, true, true}, n.wake_at());
  CHECK(n.role() == node_role::candidate);
  CHECK(n.term() == 6);
  REQUIRE(out.persist_state);
  CHECK(out.persist_state->voted_for == 1);
  auto reqs = sent<request_vote>(out);
  REQUIRE(reqs.size() == 2);
  CHECK_FALSE(reqs[0].pre_vote);
}

TEST_CASE("election timeouts are randomized between the minimum and the maximum",
          "[raft][election]") {
  std::vector<time_ns> deadlines;
  for (node_id id = 1; id <= 20; ++id) {
    node n = make_node(id, {}, 0, {1});
    deadlines.push_back(n.wake_at());
  }
  for (time_ns d : deadlines) {
    CHECK(d >= 150 * ms);
    CHECK(d <= 300 * ms);
  }
  std::sort(deadlines.begin(), deadlines.end());
  CHECK(std::unique(deadlines.begin(), deadlines.end()) - deadlines.begin() > 15);
}

TEST_CASE("a candidate with a shorter log is refused a vote", "[raft][election]") {
  node n = make_node(1, {cmd(1, 1), cmd(1, 2), cmd(2, 3)}, 2);
  output out = n.step(request_vote{3, 2, 1, 2, 2, false}, 0);
  auto r = sent<vote_reply>(out);
  REQUIRE(r.size() == 1);
  CHECK_FALSE(r[0].granted);
  CHECK(n.term() == 3); // the term is adopted all the same
}

TEST_CASE("a candidate with an older last term is refused even with a longer log",
          "[raft][election]") {
  node n = make_node(1, {cmd(1, 1), cmd(3, 2)}, 3);
  output out = n.step(request_vote{4, 2, 1, 10, 2, false}, 0);
  CHECK_FALSE(sent<vote_reply>(out).at(0).granted);
}

TEST_CASE("a candidate whose log is at least as up to date gets the vote, once per term",
          "[raft][election]") {
  node n = make_node(1, {cmd(1, 1), cmd(2, 2)}, 2);
  output out = n.step(request_vote{3, 2, 1, 2, 2, false}, 0);
  CHECK(sent<vote_reply>(out).at(0).granted);
  REQUIRE(out.persist_state);
  CHECK(*out.persist_state == hard_state{3, 2});
  out = n.step(request_vote{3, 3, 1, 5, 2, false}, 0);
  CHECK_FALSE(sent<vote_reply>(out).at(0).granted);
  out = n.step(request_vote{3, 2, 1, 2, 2, false}, 0); // a retry is answered the same
  CHECK(sent<vote_reply>(out).at(0).granted);
}

TEST_CASE("a pre-vote changes neither term nor vote", "[raft][election]") {
  node n = make_node(1, {cmd(1, 1)}, 1);
  output out = n.step(request_vote{2, 2, 1, 1, 1, true}, 0);
  CHECK(sent<vote_reply>(out).at(0).granted);
  CHECK(n.term() == 1);
  CHECK(n.current_hard_state().voted_for == no_node);
  CHECK_FALSE(out.persist_state);
}

TEST_CASE("a follower that heard from its leader recently ignores higher-term votes",
          "[raft][election]") {
  node n = make_node(1, {}, 1);
  n.step(append_entries{1, 2, 1, 0, 0, {}, 0}, 10 * ms);
  output out = n.step(request_vote{5, 3, 1, 9, 9, false}, 20 * ms);
  CHECK_FALSE(sent<vote_reply>(out).at(0).granted);
  CHECK(n.term() == 1);
  CHECK(n.leader() == 2);
  // After the minimum election timeout without the leader, it listens again.
  out = n.step(request_vote{5, 3, 1, 9, 9, false}, 200 * ms);
  CHECK(sent<vote_reply>(out).at(0).granted);
  CHECK(n.term() == 5);
}

TEST_CASE("timeout_now makes a follower campaign at once, and its votes pass the lease",
          "[raft][election]") {
  node n = make_node(1, {cmd(1, 1)}, 1);
  n.step(append_entries{1, 2, 1, 1, 1, {}, 1}, 10 * ms);
  output out = n.step(timeout_now{1, 2, 1}, 11 * ms);
  CHECK(n.role() == node_role::candidate); // no pre-vote, no waiting
  CHECK(n.term() == 2);
  auto reqs = sent<request_vote>(out);
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[0].transfer);
  node other = make_node(3, {cmd(1, 1)}, 1);
  other.step(append_entries{1, 2, 3, 1, 1, {}, 1}, 10 * ms); // in its lease
  CHECK(sent<vote_reply>(other.step(reqs[1], 12 * ms)).at(0).granted);
}

TEST_CASE("a single voter elects itself", "[raft][election]") {
  node n = make_node(1, {}, 0, {1});
  output out = n.tick(n.wake_at());
  CHECK(n.role() == node_role::leader);
  CHECK(n.commit_index() == 1); // its noop
  REQUIRE(out.committed.size() == 1);
  CHECK(out.committed[0].kind == entry_kind::noop);
}

TEST_CASE("a new leader appends a noop of its term and probes every follower",
          "[raft][election]") {
  node n = make_node(1, {cmd(1, 1)}, 1);
  output out = elect(n);
  CHECK(n.term() == 2);
  REQUIRE(n.last_index() == 2);
  CHECK(n.entry(2)->kind == entry_kind::noop);
  CHECK(n.entry(2)->term == 2);
  auto appends = sent<append_entries>(out);
  REQUIRE(appends.size() == 2);
  CHECK(appends[0].prev_index == 1);
  CHECK(appends[0].entries.size() == 1);
}

// -- client requests -------------------------------------------------------------

TEST_CASE("a proposal to a follower is refused with the leader it knows",
          "[raft][client]") {
  node n = make_node(1, {}, 1);
  node::proposal p = n.propose("buy");
  CHECK(p.error == raft_error::not_leader);
  CHECK(p.leader_hint == no_node);
  n.step(append_entries{1, 3, 1, 0, 0, {}, 0}, 0);
  p = n.propose("buy");
  CHECK(p.error == raft_error::not_leader);
  CHECK(p.leader_hint == 3);
  CHECK(to_string(p.error) == "not_leader");
}

TEST_CASE("a proposal on the leader returns its index and term and is persisted",
          "[raft][client]") {
  node n = make_node(1, {}, 0);
  elect(n);
  node::proposal p = n.propose("buy");
  CHECK(p.error == raft_error::ok);
  CHECK(p.index == 2);
  CHECK(p.term == n.term());
  REQUIRE(p.out.appended.size() == 1);
  CHECK(p.out.appended[0].data == "buy");
}

// -- replication (follower side) -------------------------------------------------

TEST_CASE("conflicting follower suffix is truncated", "[raft][replication]") {
  node n = make_node(1, {cmd(1, 1), cmd(1, 2), cmd(2, 3), cmd(2, 4)}, 2);
  output out = n.step(append_entries{3, 2, 1, 2, 1, {cmd(3, 3, "new")}, 0}, 0);
  CHECK(terms_of(n) == std::vector<term_t>{1, 1, 3});
  REQUIRE(out.truncate_from);
  CHECK(*out.truncate_from == 3);
  REQUIRE(out.appended.size() == 1);
  CHECK(out.appended[0].data == "new");
  auto r = sent<append_reply>(out);
  REQUIRE(r.size() == 1);
  CHECK(r[0].success);
  CHECK(r[0].index == 3);
}

TEST_CASE("matching entries are never truncated, even by an old duplicate append",
          "[raft][replication]") {
  node n = make_node(1, {cmd(1, 1), cmd(1, 2), cmd(1, 3)}, 1);
  output out = n.step(append_entries{1, 2, 1, 0, 0, {cmd(1, 1)}, 0}, 0);
  CHECK(n.last_index() == 3);
  CHECK_FALSE(out.truncate_from);
  CHECK(out.appended.empty());
  CHECK(sent<append_reply>(out).at(0).index == 1);
}

TEST_CASE("a follower with a shorter log rejects with its last index + 1 as the hint",
          "[raft][replication]") {
  node n = make_node(1, {cmd(1, 1)}, 1);
  output out = n.step(append_entries{1, 2, 1, 5, 1, {cmd(1, 6)}, 0}, 0);
  auto r = sent<append_reply>(out).at(0);
  CHECK_FALSE(r.success);
  CHECK(r.index == 5);
  CHECK(r.conflict_index == 2);
  CHECK(r.conflict_term == 0);
}

TEST_CASE("a follower with a conflicting term reports that term and its first index",
          "[raft][replication]") {
  node n = make_node(1, {cmd(1, 1), cmd(2, 2), cmd(2, 3), cmd(2, 4)}, 2);
  output out = n.step(append_entries{3, 2, 1, 4, 3, {}, 0}, 0);
  auto r = sent<append_reply>(out).at(0);
  CHECK_FALSE(r.success);
  CHECK(r.conflict_term == 2);
  CHECK(r.conflict_index == 2);
}

TEST_CASE("the follower's commit index follows the leader's, within what it holds",
          "[raft][replication]") {
  node n = make_node(1, {}, 1);
  output out = n.step(append_entries{1, 2, 1, 0, 0, {cmd(1, 1), cmd(1, 2)}, 5}, 0);
  CHECK(n.commit_index() == 2);
  CHECK(out.committed.size() == 2);
}

TEST_CASE("an append from an older term is rejected with the current term",
          "[raft][replication]") {
  node n = make_node(1, {}, 4);
  output out = n.step(append_entries{3, 2, 1, 0, 0, {cmd(3, 1)}, 0}, 0);
  auto r = sent<append_reply>(out).at(0);
  CHECK_FALSE(r.success);
  CHECK(r.term == 4);
  CHECK(n.last_index() == 0);
}

// -- replication (leader side) -----------------------------------------------------

TEST_CASE("a leader never commits an entry from an earlier term by counting",
          "[raft][commit]") {
  // Raft figure 8: index 2 of term 2 is on a majority, but the leader of term
  // 4 may only commit it together with an entry of its own term.
  node n = make_node(1, {cmd(1, 1), cmd(2, 2)}, 3);
  elect(n);
  REQUIRE(n.term() == 4);
  n.step(append_reply{4, 2, 1, true, 2, 0, 0}, 0);
  CHECK(n.commit_index() == 0);
  output out = n.step(append_reply{4, 2, 1, true, 3, 0, 0}, 0);
  CHECK(n.commit_index() == 3);
  CHECK(out.committed.size() == 3);
}

TEST_CASE("the leader backs up over the follower's whole conflicting term",
          "[raft][replication]") {
  node n = make_node(1, {cmd(1, 1), cmd(1, 2), cmd(1, 3), cmd(3, 4)}, 3);
  elect(n); // noop at 5, term 4; probes with prev_index 4
  output out = n.step(append_reply{4, 2, 1, false, 4, 2, 2}, 0);
  // The leader has no entry of term 2: it goes to the follower's first index of it.
  auto a = sent<append_entries>(out);
  REQUIRE(a.size() == 1);
  CHECK(a[0].prev_index == 1);
  out = n.step(append_reply{4, 3, 1, false, 4, 2, 1}, 0);
  // Term 1 ends at index 3 here: skip past all of it.
  a = sent<append_entries>(out);
  REQUIRE(a.size() == 1);
  CHECK(a[0].prev_index == 3);
}

TEST_CASE("appends are pipelined up to the in-flight limit and batched",
          "[raft][replication]") {
  raft_params p = test_params();
  p.max_inflight = 2;
  p.max_entries_per_append = 3;
  node n = make_node(1, {}, 0, {1, 2}, p);
  elect(n);
  n.step(append_reply{1, 2, 1, true, 1, 0, 0}, 0); // probe answered: replicate
  auto count_to_2 = [](const output& o) { return sent<append_entries>(o).size(); };
  CHECK(count_to_2(n.propose("a").out) == 1); // sent without waiting
  CHECK(count_to_2(n.propose("b").out) == 1); // second in flight
  CHECK(count_to_2(n.propose("c").out) == 0); // limit reached: it waits
  n.propose("d");
  n.propose("e");
  // One ack frees one slot: the waiting entries go out in one batch of <= 3.
  output out = n.step(append_reply{1, 2, 1, true, 2, 0, 0}, 0);
  auto a = sent<append_entries>(out);
  REQUIRE(a.size() == 1);
  CHECK(a[0].prev_index == 3);
  CHECK(a[0].entries.size() == 3);
}

TEST_CASE("a lost append is revealed by the next heartbeat and sent again",
          "[raft][replication]") {
  node n = make_node(1, {}, 0, {1, 2});
  elect(n);
  n.step(append_reply{1, 2, 1, true, 1, 0, 0}, 0); // replicate mode
  output lost = n.propose("a").out;                // this append never arrives
  REQUIRE(sent<append_entries>(lost).size() == 1);
  output hb = n.tick(n.wake_at());
  auto beat = sent<append_entries>(hb);
  REQUIRE(beat.size() == 1);
  CHECK(beat[0].prev_index == 2); // the optimistic next - 1
  CHECK(beat[0].entries.empty());
  // The follower (last index 1) rejects it; the leader probes from its hint.
  output out = n.step(append_reply{1, 2, 1, false, 2, 2, 0}, n.wake_at());
  auto again = sent<append_entries>(out);
  REQUIRE(again.size() == 1);
  CHECK(again[0].prev_index == 1);
  REQUIRE(again[0].entries.size() == 1);
  CHECK(again[0].entries[0].data == "a");
}

TEST_CASE("a leader that hears of a higher term steps down", "[raft][election]") {
  node n = make_node(1, {}, 0);
  elect(n);
  n.step(append_reply{7, 2, 1, false, 0, 0, 0}, 0);
  CHECK(n.role() == node_role::follower);
  CHECK(n.term() == 7);
}

// -- the cluster -----------------------------------------------------------------

TEST_CASE("three nodes elect one leader and replicate commands to all",
          "[raft][cluster]") {
  sim::cluster c = started_cluster();
  commit_commands(c, 20);
  c.run_for(200 * ms);
  for (node_id id : c.ids()) {
    CHECK(c.at(id).machine.size() == 20);
    CHECK(c.at(id).machine == c.at(c.leader()->id()).machine);
  }
  INFO(c.checker.report());
  CHECK(c.checker.ok());
}

TEST_CASE("a minority partition cannot commit, and its entries are discarded on healing",
          "[raft][cluster]") {
  sim::cluster c = started_cluster();
  commit_commands(c, 3);
  const node_id old_leader = c.leader()->id();
  std::vector<node_id> others;
  for (node_id id : c.ids())
    if (id != old_leader)
      others.push_back(id);
  c.partition({{old_leader}, others});
  CHECK(c.propose(old_leader, "lost").error == raft_error::ok);
  const index_t lost_index = c.get(old_leader).last_index();
  REQUIRE(c.run_until([&] { return c.leader() && c.leader()->id() != old_leader; },
                      c.now() + 3000 * ms));
  CHECK(c.get(old_leader).commit_index() < lost_index);
  commit_commands(c, 3, "new");
  c.heal();
  c.run_for(1000 * ms);
  const node& l = *c.leader();
  CHECK(l.id() != old_leader);
  CHECK(c.get(old_leader).entry(lost_index)->data != "lost");
  CHECK(c.at(old_leader).machine == c.at(l.id()).machine);
  INFO(c.checker.report());
  CHECK(c.checker.ok());
}

TEST_CASE("figure 8 on a cluster: an old-term entry on a majority is not committed early",
          "[raft][cluster][commit]") {
  // Raft paper, figure 8, played with partitions and crashes on 5 nodes.
  // With commit-by-counting of old-term entries the checker reports a lost
  // committed entry; with the rule, whoever leads last still holds X.
  raft_params p = test_params();
  p.max_entries_per_append = 1; // X and the noop travel in separate appends
  p.max_inflight = 1;
  p.check_quorum = false;
  sim::cluster c({1, 2, 3, 4, 5}, {}, p, 11);
  c.net.min_delay = c.net.max_delay = 1 * ms;
  REQUIRE(c.run_until([&] { return c.leader() != nullptr; }, 3000 * ms));
  commit_commands(c, 1, "base");
  c.run_for(100 * ms);
  // (a) leader S1 puts X on S2 only.
  const node_id s1 = c.leader()->id();
  std::vector<node_id> o;
  for (node_id id : c.ids())
    if (id != s1)
      o.push_back(id);
  const node_id s2 = o[0];
  c.partition({{s1, s2}, {o[1], o[2], o[3]}});
  REQUIRE(c.propose(s1, "X").error == raft_error::ok);
  const index_t k = c.get(s1).last_index();
  c.run_for(50 * ms);
  REQUIRE(c.get(s2).last_index() == k);
  // (b) S1 crashes; S5 wins among the other three, then is cut off at once
  // (its noop at index k never leaves) and crashes.
  c.crash(s1);
  REQUIRE(c.run_until(
      [&] {
        node* l = c.leader();
        return l && l->id() != s2;
      },
      c.now() + 3000 * ms));
  const node_id s5 = c.leader()->id();
  std::vector<node_id> rest; // the two voters of S5 besides itself
  for (node_id id : {o[1], o[2], o[3]})
    if (id != s5)
      rest.push_back(id);
  c.partition({{s5}, {s2, rest[0], rest[1]}});
  c.crash(s5);
  REQUIRE(c.get(rest[0]).last_index() < k);
  // (c) S1 returns; S1 or S2 (both hold X) leads and replicates X to S3.
  c.restart(s1);
  c.partition({{s1, s2, rest[0], rest[1]}});
  REQUIRE(c.run_until([&] { return c.leader() != nullptr; }, c.now() + 3000 * ms));
  node& w = *c.leader();
  REQUIRE(w.entry(k)->data == "X");
  REQUIRE(c.run_until([&] { return w.commit_index() >= k; }, c.now() + 3000 * ms));
  // (d) The moment it counts X as committed, it crashes; S5 returns and
  // campaigns with the nodes that lack the new leader's noop (the others are
  // cut off). With the rule these are a minority; without it, S5 wins and
  // overwrites X.
  const node_id wid = w.id();
  const term_t wterm = w.term();
  std::vector<node_id> lacking{s5}, holding;
  for (node_id id : c.ids())
    if (id != wid && id != s5)
      (c.get(id).last_term() < wterm ? lacking : holding).push_back(id);
  c.crash(wid);
  c.restart(s5);
  c.partition({lacking, holding});
  c.run_for(2000 * ms);
  // (e) Everyone back: whoever leads holds X.
  c.restart(wid);
  c.heal();
  REQUIRE(c.run_until([&] { return c.leader() != nullptr; }, c.now() + 3000 * ms));
  commit_commands(c, 1, "end");
  const node* last = c.leader();
  REQUIRE(last != nullptr);
  CHECK(last->entry(k) != nullptr);
  if (last->entry(k))
    CHECK(last->entry(k)->data == "X");
  INFO(c.checker.report());
  CHECK(c.checker.ok());
}

TEST_CASE("a leader cut off from its majority steps down (CheckQuorum)",
          "[raft][cluster]") {
  sim::cluster c = started_cluster();
  const node_id old_leader = c.leader()->id();
  std::vector<node_id> others;
  for (node_id id : c.ids())
    if (id != old_leader)
      others.push_back(id);
  c.partition({{old_leader}, others});
  c.run_for(1000 * ms);
  CHECK(c.get(old_leader).role() != node_role::leader);
  CHECK(c.checker.ok());
}

TEST_CASE("an isolated node rejoins without disrupting the leader (PreVote)",
          "[raft][cluster]") {
  sim::cluster c = started_cluster();
  commit_commands(c, 1);
  c.run_for(100 * ms); // every node has heard of the leader's term
  const node& l = *c.leader();
  const term_t term = l.term();
  const node_id lid = l.id();
  node_id lone = lid == 3 ? 2 : 3;
  std::vector<node_id> rest;
  for (node_id id : c.ids())
    if (id != lone)
      rest.push_back(id);
  c.partition({{lone}, rest});
  c.run_for(2000 * ms);
  CHECK(c.get(lone).term() == term); // pre-votes failed: no term inflation
  c.heal();
  c.run_for(1000 * ms);
  REQUIRE(c.leader() != nullptr);
  CHECK(c.leader()->id() == lid);
  CHECK(c.leader()->term() == term);
  CHECK(c.checker.ok());
}

TEST_CASE("leadership transfer hands over without waiting for a timeout",
          "[raft][cluster]") {
  sim::cluster c = started_cluster();
  commit_commands(c, 3);
  const node_id from = c.leader()->id();
  const node_id to = from == 3 ? 1 : from + 1;
  const time_ns start = c.now();
  REQUIRE(c.transfer(to).error == raft_error::ok);
  CHECK(c.propose(from, "during").error == raft_error::transferring);
  REQUIRE(c.run_until([&] { return c.leader() && c.leader()->id() == to; },
                      start + 100 * ms)); // below the minimum election timeout
  commit_commands(c, 2, "after");
  CHECK(c.checker.ok());
}

TEST_CASE("a removed leader hands over at once", "[raft][membership]") {
  sim::cluster c = started_cluster();
  commit_commands(c, 2);
  const node_id old_leader = c.leader()->id();
  REQUIRE(c.remove_voter(old_leader).error == raft_error::ok);
  REQUIRE(c.run_until([&] { return c.get(old_leader).role() != node_role::leader; },
                      c.now() + 1000 * ms));
  const time_ns stepped_down = c.now();
  REQUIRE(c.run_until([&] { return c.leader() != nullptr; }, stepped_down + 100 * ms));
  CHECK(c.checker.ok());
}

TEST_CASE("a restarted node recovers term, vote and log from disk and catches up",
          "[raft][cluster]") {
  sim::cluster c = started_cluster();
  commit_commands(c, 5);
  node_id f = c.leader()->id() == 1 ? 2 : 1;
  const hard_state before = c.get(f).current_hard_state();
  const index_t last = c.get(f).last_index();
  c.crash(f);
  commit_commands(c, 5, "more");
  c.restart(f);
  CHECK(c.get(f).current_hard_state() == before);
  CHECK(c.get(f).last_index() == last);
  CHECK(c.get(f).commit_index() == 0); // volatile: re-learned from the leader
  c.run_for(500 * ms);
  CHECK(c.at(f).machine.size() == 10);
  CHECK(c.checker.ok());
}

TEST_CASE("far-behind follower gets InstallSnapshot", "[raft][snapshot]") {
  sim::cluster c = started_cluster();
  c.trace = true;
  node_id f = c.leader()->id() == 3 ? 2 : 3;
  c.crash(f);
  commit_commands(c, 30);
  for (node_id id : c.ids())
    if (c.up(id))
      REQUIRE(c.compact(id) == raft_error::ok);
  const index_t snap = c.leader()->snapshot_index();
  CHECK(snap >= 31);
  c.restart(f);
  c.run_for(500 * ms);
  CHECK(
      std::any_of(c.trace_lines.begin(), c.trace_lines.end(), [&](const std::string& s) {
        return s.find("->" + std::to_string(f) + " install_snapshot") !=
               std::string::npos;
      }));
  CHECK(c.get(f).snapshot_index() == snap);
  CHECK(c.at(f).machine == c.at(c.leader()->id()).machine);
  commit_commands(c, 3, "after");
  c.run_for(200 * ms);
  CHECK(c.at(f).machine.size() == 33);
  INFO(c.checker.report());
  CHECK(c.checker.ok());
}

TEST_CASE("a follower whose log continues the snapshot keeps the entries after it",
          "[raft][snapshot]") {
  node n = make_node(1, {cmd(1, 1), cmd(1, 2), cmd(1, 3), cmd(1, 4), cmd(1, 5)}, 1);
  snapshot s{snapshot_meta{3, 1, cluster_config{{1, 2, 3}}}, "state"};
  output out = n.step(install_snapshot{1, 2, 1, s}, 0);
  REQUIRE(out.installed_snapshot);
  CHECK(out.installed_snapshot->data == "state");
  CHECK_FALSE(out.truncate_from);
  CHECK(n.snapshot_index() == 3);
  CHECK(n.last_index() == 5);
  CHECK(n.commit_index() == 3);
  CHECK(out.committed.empty()); // the state machine restores from the snapshot
  CHECK(sent<snapshot_reply>(out).at(0).last_index == 3);
}

TEST_CASE("a follower whose log conflicts with the snapshot drops all of it",
          "[raft][snapshot]") {
  node n = make_node(1, {cmd(1, 1), cmd(2, 2), cmd(2, 3), cmd(2, 4)}, 2);
  snapshot s{snapshot_meta{3, 3, cluster_config{{1, 2, 3}}}, "state"};
  output out = n.step(install_snapshot{3, 2, 1, s}, 0);
  REQUIRE(out.installed_snapshot);
  REQUIRE(out.truncate_from);
  CHECK(*out.truncate_from == 4);
  CHECK(n.last_index() == 3);
  CHECK(n.last_term() == 3);
}

TEST_CASE("a snapshot the follower has already committed is not installed",
          "[raft][snapshot]") {
  node n = make_node(1, {cmd(1, 1), cmd(1, 2), cmd(1, 3), cmd(1, 4)}, 1);
  n.step(append_entries{1, 2, 1, 4, 1, {}, 4}, 0);
  REQUIRE(n.commit_index() == 4);
  snapshot s{snapshot_meta{2, 1, cluster_config{{1, 2, 3}}}, "old"};
  output out = n.step(install_snapshot{1, 2, 1, s}, 0);
  CHECK_FALSE(out.installed_snapshot);
  CHECK(n.snapshot_index() == 0);
  CHECK(sent<snapshot_reply>(out).at(0).last_index == 4);
}

TEST_CASE("a restart skips stored entries that the snapshot covers", "[raft][snapshot]") {
  persistent_state st;
  st.state.term = 2;
  st.snap = snapshot{snapshot_meta{2, 1, cluster_config{{1, 2, 3}}}, "s"};
  st.log = {cmd(1, 1), cmd(1, 2), cmd(2, 3)};
  node n(1, cluster_config{{1, 2, 3}}, test_params(), 5, 0, st);
  CHECK(n.snapshot_index() == 2);
  CHECK(n.last_index() == 3);
  CHECK(n.entry(3)->term == 2);
  CHECK(n.commit_index() == 2);
}

TEST_CASE("compaction is refused beyond the applied index", "[raft][snapshot]") {
  node n = make_node(1, {cmd(1, 1), cmd(1, 2)}, 1);
  CHECK(n.compact(1, "s") == raft_error::bad_index); // nothing applied yet
  n.step(append_entries{1, 2, 1, 2, 1, {}, 2}, 0);
  CHECK(n.compact(1, "s") == raft_error::ok);
  CHECK(n.snapshot_index() == 1);
  CHECK(n.last_snapshot().meta.last_term == 1);
  CHECK(n.compact(1, "s") == raft_error::bad_index);
  CHECK(n.entry(1) == nullptr);
  CHECK(n.term_at(1) == 1);
}

// -- membership --------------------------------------------------------------------

TEST_CASE("a config change takes effect when appended, before it commits",
          "[raft][membership]") {
  node n = make_node(1, {}, 1);
  log_entry e{1, 1, entry_kind::config, encode_config(cluster_config{{1, 2, 3, 4}})};
  n.step(append_entries{1, 2, 1, 0, 0, {e}, 0}, 0);
  CHECK(n.config().voters == std::vector<node_id>{1, 2, 3, 4});
  CHECK(n.commit_index() == 0);
  // Truncated, it reverts to the previous config.
  n.step(append_entries{2, 3, 1, 0, 0, {cmd(2, 1)}, 0}, 0);
  CHECK(n.config().voters == std::vector<node_id>{1, 2, 3});
}

TEST_CASE("one membership change at a time, and not before the leader's noop commits",
          "[raft][membership]") {
  node n = make_node(1, {}, 0, {1, 2, 3});
  elect(n);
  CHECK(n.add_voter(4).error == raft_error::leader_not_ready);
  n.step(append_reply{1, 2, 1, true, 1, 0, 0}, 0);
  REQUIRE(n.commit_index() == 1);
  CHECK(n.add_voter(2).error == raft_error::no_change);
  CHECK(n.add_voter(4).error == raft_error::ok);
  CHECK(n.config().voters == std::vector<node_id>{1, 2, 3, 4}); // at once
  CHECK(n.remove_voter(3).error == raft_error::change_pending);
}

TEST_CASE("an added node catches up and counts in the majority", "[raft][membership]") {
  sim::cluster c = started_cluster({1, 2, 3}, {4});
  commit_commands(c, 5);
  CHECK(c.get(4).last_index() == 0); // not a member: it waits
  REQUIRE(c.add_voter(4).error == raft_error::ok);
  c.run_for(500 * ms);
  CHECK(c.get(4).config().voters == std::vector<node_id>{1, 2, 3, 4});
  CHECK(c.at(4).machine.size() == 5);
  // With 4 voters the majority is 3: two crashed followers stop commits.
  const node_id lid = c.leader()->id();
  std::vector<node_id> f;
  for (node_id id : c.ids())
    if (id != lid)
      f.push_back(id);
  c.crash(f[0]);
  c.crash(f[1]);
  CHECK(c.propose(lid, "stuck").error == raft_error::ok);
  c.run_for(120 * ms);
  CHECK(c.acked().size() == 5);
  c.restart(f[0]);
  REQUIRE(c.run_until([&] { return c.acked().size() == 6; }, c.now() + 3000 * ms));
  CHECK(c.checker.ok());
}

TEST_CASE("removed leader steps down after committing its removal",
          "[raft][membership]") {
  sim::cluster c = started_cluster();
  commit_commands(c, 2);
  const node_id old_leader = c.leader()->id();
  REQUIRE(c.remove_voter(old_leader).error == raft_error::ok);
  CHECK(c.get(old_leader).role() == node_role::leader); // until committed
  REQUIRE(c.run_until([&] { return c.get(old_leader).role() != node_role::leader; },
                      c.now() + 1000 * ms));
  CHECK_FALSE(c.get(old_leader).is_voter(old_leader));
  REQUIRE(c.run_until([&] { return c.leader() != nullptr; }, c.now() + 3000 * ms));
  CHECK(c.leader()->id() != old_leader);
  commit_commands(c, 2, "after");
  c.run_for(2000 * ms);
  CHECK(c.get(old_leader).role() == node_role::follower); // never campaigns again
  INFO(c.checker.report());
  CHECK(c.checker.ok());
}

TEST_CASE("five nodes keep committing with two crashed, and stop with three",
          "[raft][cluster]") {
  sim::cluster c = started_cluster({1, 2, 3, 4, 5});
  commit_commands(c, 2);
  const node_id lid = c.leader()->id();
  std::vector<node_id> f;
  for (node_id id : c.ids())
    if (id != lid)
      f.push_back(id);
  c.crash(f[0]);
  c.crash(f[1]);
  commit_commands(c, 3, "two-down");
  c.crash(f[2]);
  CHECK(c.propose(lid, "three-down").error == raft_error::ok);
  c.run_for(1000 * ms);
  CHECK(c.acked().size() == 5);
  c.restart(f[0]);
  REQUIRE(c.run_until([&] { return c.acked().size() == 6; }, c.now() + 3000 * ms));
  INFO(c.checker.report());
  CHECK(c.checker.ok());
}

// -- the checker can fail ------------------------------------------------------------

TEST_CASE("the invariants checker reports two leaders in one term",
          "[raft][invariants]") {
  node a = make_node(1, {}, 0);
  node b = make_node(2, {}, 0);
  elect(a);
  elect(b);
  invariant_checker chk;
  chk.observe(a);
  chk.observe(b);
  CHECK_FALSE(chk.ok());
  CHECK(chk.report().find("election safety") != std::string::npos);
}

TEST_CASE("the invariants checker reports different entries applied at one index",
          "[raft][invariants]") {
  invariant_checker chk;
  chk.observe_applied(1, {cmd(1, 1, "a")});
  chk.observe_applied(2, {cmd(1, 1, "b")});
  CHECK(chk.report().find("state machine safety") != std::string::npos);
}

TEST_CASE("the invariants checker reports diverging logs with the same index and term",
          "[raft][invariants]") {
  node a = make_node(1, {cmd(1, 1), cmd(2, 2)}, 2);
  node b = make_node(2, {cmd(3, 1), cmd(2, 2)}, 3);
  invariant_checker chk;
  chk.observe(a);
  chk.observe(b);
  CHECK(chk.report().find("log matching") != std::string::npos);
}
