#pragma once

/// Answers to client commands, grouped by recipient until the step that
/// produced them ends: a validator applying a thousand committed entries of
/// one client sends it one raft_submit_reply_batch, not a thousand messages.
/// A group of one goes as a plain raft_submit_reply. For actors only (CAF).

#include "actors/consensus_messages.hpp"

#include <caf/actor.hpp>

#include <utility>
#include <vector>

namespace marketsim::consensus::raft {

class reply_groups {
public:
  void add(const caf::actor& to, actors::raft_submit_reply reply) {
    if (!to)
      return;
    for (auto& [who, replies] : groups_)
      if (who == to) {
        replies.push_back(std::move(reply));
        return;
      }
    groups_.emplace_back(to, std::vector<actors::raft_submit_reply>{});
    groups_.back().second.push_back(std::move(reply));
  }

  /// Sends every group from `self` and empties the groups.
  template <class Self>
  void flush(Self* self) {
    for (auto& [who, replies] : groups_) {
      if (replies.size() == 1)
        self->send(who, std::move(replies.front()));
      else
        self->send(who, actors::raft_submit_reply_batch{std::move(replies)});
    }
    groups_.clear();
  }

  bool empty() const { return groups_.empty(); }

private:
  /// Few recipients per step (usually one client): a vector, searched.
  std::vector<std::pair<caf::actor, std::vector<actors::raft_submit_reply>>> groups_;
};

} // namespace marketsim::consensus::raft
