#include "consensus/raft/client.hpp"

#include "actors/consensus_messages.hpp"
#include "consensus/raft/reply_groups.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace marketsim::consensus::raft {

namespace {

using namespace marketsim::actors;

/// One user request in flight. The client's own request id (the map key)
/// is what validators see; the user's id goes back in the reply.
struct request {
  caf::actor user;
  std::uint64_t user_id = 0;
  std::string command;
  std::uint32_t attempt = 0; ///< sends so far
  std::int64_t received_ns = 0;
  std::size_t sent_to = 0; ///< index of the validator of the last send
  std::uint64_t last_send = 0; ///< the number of the send that carried it last
};

/// One message to a validator (a batch, or a single command) and the
/// requests it carried: one retry timer per send, not per request.
struct send_record {
  std::size_t to = 0;
  std::vector<std::uint64_t> ids;
};

struct client_state {
  static inline const char* name = "marketsim.raft_client";

  client_params params;
  std::size_t leader = 0; ///< index into params.ids of the validator we send to
  std::uint64_t next_id = 1;
  std::uint64_t acked_below = 1; ///< every id below it is settled
  std::unordered_map<std::uint64_t, request> inflight;
  std::vector<std::uint64_t> batch; ///< ids waiting for the next send
  bool flush_armed = false;
  std::uint64_t next_send = 1;
  std::unordered_map<std::uint64_t, send_record> sends; ///< until their timer fires
  std::vector<std::int64_t> latencies;
  raft_client_stats stats;
};

using client_ptr = caf::stateful_actor<client_state>*;

std::int64_t now_ns(client_ptr self) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             self->clock().now().time_since_epoch())
      .count();
}

/// Sends the open batch to the validator we believe leads, and arms one
/// retry timer for the requests it carries.
void flush(client_ptr self) {
  auto& st = self->state;
  if (st.batch.empty())
    return;
  const auto send = st.next_send++;
  send_record record{st.leader, {}};
  record.ids.reserve(st.batch.size());
  raft_submit_batch out;
  out.commands.reserve(st.batch.size());
  for (auto id : st.batch) {
    auto it = st.inflight.find(id);
    if (it == st.inflight.end())
      continue;
    auto& r = it->second;
    ++r.attempt;
    r.sent_to = st.leader;
    r.last_send = send;
    ++st.stats.sends;
    out.commands.push_back({id, r.command, st.params.session, st.acked_below});
    record.ids.push_back(id);
  }
  st.batch.clear();
  if (record.ids.empty())
    return;
  st.sends.emplace(send, std::move(record));
  self->delayed_send(self, st.params.retry_after, raft_client_timer{send});
  const auto& to = st.params.handles[st.leader];
  if (out.commands.size() == 1)
    self->send(to, std::move(out.commands.front()));
  else if (!out.commands.empty())
    self->send(to, std::move(out));
}

void enqueue(client_ptr self, std::uint64_t id) {
  auto& st = self->state;
  st.batch.push_back(id);
  if (st.batch.size() >= st.params.max_batch || st.params.batch_window.count() == 0) {
    flush(self);
    return;
  }
  if (!st.flush_armed) {
    st.flush_armed = true;
    self->delayed_send(self, st.params.batch_window, raft_client_timer{0});
  }
}

void finish(client_ptr self, std::uint64_t id, raft_submit_reply reply,
            reply_groups& answers) {
  auto& st = self->state;
  auto it = st.inflight.find(id);
  if (it == st.inflight.end())
    return;
  auto r = std::move(it->second);
  st.inflight.erase(it);
  while (st.acked_below < st.next_id && !st.inflight.contains(st.acked_below))
    ++st.acked_below;
  const auto now = now_ns(self);
  switch (reply.status) {
    case raft_submit_status::committed:
      ++st.stats.committed;
      break;
    case raft_submit_status::rejected:
      ++st.stats.rejected;
      break;
    default:
      ++st.stats.gave_up;
      break;
  }
  if (reply.status == raft_submit_status::committed ||
      reply.status == raft_submit_status::rejected) {
    st.latencies.push_back(now - r.received_ns);
    if (st.stats.first_commit_ns < 0)
      st.stats.first_commit_ns = now;
    else if (now - st.stats.last_commit_ns > st.stats.longest_gap_ns) {
      st.stats.longest_gap_ns = now - st.stats.last_commit_ns;
      st.stats.longest_gap_end_ns = now;
    }
    st.stats.last_commit_ns = now;
  }
  reply.request_id = r.user_id;
  answers.add(r.user, std::move(reply));
}

/// Another try for request `id`, to the validator we now believe leads.
void retry(client_ptr self, std::uint64_t id, reply_groups& answers) {
  auto& st = self->state;
  auto it = st.inflight.find(id);
  if (it == st.inflight.end())
    return;
  if (it->second.attempt >= st.params.max_attempts) {
    finish(self, id,
           raft_submit_reply{id, raft_submit_status::unavailable, 0, 0, 0, {},
                             "no validator committed it after " +
                                 std::to_string(it->second.attempt) + " attempts"},
           answers);
    return;
  }
  enqueue(self, id);
}

/// Moves on from validator `from` (an index into ids), unless another answer
/// moved on already (many requests time out together when a leader dies:
/// they must not each advance, or the client cycles back to it).
void next_validator(client_ptr self, std::size_t from) {
  auto& st = self->state;
  if (from == st.leader)
    st.leader = (st.leader + 1) % st.params.ids.size();
}

void on_reply(client_ptr self, raft_submit_reply& r, reply_groups& answers) {
  auto& st = self->state;
  auto it = st.inflight.find(r.request_id);
  if (it == st.inflight.end())
    return; // an answer to an earlier attempt that was already settled
  switch (r.status) {
    case raft_submit_status::committed:
    case raft_submit_status::rejected:
      finish(self, r.request_id, std::move(r), answers);
      return;
    case raft_submit_status::redirect: {
      ++st.stats.redirects;
      auto hint = std::find(st.params.ids.begin(), st.params.ids.end(), r.leader_hint);
      if (hint != st.params.ids.end() &&
          static_cast<std::size_t>(hint - st.params.ids.begin()) != st.leader)
        st.leader = static_cast<std::size_t>(hint - st.params.ids.begin());
      else if (hint == st.params.ids.end())
        // No leader known there yet: wait for the retry timer rather than
        // bouncing between followers during an election.
        return;
      retry(self, r.request_id, answers);
      return;
    }
    case raft_submit_status::lost:
      ++st.stats.lost;
      retry(self, r.request_id, answers);
      return;
    case raft_submit_status::unavailable:
      next_validator(self, it->second.sent_to);
      return; // the retry timer sends again
  }
}

void on_submit(client_ptr self, raft_submit& s) {
  auto& st = self->state;
  ++st.stats.requests;
  const auto id = st.next_id++;
  st.inflight[id] = {caf::actor_cast<caf::actor>(self->current_sender()), s.request_id,
                     std::move(s.command), 0, now_ns(self)};
  enqueue(self, id);
}

raft_client_stats stats_of(client_ptr self) {
  auto& st = self->state;
  auto s = st.stats;
  auto& v = st.latencies;
  if (!v.empty()) {
    std::sort(v.begin(), v.end());
    auto at = [&](double q) {
      return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
    };
    s.latency_p50_ns = at(0.50);
    s.latency_p90_ns = at(0.90);
    s.latency_p99_ns = at(0.99);
    s.latency_max_ns = v.back();
  }
  return s;
}

caf::behavior client(client_ptr self, client_params params) {
  self->state.params = std::move(params);
  self->state.leader = self->state.params.first_guess % self->state.params.ids.size();
  return {
      [self](raft_submit& s) { on_submit(self, s); },
      [self](raft_submit_batch& b) {
        for (auto& s : b.commands)
          on_submit(self, s);
      },
      [self](raft_submit_reply& r) {
        reply_groups answers;
        on_reply(self, r, answers);
        answers.flush(self);
      },
      [self](raft_submit_reply_batch& b) {
        reply_groups answers;
        for (auto& r : b.replies)
          on_reply(self, r, answers);
        answers.flush(self);
      },
      [self](const raft_peers& p) {
        // New handles (a validator restarted, or moved): ids not listed
        // keep theirs; unknown ids are added.
        auto& st = self->state;
        for (std::size_t k = 0; k < p.ids.size() && k < p.handles.size(); ++k) {
          auto it = std::find(st.params.ids.begin(), st.params.ids.end(), p.ids[k]);
          if (it == st.params.ids.end()) {
            st.params.ids.push_back(p.ids[k]);
            st.params.handles.push_back(p.handles[k]);
          } else {
            st.params.handles[static_cast<std::size_t>(it - st.params.ids.begin())] =
                p.handles[k];
          }
        }
      },
      [self](const raft_client_timer& t) {
        auto& st = self->state;
        if (t.send == 0) {
          st.flush_armed = false;
          flush(self);
          return;
        }
        auto sent = st.sends.find(t.send);
        if (sent == st.sends.end())
          return;
        auto record = std::move(sent->second);
        st.sends.erase(sent);
        // Requests of that send neither settled nor sent again since.
        std::vector<std::uint64_t> late;
        for (auto id : record.ids) {
          auto it = st.inflight.find(id);
          if (it != st.inflight.end() && it->second.last_send == t.send)
            late.push_back(id);
        }
        if (late.empty())
          return;
        st.stats.timeouts += late.size();
        next_validator(self, record.to);
        reply_groups answers;
        for (auto id : late)
          retry(self, id, answers);
        answers.flush(self);
      },
      [self](const raft_client_stats_request&) -> raft_client_stats {
        return stats_of(self);
      },
  };
}

} // namespace

caf::actor spawn_raft_client(caf::actor_system& sys, client_params params) {
  if (params.ids.empty() || params.ids.size() != params.handles.size())
    throw std::invalid_argument("raft client: the validators' ids and handles must be "
                                "non-empty and of the same length");
  if (params.max_batch == 0)
    params.max_batch = 1;
  if (params.max_attempts == 0)
    params.max_attempts = 1;
  while (params.session == 0)
    params.session = std::random_device{}() * 0x100000000ull + std::random_device{}();
  return sys.spawn(client, std::move(params));
}

} // namespace marketsim::consensus::raft
