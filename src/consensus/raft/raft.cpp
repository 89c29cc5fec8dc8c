#include "consensus/raft/raft.hpp"

#include <algorithm>
#include <cassert>
#include <functional>
#include <utility>

namespace marketsim::consensus::raft {

// -- names and codecs ------------------------------------------------------------

std::string_view to_string(node_role x) {
  switch (x) {
  case node_role::follower:
    return "follower";
  case node_role::pre_candidate:
    return "pre_candidate";
  case node_role::candidate:
    return "candidate";
  case node_role::leader:
    return "leader";
  }
  return "?";
}

std::string_view to_string(raft_error x) {
  switch (x) {
  case raft_error::ok:
    return "ok";
  case raft_error::not_leader:
    return "not_leader";
  case raft_error::leader_not_ready:
    return "leader_not_ready";
  case raft_error::change_pending:
    return "change_pending";
  case raft_error::no_change:
    return "no_change";
  case raft_error::bad_index:
    return "bad_index";
  case raft_error::transferring:
    return "transferring";
  }
  return "?";
}

std::string_view message_name(const message& m) {
  static constexpr std::string_view names[] = {
      "request_vote",     "vote_reply",     "append_entries", "append_reply",
      "install_snapshot", "snapshot_reply", "timeout_now"};
  return names[m.index()];
}

std::string encode_config(const cluster_config& c) {
  std::string s;
  s.reserve(c.voters.size() * 4);
  for (node_id v : c.voters)
    for (int b = 0; b < 4; ++b)
      s.push_back(static_cast<char>((v >> (8 * b)) & 0xff));
  return s;
}

cluster_config decode_config(std::string_view data) {
  cluster_config c;
  for (std::size_t i = 0; i + 4 <= data.size(); i += 4) {
    node_id v = 0;
    for (int b = 0; b < 4; ++b)
      v |= static_cast<node_id>(static_cast<unsigned char>(data[i + b])) << (8 * b);
    c.voters.push_back(v);
  }
  return c;
}

// -- construction and status ----------------------------------------------------

node::node(node_id self, cluster_config bootstrap, raft_params params, std::uint64_t seed,
           time_ns now, persistent_state restored)
    : id_(self), params_(params), rng_(seed), bootstrap_(std::move(bootstrap)),
      hs_(restored.state), snap_(std::move(restored.snap)),
      log_(std::make_move_iterator(restored.log.begin()),
           std::make_move_iterator(restored.log.end())) {
  std::sort(bootstrap_.voters.begin(), bootstrap_.voters.end());
  // A storage may still list entries the snapshot covers: they are not ours.
  while (!log_.empty() && log_.front().index <= snap_.meta.last_index)
    log_.pop_front();
  commit_ = applied_ = snap_.meta.last_index;
  recompute_config();
  now_ = now;
  reset_election_deadline();
}

term_t node::last_term() const {
  return *term_at(last_index());
}

std::optional<term_t> node::term_at(index_t i) const {
  const index_t s = snap_.meta.last_index;
  if (i == s)
    return snap_.meta.last_term;
  if (i < s || i > last_index())
    return std::nullopt;
  return log_[i - s - 1].term;
}

const log_entry* node::entry(index_t i) const {
  const index_t s = snap_.meta.last_index;
  if (i <= s || i > last_index())
    return nullptr;
  return &log_[i - s - 1];
}

bool node::is_voter(node_id id) const {
  return std::binary_search(config_.voters.begin(), config_.voters.end(), id);
}

time_ns node::wake_at() const {
  return role_ == node_role::leader ? heartbeat_deadline_ : election_deadline_;
}

// -- one call ---------------------------------------------------------------------

void node::begin(time_ns now) {
  now_ = std::max(now_, now);
  out_ = output{};
  hs_at_begin_ = hs_;
}

output node::finish() {
  if (hs_ != hs_at_begin_)
    out_.persist_state = hs_;
  for (index_t i = applied_ + 1; i <= commit_; ++i)
    out_.committed.push_back(*entry(i));
  applied_ = std::max(applied_, commit_);
  out_.wake_at = wake_at();
  return std::exchange(out_, output{});
}

output node::step(const message& m, time_ns now) {
  begin(now);
  if (receiver(m) == id_) // a misrouted message is dropped
    std::visit([this](const auto& x) { on(x); }, m);
  return finish();
}

output node::tick(time_ns now) {
  begin(now);
  if (role_ == node_role::leader) {
    if (now_ >= heartbeat_deadline_) {
      heartbeat_deadline_ = now_ + params_.heartbeat_interval;
      for (auto& [to, p] : peers_) {
        if (p.mode == peer_mode::snapshot &&
            ++p.snapshot_wait >= params_.snapshot_retry_heartbeats)
          send_snapshot(to, p);
        else
          send_append(to, p, true);
      }
    }
    if (transfer_to_ != no_node && now_ >= transfer_deadline_)
      transfer_to_ = no_node; // abandoned: lead on
    if (params_.check_quorum && now_ >= quorum_deadline_) {
      std::size_t active = is_voter(id_) ? 1 : 0;
      for (auto& [to, p] : peers_) {
        active += p.recent_active ? 1 : 0;
        p.recent_active = false;
      }
      quorum_deadline_ = now_ + params_.election_timeout_max;
      if (active < quorum())
        become_follower(hs_.term, no_node);
    }
  } else if (now_ >= election_deadline_) {
    campaign();
  }
  return finish();
}

// -- roles ------------------------------------------------------------------------

void node::reset_election_deadline() {
  election_deadline_ =
      now_ + rng_.uniform_int(params_.election_timeout_min, params_.election_timeout_max);
}

void node::become_follower(term_t term, node_id leader) {
  if (term > hs_.term) {
    hs_.term = term;
    hs_.voted_for = no_node;
  }
  role_ = node_role::follower;
  leader_ = leader;
  transfer_to_ = no_node;
  peers_.clear();
  votes_.clear();
  reset_election_deadline();
}

/// A message of the leader of `term`: false when the term is stale, else
/// this node follows `leader` (in that term) and restarts its timer.
bool node::follow(term_t term, node_id leader) {
  if (term < hs_.term)
    return false;
  if (term > hs_.term || role_ != node_role::follower)
    become_follower(term, leader);
  heard_from_leader(leader);
  return true;
}

void node::heard_from_leader(node_id leader) {
  leader_ = leader;
  leader_contact_ = now_;
  reset_election_deadline();
}

bool node::in_lease() const {
  if (role_ == node_role::leader) // as LogCabin: a leader withholds votes while it leads
    return true;
  return leader_ != no_node && leader_contact_ &&
         now_ - *leader_contact_ < params_.election_timeout_min;
}

void node::campaign() {
  if (!is_voter(id_)) { // not a member (yet, or any more): wait for a leader
    reset_election_deadline();
    return;
  }
  start_campaign(params_.pre_vote, false);
}

/// A pre-vote (`pre`: the term does not change) or an election: this node
/// votes for itself, then asks the other voters.
void node::start_campaign(bool pre, bool transfer) {
  if (!pre) {
    hs_.term += 1;
    hs_.voted_for = id_;
  }
  const node_role role = pre ? node_role::pre_candidate : node_role::candidate;
  role_ = role;
  leader_ = no_node;
  votes_.clear();
  reset_election_deadline();
  count_vote(id_, true);
  if (role_ != role) // a single voter has already won
    return;
  const term_t term = pre ? hs_.term + 1 : hs_.term;
  for (node_id v : config_.voters)
    if (v != id_)
      send(request_vote{term, id_, v, last_index(), last_term(), pre, transfer});
}

void node::count_vote(node_id from, bool granted) {
  if (!is_voter(from))
    return;
  votes_[from] = granted;
  std::size_t yes = 0;
  for (const auto& [v, g] : votes_)
    yes += g ? 1 : 0;
  if (yes < quorum())
    return;
  if (role_ == node_role::pre_candidate)
    start_campaign(false, false);
  else if (role_ == node_role::candidate)
    become_leader();
}

void node::become_leader() {
  role_ = node_role::leader;
  leader_ = id_;
  transfer_to_ = no_node;
  votes_.clear();
  peers_.clear();
  sync_peers();
  term_start_index_ = last_index() + 1;
  append_local(log_entry{hs_.term, term_start_index_, entry_kind::noop, {}});
  heartbeat_deadline_ = now_ + params_.heartbeat_interval;
  quorum_deadline_ = now_ + params_.election_timeout_max;
  broadcast();
  maybe_commit();
}

// -- elections --------------------------------------------------------------------

bool node::log_up_to_date(index_t last_index, term_t last_term) const {
  const term_t mine = this->last_term();
  return last_term > mine || (last_term == mine && last_index >= this->last_index());
}

void node::on(const request_vote& m) {
  vote_reply r{hs_.term, id_, m.from, false, m.pre_vote};
  // A node that hears from a live leader ignores higher terms (thesis 4.2.3).
  if (m.term < hs_.term || (m.term > hs_.term && in_lease() && !m.transfer)) {
    send(r);
    return;
  }
  if (m.pre_vote) {
    r.granted = m.term > hs_.term && log_up_to_date(m.last_log_index, m.last_log_term);
    if (r.granted)
      r.term = m.term;
    send(r);
    return;
  }
  if (m.term > hs_.term) {
    // Raft 5.2: a vote request resets the timer only when granted, so that
    // candidates with stale logs cannot keep up-to-date nodes from running.
    const time_ns deadline = election_deadline_;
    const bool was_follower = role_ == node_role::follower;
    become_follower(m.term, no_node);
    if (was_follower)
      election_deadline_ = deadline;
  }
  r.term = hs_.term;
  r.granted = (hs_.voted_for == no_node || hs_.voted_for == m.from) &&
              log_up_to_date(m.last_log_index, m.last_log_term);
  if (r.granted) {
    hs_.voted_for = m.from;
    reset_election_deadline();
  }
  send(r);
}

void node::on(const vote_reply& m) {
  if (m.term > hs_.term && (!m.pre_vote || !m.granted)) {
    become_follower(m.term, no_node);
    return;
  }
  if (role_ == node_role::pre_candidate && m.pre_vote && m.term == hs_.term + 1)
    count_vote(m.from, m.granted);
  else if (role_ == node_role::candidate && !m.pre_vote && m.term == hs_.term)
    count_vote(m.from, m.granted);
}

// -- follower side of replication -------------------------------------------------

index_t node::first_index_of_term(index_t at) const {
  const term_t t = *term_at(at);
  index_t i = at;
  while (i - 1 > snap_.meta.last_index && *term_at(i - 1) == t)
    --i;
  return i;
}

void node::on(const append_entries& m) {
  append_reply r{hs_.term, id_, m.from, false, m.prev_index, 0, 0};
  if (!follow(m.term, m.from)) {
    send(r); // stale: the reply carries our term and deposes the sender
    return;
  }
  r.term = hs_.term;

  // Entries up to our commit index are known to match (leader completeness).
  index_t prev = m.prev_index;
  std::size_t first = 0;
  if (prev < commit_) {
    const index_t skip = commit_ - prev;
    if (skip >= m.entries.size()) {
      r.success = true;
      r.index = commit_;
      send(r);
      return;
    }
    first = static_cast<std::size_t>(skip);
    prev = commit_;
  }
  const term_t prev_term = first > 0 ? m.entries[first - 1].term : m.prev_term;
  if (prev > last_index()) {
    r.conflict_index = last_index() + 1;
    send(r);
    return;
  }
  if (*term_at(prev) != prev_term) {
    r.conflict_term = *term_at(prev);
    r.conflict_index = first_index_of_term(prev);
    send(r);
    return;
  }
  for (std::size_t k = first; k < m.entries.size(); ++k) {
    const log_entry& e = m.entries[k];
    if (e.index <= last_index()) {
      if (*term_at(e.index) == e.term)
        continue;
      assert(e.index > commit_ && "a committed entry conflicts");
      truncate_local(e.index);
    }
    append_local(e);
  }
  const index_t last_new = m.prev_index + m.entries.size();
  commit_ = std::max(commit_, std::min(m.commit_index, last_new));
  r.success = true;
  r.index = last_new;
  send(r);
}

void node::on(const install_snapshot& m) {
  snapshot_reply r{hs_.term, id_, m.from, 0};
  if (!follow(m.term, m.from)) {
    send(r);
    return;
  }
  r.term = hs_.term;
  const snapshot_meta& meta = m.snap.meta;
  if (meta.last_index <= commit_) { // nothing new in it
    r.last_index = commit_;
    send(r);
    return;
  }
  if (term_at(meta.last_index) == meta.last_term) {
    // Our log continues the snapshot: keep the suffix.
    log_.erase(log_.begin(), log_.begin() + (meta.last_index - snap_.meta.last_index));
  } else {
    out_.truncate_from =
        std::min(out_.truncate_from.value_or(meta.last_index + 1), meta.last_index + 1);
    log_.clear();
  }
  std::erase_if(out_.appended,
                [&](const log_entry& e) { return e.index <= meta.last_index; });
  snap_ = m.snap;
  commit_ = applied_ = meta.last_index;
  recompute_config();
  out_.installed_snapshot = snap_;
  r.last_index = meta.last_index;
  send(r);
}

// -- leader side of replication ---------------------------------------------------

void node::sync_peers() {
  std::map<node_id, peer> next;
  for (node_id v : config_.voters) {
    if (v == id_)
      continue;
    auto it = peers_.find(v);
    if (it != peers_.end()) {
      next.emplace(v, it->second);
    } else {
      peer p;
      p.next = last_index() + 1;
      p.recent_active = true; // give a new peer a full quorum period
      next.emplace(v, p);
    }
  }
  peers_ = std::move(next);
  if (!peers_.contains(transfer_to_))
    transfer_to_ = no_node; // the transfer's target left the config
}

void node::send_snapshot(node_id to, peer& p) {
  p.mode = peer_mode::snapshot;
  p.snapshot_wait = 0;
  send(install_snapshot{hs_.term, id_, to, snap_});
}

/// One append to `to`: entries from `p.next` within the batch limits. A
/// heartbeat is sent even when there is nothing new (and even when the
/// follower is paused), so that followers keep their lease and gaps show.
void node::send_append(node_id to, peer& p, bool heartbeat) {
  if (p.mode == peer_mode::snapshot) {
    if (heartbeat) // keeps the follower from campaigning while it waits
      send(append_entries{
          hs_.term, id_, to, snap_.meta.last_index, snap_.meta.last_term, {}, commit_});
    return;
  }
  const index_t prev = p.next - 1;
  const std::optional<term_t> prev_term = term_at(prev);
  if (!prev_term) {
    send_snapshot(to, p);
    return;
  }
  const bool paused =
      p.mode == peer_mode::probe ? p.probe_sent : p.inflight >= params_.max_inflight;
  append_entries a{hs_.term, id_, to, prev, *prev_term, {}, commit_};
  if (!paused || p.mode == peer_mode::probe) {
    std::size_t bytes = 0;
    for (index_t i = p.next; i <= last_index(); ++i) {
      const log_entry& e = *entry(i);
      if (!a.entries.empty() && (a.entries.size() >= params_.max_entries_per_append ||
                                 bytes + e.data.size() > params_.max_bytes_per_append))
        break;
      bytes += e.data.size();
      a.entries.push_back(e);
    }
  }
  if (paused && !heartbeat)
    return;
  if (a.entries.empty() && !heartbeat)
    return;
  if (p.mode == peer_mode::probe) {
    p.probe_sent = true;
  } else if (!a.entries.empty()) {
    p.next = a.entries.back().index + 1;
    ++p.inflight;
  }
  send(std::move(a));
}

void node::send_more(node_id to, peer& p) {
  if (p.mode == peer_mode::replicate) {
    while (p.mode == peer_mode::replicate && p.next <= last_index() &&
           p.inflight < params_.max_inflight) {
      const index_t before = p.next;
      send_append(to, p, false);
      if (p.next == before)
        break; // it went to snapshot mode
    }
  } else {
    send_append(to, p, false);
  }
}

void node::broadcast() {
  for (auto& [to, p] : peers_)
    send_more(to, p);
}

std::optional<index_t> node::last_index_of_term(term_t t) const {
  for (index_t i = last_index(); i > snap_.meta.last_index; --i) {
    const term_t ti = *term_at(i);
    if (ti == t)
      return i;
    if (ti < t)
      break;
  }
  return std::nullopt;
}

/// The follower a reply of this term comes from, if this node leads in that
/// term and still replicates to it (a higher term deposes it first).
node::peer* node::replying_peer(term_t term, node_id from) {
  if (term > hs_.term) {
    become_follower(term, no_node);
    return nullptr;
  }
  if (role_ != node_role::leader || term < hs_.term)
    return nullptr;
  auto it = peers_.find(from);
  if (it == peers_.end())
    return nullptr;
  it->second.recent_active = true;
  return &it->second;
}

void node::on(const append_reply& m) {
  peer* pp = replying_peer(m.term, m.from);
  if (!pp)
    return;
  peer& p = *pp;
  if (m.success) {
    const bool advanced = m.index > p.match;
    p.match = std::max(p.match, m.index);
    p.next = std::max(p.next, p.match + 1);
    if (p.mode != peer_mode::replicate) {
      p.mode = peer_mode::replicate;
      p.next = p.match + 1;
      p.inflight = 0;
    } else if (p.inflight > 0) {
      --p.inflight;
    }
    if (p.next == p.match + 1)
      p.inflight = 0; // nothing is in flight any more
    if (advanced)
      maybe_commit();
    if (role_ == node_role::leader) {
      send_more(m.from, p);
      maybe_send_timeout_now(m.from, p);
    }
    return;
  }
  // A rejection. Stale ones: at or below the match point, or (probe) not the
  // answer to the probe we are waiting for.
  if (m.index <= p.match || p.mode == peer_mode::snapshot)
    return;
  if (p.mode == peer_mode::probe && m.index != p.next - 1)
    return;
  index_t next = m.conflict_index;
  if (m.conflict_term != 0)
    if (auto li = last_index_of_term(m.conflict_term))
      next = *li + 1;
  next = std::min(next, last_index() + 1);
  p.next = std::max(p.match + 1, next);
  p.mode = peer_mode::probe;
  p.probe_sent = false;
  p.inflight = 0;
  send_append(m.from, p, false);
}

void node::on(const snapshot_reply& m) {
  peer* pp = replying_peer(m.term, m.from);
  if (!pp)
    return;
  peer& p = *pp;
  const bool advanced = m.last_index > p.match;
  p.match = std::max(p.match, m.last_index);
  if (p.mode == peer_mode::snapshot) {
    p.mode = peer_mode::probe;
    p.probe_sent = false;
    p.next = p.match + 1;
  }
  if (advanced)
    maybe_commit();
  if (role_ == node_role::leader)
    send_more(m.from, p);
}

/// Commits the highest index a majority of voters holds, if it is of the
/// current term (Raft 5.4.2: older entries are only committed with it).
void node::maybe_commit() {
  if (role_ != node_role::leader || config_.voters.empty())
    return;
  std::vector<index_t> matches;
  matches.reserve(config_.voters.size());
  for (node_id v : config_.voters)
    matches.push_back(v == id_ ? last_index() : peers_.at(v).match);
  std::sort(matches.begin(), matches.end(), std::greater<>());
  const index_t n = matches[quorum() - 1];
  if (n > commit_ && term_at(n) == hs_.term)
    commit_ = n;
  // A leader that removed itself leads until the removal is committed, then
  // hands over to the voter with the longest log.
  if (!is_voter(id_) && commit_ >= config_index_) {
    auto best =
        std::max_element(peers_.begin(), peers_.end(), [](const auto& a, const auto& b) {
          return a.second.match < b.second.match;
        });
    if (best != peers_.end() && best->second.match >= config_index_)
      send(timeout_now{hs_.term, id_, best->first});
    become_follower(hs_.term, no_node);
  }
}

void node::maybe_send_timeout_now(node_id to, const peer& p) {
  if (transfer_to_ == to && p.match == last_index()) {
    send(timeout_now{hs_.term, id_, to});
    transfer_to_ = no_node; // sent once; the election decides
  }
}

void node::on(const timeout_now& m) {
  if (m.term < hs_.term || !is_voter(id_) || role_ == node_role::leader)
    return;
  if (m.term > hs_.term)
    become_follower(m.term, m.from);
  start_campaign(false, true);
}

// -- client calls -----------------------------------------------------------------

node::proposal node::append_commands(std::vector<std::string> commands) {
  proposal r;
  if (role_ != node_role::leader) {
    r.error = raft_error::not_leader;
    r.leader_hint = leader_;
    return r;
  }
  if (transfer_to_ != no_node) {
    r.error = raft_error::transferring;
    r.leader_hint = transfer_to_;
    return r;
  }
  begin(now_);
  r.index = last_index() + 1;
  r.term = hs_.term;
  for (auto& c : commands)
    append_local(
        log_entry{hs_.term, last_index() + 1, entry_kind::command, std::move(c)});
  broadcast();
  maybe_commit();
  r.out = finish();
  return r;
}

node::proposal node::propose(std::string command) {
  std::vector<std::string> one;
  one.push_back(std::move(command));
  return append_commands(std::move(one));
}

node::proposal node::propose_batch(std::vector<std::string> commands) {
  return append_commands(std::move(commands));
}

node::proposal node::change_config(node_id id, bool add) {
  proposal r;
  if (role_ != node_role::leader) {
    r.error = raft_error::not_leader;
    r.leader_hint = leader_;
    return r;
  }
  if (transfer_to_ != no_node)
    r.error = raft_error::transferring;
  else if (commit_ < term_start_index_)
    r.error = raft_error::leader_not_ready;
  else if (config_index_ > commit_)
    r.error = raft_error::change_pending;
  else if (is_voter(id) == add || (!add && config_.voters.size() == 1))
    r.error = raft_error::no_change;
  if (r.error != raft_error::ok)
    return r;
  cluster_config c = config_;
  if (add) {
    c.voters.insert(std::lower_bound(c.voters.begin(), c.voters.end(), id), id);
  } else {
    std::erase(c.voters, id);
  }
  begin(now_);
  r.index = last_index() + 1;
  r.term = hs_.term;
  append_local(log_entry{hs_.term, r.index, entry_kind::config, encode_config(c)});
  broadcast();
  maybe_commit();
  r.out = finish();
  return r;
}

node::proposal node::transfer_leadership(node_id to) {
  proposal r;
  if (role_ != node_role::leader) {
    r.error = raft_error::not_leader;
    r.leader_hint = leader_;
    return r;
  }
  auto it = peers_.find(to);
  if (it == peers_.end()) { // itself, or not a voter
    r.error = raft_error::no_change;
    return r;
  }
  begin(now_);
  transfer_to_ = to;
  transfer_deadline_ = now_ + params_.election_timeout_max;
  send_more(to, it->second);
  maybe_send_timeout_now(to, it->second);
  r.out = finish();
  return r;
}

node::proposal node::add_voter(node_id id) {
  return change_config(id, true);
}
node::proposal node::remove_voter(node_id id) {
  return change_config(id, false);
}

raft_error node::compact(index_t up_to, std::string state) {
  const index_t s = snap_.meta.last_index;
  if (up_to <= s || up_to > applied_)
    return raft_error::bad_index;
  snapshot_meta meta{up_to, *term_at(up_to), {}};
  meta.config = s > 0 ? snap_.meta.config : bootstrap_;
  for (index_t i = up_to; i > s; --i)
    if (const log_entry& e = *entry(i); e.kind == entry_kind::config) {
      meta.config = decode_config(e.data);
      break;
    }
  log_.erase(log_.begin(), log_.begin() + (up_to - s));
  snap_ = snapshot{std::move(meta), std::move(state)};
  return raft_error::ok;
}

// -- the log ----------------------------------------------------------------------

void node::append_local(log_entry e) {
  assert(e.index == last_index() + 1);
  const bool is_config = e.kind == entry_kind::config;
  out_.appended.push_back(e);
  log_.push_back(std::move(e));
  if (is_config) {
    config_ = decode_config(log_.back().data);
    config_index_ = log_.back().index;
    if (role_ == node_role::leader)
      sync_peers();
  }
}

void node::truncate_local(index_t from) {
  log_.erase(log_.begin() + (from - snap_.meta.last_index - 1), log_.end());
  std::erase_if(out_.appended, [&](const log_entry& e) { return e.index >= from; });
  out_.truncate_from = std::min(out_.truncate_from.value_or(from), from);
  if (config_index_ >= from)
    recompute_config();
}

void node::recompute_config() {
  config_ = snap_.meta.last_index > 0 ? snap_.meta.config : bootstrap_;
  config_index_ = snap_.meta.last_index;
  for (auto it = log_.rbegin(); it != log_.rend(); ++it)
    if (it->kind == entry_kind::config) {
      config_ = decode_config(it->data);
      config_index_ = it->index;
      break;
    }
  if (role_ == node_role::leader)
    sync_peers();
}

} // namespace marketsim::consensus::raft
