#include "market/fundamental_oracle.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <optional>
#include <stdexcept>
#include <utility>

namespace marketsim::market {

namespace {

using actors::fundamental_oracle_actor;

struct oracle_state {
  fundamental_oracle_params params;
  /// Optional only because actor state must be default-constructible.
  std::optional<fundamental_process> process;
  caf::actor_clock::time_point start;
  caf::actor_clock::time_point last_step;
  std::uint64_t steps = 0; ///< steps taken since the start
  static inline const char* name = "fundamental_oracle";
};

using oracle_ptr = fundamental_oracle_actor::stateful_pointer<oracle_state>;

actors::timestamp_ns to_ns(caf::actor_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch())
      .count();
}

void publish(oracle_ptr self) {
  auto& st = self->state;
  if (!st.params.hub)
    return;
  auto time = to_ns(st.last_step);
  for (std::size_t i = 0; i < st.process->size(); ++i)
    self->send(st.params.hub,
               actors::signal_message{st.params.topic, st.params.symbol_ids[i],
                                      st.process->value(i), 0, time});
}

/// Sets the timer of the next step, due at start + (steps + 1) * period:
/// due times do not drift with the lateness of real-time timers.
void schedule_next(oracle_ptr self) {
  auto& st = self->state;
  auto due = st.start + st.params.period * static_cast<std::int64_t>(st.steps + 1);
  auto delay =
      std::max(due - self->clock().now(), caf::actor_clock::duration_type::zero());
  self->delayed_send(self, delay, actors::fundamental_tick{});
}

void step(oracle_ptr self) {
  auto& st = self->state;
  auto now = self->clock().now();
  auto elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(now - st.last_step);
  st.process->step(static_cast<double>(elapsed.count()) /
                   static_cast<double>(st.params.time_unit.count()));
  st.last_step = now;
  ++st.steps;
}

fundamental_oracle_actor::behavior_type
oracle(oracle_ptr self, fundamental_oracle_params params, fundamental_process process) {
  auto& st = self->state;
  st.params = std::move(params);
  st.process.emplace(std::move(process));
  st.start = self->clock().now();
  st.last_step = st.start;
  publish(self);
  schedule_next(self);
  return {
      [self](actors::fundamental_tick) {
        step(self);
        publish(self);
        schedule_next(self);
      },
      [self](actors::fundamental_request) {
        auto& st = self->state;
        actors::fundamental_values out;
        out.time = to_ns(st.last_step);
        out.values.reserve(st.process->size());
        for (std::size_t i = 0; i < st.process->size(); ++i)
          out.values.push_back(
              {st.params.symbol_ids[i], st.process->value(i), st.process->price(i)});
        return out;
      },
  };
}

} // namespace

actors::fundamental_oracle_actor
spawn_fundamental_oracle(caf::actor_system& sys, fundamental_oracle_params params) {
  if (params.period <= std::chrono::nanoseconds::zero())
    throw std::invalid_argument("fundamental oracle: period must be positive");
  if (params.time_unit <= std::chrono::nanoseconds::zero())
    throw std::invalid_argument("fundamental oracle: time_unit must be positive");
  auto n = params.process.symbols.size();
  if (params.symbol_ids.empty()) {
    for (std::size_t i = 0; i < n; ++i)
      params.symbol_ids.push_back(static_cast<symbol_id>(i));
  } else if (params.symbol_ids.size() != n) {
    throw std::invalid_argument(
        "fundamental oracle: " + std::to_string(params.symbol_ids.size()) +
        " symbol ids for " + std::to_string(n) + " symbols");
  }
  // Validates the process params here, at spawn, rather than in the actor.
  fundamental_process process{params.process};
  return sys.spawn(oracle, std::move(params), std::move(process));
}

} // namespace marketsim::market
