#include "consensus/raft/validator.hpp"

#include "actors/consensus_messages.hpp"
#include "consensus/raft/client_sessions.hpp"
#include "consensus/raft/raft_storage.hpp"
#include "consensus/raft/replicated_exchange.hpp"
#include "consensus/raft/reply_groups.hpp"
#include "consensus/raft/settlement_ledger.hpp"
#include "market/symbol_table.hpp"

#include <caf/all.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <chrono>
#include <map>
#include <optional>
#include <stdexcept>
#include <utility>

namespace marketsim::consensus::raft {

// -- state machine adapters ------------------------------------------------------

namespace {

/// "events=N trades=M", without a format parser per applied order.
std::string summary(std::size_t events, std::uint64_t trades) {
  std::string out;
  out.reserve(40);
  char digits[24];
  out += "events=";
  out.append(digits, std::to_chars(digits, digits + sizeof digits, events).ptr);
  out += " trades=";
  out.append(digits, std::to_chars(digits, digits + sizeof digits, trades).ptr);
  return out;
}

class exchange_adapter final : public state_machine {
public:
  exchange_adapter(market::symbol_table table, std::vector<market::symbol_id> ids)
    : exchange_(std::move(table), std::move(ids)) {
  }

  result apply(const log_entry& e) override {
    const auto& r = exchange_.apply(e);
    if (!r.ok())
      return {{}, r.error, 0};
    std::uint64_t trades = 0;
    for (const auto& ev : r.events)
      trades += ev.kind == market::event_kind::trade ? 1 : 0;
    return {summary(r.events.size(), trades), {}, trades};
  }

  std::string snapshot() const override {
    return exchange_.snapshot();
  }
  std::string restore(std::string_view bytes) override {
    return exchange_.restore(bytes);
  }
  std::string state_hash() const override {
    return to_hex(exchange_.state_hash());
  }

private:
  replicated_exchange exchange_;
};

class ledger_adapter final : public state_machine {
public:
  result apply(const log_entry& e) override {
    const auto before = ledger_.trades_settled();
    auto r = ledger_.apply(e);
    if (!r.ok())
      return {{}, r.error, 0};
    return {{}, {}, ledger_.trades_settled() - before};
  }
  std::string snapshot() const override {
    return ledger_.snapshot();
  }
  std::string restore(std::string_view bytes) override {
    return ledger_.restore(bytes);
  }
  std::string state_hash() const override {
    return to_hex(ledger_.state_hash());
  }

private:
  settlement_ledger ledger_;
};

} // namespace

state_machine_factory exchange_machine(std::vector<std::string> symbols,
                                       std::int64_t tick_size, std::int64_t lot_size) {
  // Checked here, at start-up, so that a bad list fails before any actor runs.
  if (symbols.empty())
    throw std::invalid_argument("exchange_machine: no symbols");
  return [symbols = std::move(symbols), tick_size, lot_size] {
    market::symbol_table table;
    std::vector<market::symbol_id> ids;
    for (const auto& name : symbols)
      ids.push_back(table.add({name, tick_size, lot_size}));
    return std::make_unique<exchange_adapter>(std::move(table), std::move(ids));
  };
}

state_machine_factory ledger_machine() {
  return [] { return std::make_unique<ledger_adapter>(); };
}

// -- the actor ---------------------------------------------------------------------

namespace {

using namespace marketsim::actors;

/// A client command waiting for its entry to commit.
struct pending_command {
  caf::actor reply_to;
  std::uint64_t request_id = 0;
  term_t term = 0;
};

struct validator_state {
  static inline const char* name = "marketsim.raft_validator";

  validator_params params;
  std::unique_ptr<node> core;
  std::optional<raft_storage> store;
  std::unique_ptr<state_machine> machine;
  client_sessions sessions; ///< replicated with the machine (snapshots hold both)
  log_entry unwrapped;      ///< the entry the machine sees (reused buffer)
  std::map<node_id, caf::actor> peers;
  std::map<index_t, pending_command> pending;
  std::optional<time_ns> armed_at; ///< the earliest raft_wake pending
  index_t applied_since_snapshot = 0;
  std::uint64_t elections_won = 0;
  std::int64_t became_leader_ns = -1;
  node_role last_role = node_role::follower;
  std::string failure; ///< set once storage or the state machine failed: stop serving
  bool warned_unknown_peer = false;
};

using validator_ptr = caf::stateful_actor<validator_state>*;

time_ns now_ns(validator_ptr self) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             self->clock().now().time_since_epoch())
      .count();
}

void fail(validator_ptr self, std::string why) {
  auto& st = self->state;
  if (!st.failure.empty())
    return;
  spdlog::error("raft validator {}: {}; it stops serving", st.params.id, why);
  st.failure = std::move(why);
  reply_groups replies;
  for (auto& [index, p] : st.pending)
    replies.add(p.reply_to, raft_submit_reply{p.request_id, raft_submit_status::unavailable, 0,
                                              index, p.term, {}, st.failure});
  st.pending.clear();
  replies.flush(self);
}

/// Step 1: everything the core wants on disk, then one sync.
bool persist(validator_ptr self, const output& out) {
  auto& st = self->state;
  if (!st.store)
    return true;
  auto check = [&](const storage_error& err, const char* what) {
    if (err)
      fail(self, fmt::format("storage: {}: {}", what, to_string(err)));
    return !err;
  };
  auto& store = *st.store;
  if (out.truncate_from && *out.truncate_from <= store.last_index() &&
      !check(store.truncate_suffix(*out.truncate_from), "truncate"))
    return false;
  if (out.installed_snapshot) {
    if (!check(store.save_snapshot(*out.installed_snapshot), "save snapshot"))
      return false;
    // The log restarts after the snapshot; entries it covers are dropped.
    const auto last = out.installed_snapshot->meta.last_index;
    if (last > store.base_index() && !check(store.compact_prefix(last), "compact"))
      return false;
    if (store.last_index() > last && !check(store.truncate_suffix(last + 1), "truncate"))
      return false;
  }
  if (!out.appended.empty() && !check(store.append(out.appended), "append"))
    return false;
  if (out.persist_state && !check(store.save_hard_state(*out.persist_state), "hard state"))
    return false;
  const bool wrote = out.truncate_from || !out.appended.empty() || out.persist_state;
  if (wrote && !st.params.sync_every_write && !check(store.sync(), "sync"))
    return false;
  return true;
}

/// Sends (moves: an append's entries are not copied once more) the core's
/// messages.
void send_all(validator_ptr self, std::vector<message>& sends) {
  auto& st = self->state;
  for (auto& m : sends) {
    auto it = st.peers.find(receiver(m));
    if (it == st.peers.end() || !it->second) {
      // Not introduced yet (raft_peers comes after spawning): as if lost.
      if (!st.warned_unknown_peer) {
        spdlog::debug("raft validator {}: no handle for validator {} yet", st.params.id,
                      receiver(m));
        st.warned_unknown_peer = true;
      }
      continue;
    }
    std::visit([&](auto& x) { self->send(it->second, std::move(x)); }, m);
  }
}

void maybe_snapshot(validator_ptr self) {
  auto& st = self->state;
  if (st.params.snapshot_every == 0 || st.applied_since_snapshot < st.params.snapshot_every)
    return;
  const auto upto = st.core->applied_index();
  if (auto err = st.core->compact(upto, st.sessions.snapshot_with(st.machine->snapshot()));
      err != raft_error::ok) {
    spdlog::warn("raft validator {}: compact at {}: {}", st.params.id, upto, to_string(err));
    return;
  }
  st.applied_since_snapshot = 0;
  if (!st.store)
    return;
  if (auto err = st.store->save_snapshot(st.core->last_snapshot()); err) {
    fail(self, "storage: save snapshot: " + to_string(err));
    return;
  }
  if (auto err = st.store->compact_prefix(upto); err)
    fail(self, "storage: compact: " + to_string(err));
}

/// Replaces the sessions and the machine with a snapshot's; empty on success.
std::string restore_snapshot(validator_state& st, std::string_view bytes) {
  auto machine_bytes = st.sessions.restore_from(bytes);
  if (!machine_bytes)
    return machine_bytes.reason;
  if (auto why = st.machine->restore(*machine_bytes.value); !why.empty())
    return "the state machine: " + why;
  return {};
}

/// Applies committed entry `e`: a command is unwrapped (client_sessions.hpp)
/// and applied unless its session already had it applied, in which case
/// the machine sees a noop (it still tracks the index) and the first answer
/// is returned too. The entry the machine saw is left in st.unwrapped.
std::pair<state_machine::result, std::optional<client_sessions::answer>>
apply_entry(validator_state& st, const log_entry& e) {
  st.unwrapped.term = e.term;
  st.unwrapped.index = e.index;
  st.unwrapped.kind = e.kind;
  if (e.kind != entry_kind::command) {
    st.unwrapped.data = e.data;
    return {st.machine->apply(st.unwrapped), std::nullopt};
  }
  auto u = unwrap_command(e.data);
  if (!u) { // not from a validator of this version: refused, the index moves on
    st.unwrapped.kind = entry_kind::noop;
    st.unwrapped.data.clear();
    auto r = st.machine->apply(st.unwrapped);
    r.error = "malformed entry: " + u.reason;
    return {std::move(r), std::nullopt};
  }
  const session_header& h = u.value->header;
  if (auto first = st.sessions.check(h, e.index)) {
    st.unwrapped.kind = entry_kind::noop;
    st.unwrapped.data.clear();
    return {st.machine->apply(st.unwrapped), std::move(first)};
  }
  st.unwrapped.data.assign(u.value->command);
  auto r = st.machine->apply(st.unwrapped);
  st.sessions.record(h,
                     r.error.empty() ? client_sessions::outcome::committed
                                     : client_sessions::outcome::rejected,
                     r.output, r.error, e.index, e.term);
  return {std::move(r), std::nullopt};
}

void apply_committed(validator_ptr self, const output& out) {
  auto& st = self->state;
  if (out.installed_snapshot) {
    if (auto why = restore_snapshot(st, out.installed_snapshot->data); !why.empty()) {
      fail(self, "refused the leader's snapshot: " + why);
      return;
    }
    st.applied_since_snapshot = 0;
    // Commands up to the snapshot were applied by the leader's replica.
    for (auto it = st.pending.begin();
         it != st.pending.end() && it->first <= out.installed_snapshot->meta.last_index;)
      it = st.pending.erase(it);
  }
  reply_groups replies;
  for (const auto& e : out.committed) {
    auto [r, first] = apply_entry(st, e);
    ++st.applied_since_snapshot;
    if (st.params.on_apply)
      st.params.on_apply(st.params.id, st.unwrapped, r);
    auto it = st.pending.find(e.index);
    if (it == st.pending.end())
      continue;
    auto p = std::move(it->second);
    st.pending.erase(it);
    if (p.term != e.term) {
      replies.add(p.reply_to, raft_submit_reply{p.request_id, raft_submit_status::lost,
                                                st.core->leader(), e.index, p.term, {}, {}});
      continue;
    }
    if (first) { // a command applied before: its first answer
      replies.add(p.reply_to,
                  raft_submit_reply{p.request_id,
                                    first->status == client_sessions::outcome::committed
                                        ? raft_submit_status::committed
                                        : raft_submit_status::rejected,
                                    st.core->leader(), first->index, first->term,
                                    std::move(first->output), std::move(first->error)});
      continue;
    }
    const auto status =
        r.error.empty() ? raft_submit_status::committed : raft_submit_status::rejected;
    replies.add(p.reply_to, raft_submit_reply{p.request_id, status, st.core->leader(), e.index,
                                              e.term, std::move(r.output), std::move(r.error)});
  }
  replies.flush(self);
  maybe_snapshot(self);
}

void arm(validator_ptr self, time_ns wake_at) {
  auto& st = self->state;
  if (wake_at <= 0 || (st.armed_at && *st.armed_at <= wake_at))
    return;
  st.armed_at = wake_at;
  const auto delay = std::max<time_ns>(wake_at - now_ns(self), 0);
  self->delayed_send(self, std::chrono::nanoseconds{delay}, raft_wake{wake_at});
}

void track_role(validator_ptr self) {
  auto& st = self->state;
  const auto role = st.core->role();
  if (role == node_role::leader && st.last_role != node_role::leader) {
    ++st.elections_won;
    st.became_leader_ns = now_ns(self);
    spdlog::info("raft validator {}: leader of term {}", st.params.id, st.core->term());
  }
  if (role != node_role::leader && st.last_role == node_role::leader)
    spdlog::info("raft validator {}: no longer leader (term {})", st.params.id,
                 st.core->term());
  st.last_role = role;
}

/// The order of work of raft.hpp: persist, send, apply, re-arm.
void handle(validator_ptr self, output out) {
  auto& st = self->state;
  if (!st.failure.empty())
    return;
  if (!persist(self, out))
    return;
  send_all(self, out.sends);
  apply_committed(self, out);
  track_role(self);
  arm(self, out.wake_at);
}

void submit(validator_ptr self, const caf::actor& client, std::vector<raft_submit> commands) {
  auto& st = self->state;
  auto refuse = [&](raft_submit_status status, std::uint32_t hint, std::string why) {
    reply_groups replies;
    for (const auto& c : commands)
      replies.add(client, raft_submit_reply{c.request_id, status, hint, 0, 0, {}, why});
    replies.flush(self);
  };
  if (commands.empty())
    return;
  if (!client) {
    spdlog::warn("raft validator {}: a command without a sender cannot be answered; dropped "
                 "({} command(s))",
                 st.params.id, commands.size());
    return;
  }
  if (!st.failure.empty())
    return refuse(raft_submit_status::unavailable, 0, st.failure);
  std::vector<std::string> bytes;
  bytes.reserve(commands.size());
  for (auto& c : commands)
    bytes.push_back(wrap_command({c.session, c.request_id, c.acked_below}, c.command));
  auto p = st.core->propose_batch(std::move(bytes));
  if (p.error == raft_error::not_leader)
    return refuse(raft_submit_status::redirect, p.leader_hint, "not the leader");
  if (p.error == raft_error::transferring) // the hint, if any, is the next leader
    return refuse(raft_submit_status::redirect, p.leader_hint, "handing over leadership");
  if (p.error != raft_error::ok)
    return refuse(raft_submit_status::unavailable, p.leader_hint,
                  std::string{to_string(p.error)});
  for (std::size_t k = 0; k < commands.size(); ++k)
    st.pending[p.index + k] = {client, commands[k].request_id, p.term};
  handle(self, std::move(p.out));
}

void change_membership(validator_ptr self, const caf::actor& client,
                       const raft_membership& m) {
  auto& st = self->state;
  auto answer = [&](raft_submit_status status, std::uint32_t hint, std::string why) {
    if (client)
      self->send(client, raft_submit_reply{m.request_id, status, hint, 0, 0, {}, std::move(why)});
  };
  if (!st.failure.empty())
    return answer(raft_submit_status::unavailable, 0, st.failure);
  auto p = m.add ? st.core->add_voter(m.id) : st.core->remove_voter(m.id);
  if (p.error == raft_error::not_leader || p.error == raft_error::transferring)
    return answer(raft_submit_status::redirect, p.leader_hint, "not the leader");
  if (p.error != raft_error::ok)
    return answer(raft_submit_status::rejected, st.core->leader(),
                  fmt::format("{} validator {}: {}", m.add ? "adding" : "removing", m.id,
                              to_string(p.error)));
  spdlog::info("raft validator {}: {} validator {} (entry {})", st.params.id,
               m.add ? "adding" : "removing", m.id, p.index);
  if (client)
    st.pending[p.index] = {client, m.request_id, p.term};
  handle(self, std::move(p.out));
}

raft_status status_of(validator_ptr self) {
  auto& st = self->state;
  const auto& n = *st.core;
  return raft_status{st.params.id,
                     static_cast<std::uint8_t>(n.role()),
                     n.term(),
                     n.leader(),
                     n.commit_index(),
                     n.applied_index(),
                     n.last_index(),
                     n.snapshot_index(),
                     st.machine->state_hash(),
                     st.elections_won,
                     st.became_leader_ns,
                     st.failure};
}

/// What the storage holds, as the core wants it.
persistent_state recover(validator_state& st) {
  persistent_state ps;
  if (!st.store)
    return ps;
  auto loaded = st.store->load();
  if (!loaded)
    throw std::runtime_error(fmt::format("raft validator {}: {}: {}", st.params.id,
                                         st.params.data_dir, to_string(loaded.error())));
  auto& s = *loaded;
  if (s.torn)
    spdlog::warn("raft validator {}: dropped a torn write at the end of {} (offset {}, {} "
                 "bytes: {})",
                 st.params.id, s.torn->file, s.torn->offset, s.torn->dropped_bytes,
                 s.torn->reason);
  ps.state = s.hard;
  if (s.snap)
    ps.snap = *s.snap;
  for (auto& e : s.entries)
    if (e.index > ps.snap.meta.last_index)
      ps.log.push_back(std::move(e));
  return ps;
}

caf::behavior validator(validator_ptr self, validator_params params) {
  auto& st = self->state;
  st.params = std::move(params);
  st.machine = st.params.machine();
  if (!st.params.data_dir.empty()) {
    storage_options opts;
    opts.sync = st.params.sync_every_write ? sync_policy::every_write : sync_policy::manual;
    auto opened = raft_storage::open(st.params.data_dir, opts);
    if (!opened)
      throw std::runtime_error(fmt::format("raft validator {}: {}", st.params.id,
                                           to_string(opened.error())));
    st.store.emplace(std::move(*opened));
  }
  auto restored = recover(st);
  if (restored.snap.meta.last_index > 0) {
    if (auto why = restore_snapshot(st, restored.snap.data); !why.empty())
      throw std::runtime_error(fmt::format(
          "raft validator {}: the stored snapshot does not restore: {}", st.params.id, why));
  }
  st.core = std::make_unique<node>(st.params.id, st.params.voters, st.params.raft,
                                   st.params.seed, now_ns(self), std::move(restored));
  arm(self, st.core->wake_at());
  // Anything else (an unknown type, a payload that did not deserialize and
  // arrives empty, a message for another role) is logged in one bounded
  // line and answered with unexpected_message; the validator goes on.
  self->set_default_handler([](caf::scheduled_actor* ptr,
                               caf::message_view& msg) -> caf::result<caf::message> {
    auto text = caf::to_string(msg.content());
    if (text.size() > 160)
      text = text.substr(0, 160) + "...";
    spdlog::warn("raft validator (actor {}): unexpected message {} rejected", ptr->id(), text);
    return caf::make_error(caf::sec::unexpected_message);
  });

  return {
      [self](const raft_peers& p) {
        auto& st = self->state;
        if (!take_peers(p, st.params.id, st.peers))
          spdlog::warn("raft validator {}: raft_peers with {} ids and {} handles: ignored",
                       st.params.id, p.ids.size(), p.handles.size());
      },
      [self](const raft_wake& w) {
        auto& st = self->state;
        if (st.armed_at && *st.armed_at == w.at_ns)
          st.armed_at.reset();
        handle(self, st.core->tick(now_ns(self)));
      },
      [self](raft_submit& c) {
        std::vector<raft_submit> one;
        one.push_back(std::move(c));
        submit(self, caf::actor_cast<caf::actor>(self->current_sender()), std::move(one));
      },
      [self](const raft_membership& m) {
        change_membership(self, caf::actor_cast<caf::actor>(self->current_sender()), m);
      },
      [self](raft_submit_batch& b) {
        submit(self, caf::actor_cast<caf::actor>(self->current_sender()),
               std::move(b.commands));
      },
      // A returned value answers a request, or goes back to the sender of a
      // plain message as an ordinary message.
      [self](const raft_status_request&) -> raft_status { return status_of(self); },
      [self](request_vote& m) { handle(self, self->state.core->step(m, now_ns(self))); },
      [self](vote_reply& m) { handle(self, self->state.core->step(m, now_ns(self))); },
      [self](append_entries& m) {
        handle(self, self->state.core->step(std::move(m), now_ns(self)));
      },
      [self](append_reply& m) { handle(self, self->state.core->step(m, now_ns(self))); },
      [self](install_snapshot& m) {
        handle(self, self->state.core->step(std::move(m), now_ns(self)));
      },
      [self](snapshot_reply& m) { handle(self, self->state.core->step(m, now_ns(self))); },
      [self](timeout_now& m) { handle(self, self->state.core->step(m, now_ns(self))); },
  };
}

} // namespace

caf::actor spawn_validator(caf::actor_system& sys, validator_params params) {
  if (!params.machine)
    throw std::invalid_argument("spawn_validator: no state machine");
  if (params.id == no_node)
    throw std::invalid_argument("spawn_validator: validator id 0 is reserved");
  // Open the storage here first, so that a bad directory is an exception at
  // the caller rather than an actor that dies in its constructor.
  if (!params.data_dir.empty()) {
    auto probe = raft_storage::open(params.data_dir);
    if (!probe)
      throw std::runtime_error(
          fmt::format("raft validator {}: {}", params.id, to_string(probe.error())));
  }
  return sys.spawn(validator, std::move(params));
}

} // namespace marketsim::consensus::raft
