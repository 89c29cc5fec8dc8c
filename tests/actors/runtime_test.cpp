/// The runtime's two clocks. Virtual time: timers fire in exact time order at
/// their scheduled times, run_until stops at its horizon and a later call
/// continues, identical runs give identical event logs, simulated hours take
/// milliseconds. Real time: timers fire no earlier than scheduled, and
/// shutdown returns. Asking many actors works in both.

#include "actors/random.hpp"
#include "actors/runtime.hpp"
#include "actors/runtime_ask.hpp"

#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

using namespace marketsim;
using namespace std::chrono_literals;
using actors::clock_mode;
using actors::runtime;
using actors::runtime_params;

namespace {

constexpr std::int64_t ms = 1'000'000;
constexpr std::int64_t sec = 1'000 * ms;

/// One event as an actor saw it: its time since the runtime's start (read
/// from the actor's own clock) and who handled it.
struct event {
  std::int64_t time = 0;
  std::uint32_t actor = 0;
  bool operator==(const event&) const = default;
};

using event_log = std::vector<event>;

std::int64_t since(caf::actor_clock::time_point t, runtime::time_point start) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t - start).count();
}

/// Ticks every `period` (`count` times; 0: forever), logging each tick.
/// Answers get_atom with the times of its ticks so far.
caf::behavior ticker(caf::event_based_actor* self, std::uint32_t id, std::int64_t period,
                     std::uint32_t count, runtime::time_point start,
                     std::shared_ptr<event_log> log) {
  auto ticks = std::make_shared<std::vector<std::int64_t>>();
  self->delayed_send(self, std::chrono::nanoseconds{period}, caf::tick_atom::value);
  return {
      [=](caf::tick_atom) {
        auto now = since(self->clock().now(), start);
        ticks->push_back(now);
        if (log)
          log->push_back({now, id});
        if (count == 0 || ticks->size() < count)
          self->delayed_send(self, std::chrono::nanoseconds{period},
                             caf::tick_atom::value);
      },
      [=](caf::get_atom) { return *ticks; },
  };
}

/// Waits a random time (its own seeded stream) between its events, and on
/// each event also pings a random peer, which logs the ping on arrival.
caf::behavior wanderer(caf::event_based_actor* self, std::uint32_t id, std::uint64_t seed,
                       runtime::time_point start, std::shared_ptr<event_log> log,
                       std::shared_ptr<std::vector<caf::actor>> peers) {
  auto rng = std::make_shared<actors::random_stream>(actors::derive_seed(seed, id));
  auto next = [=] {
    auto wait = rng->uniform_int(1, 5'000) * 1'000; // 1 us .. 5 ms
    self->delayed_send(self, std::chrono::nanoseconds{wait}, caf::tick_atom::value);
  };
  next();
  return {
      [=](caf::tick_atom) {
        log->push_back({since(self->clock().now(), start), id});
        next();
        if (peers->empty()) // shutting down
          return;
        auto peer =
            (*peers)[rng->uniform_int(0, static_cast<std::int64_t>(peers->size()) - 1)];
        self->send(peer, caf::ok_atom::value, id);
      },
      [=](caf::ok_atom, std::uint32_t from) {
        log->push_back({since(self->clock().now(), start), 1000 + from});
      },
  };
}

std::uint64_t hash(const event_log& log) {
  std::uint64_t h = 1469598103934665603ull; // FNV-1a over the fields
  auto mix = [&h](std::uint64_t x) {
    for (int i = 0; i < 8; ++i) {
      h ^= (x >> (8 * i)) & 0xff;
      h *= 1099511628211ull;
    }
  };
  for (const auto& e : log) {
    mix(static_cast<std::uint64_t>(e.time));
    mix(e.actor);
  }
  return h;
}

/// A run of `n` wanderers for `horizon` of virtual time; returns the log.
event_log wander(std::uint32_t n, std::uint64_t seed, std::int64_t horizon) {
  runtime rt;
  auto log = std::make_shared<event_log>();
  auto peers = std::make_shared<std::vector<caf::actor>>();
  for (std::uint32_t i = 0; i < n; ++i)
    peers->push_back(rt.system().spawn(wanderer, i, seed, rt.start_time(), log, peers));
  rt.run_until(horizon);
  auto all = *peers;
  peers->clear(); // the actors hold this list: break the cycle of handles
  REQUIRE(rt.shutdown(all));
  return *log;
}

bool time_ordered(const event_log& log) {
  return std::is_sorted(log.begin(), log.end(),
                        [](const event& a, const event& b) { return a.time < b.time; });
}

} // namespace

// -- virtual time ------------------------------------------------------------------

TEST_CASE("virtual time: timers fire in time order, each at its scheduled time",
          "[runtime][virtual]") {
  runtime rt;
  REQUIRE(rt.now() == 0);
  auto log = std::make_shared<event_log>();
  std::vector<caf::actor> tickers;
  // Periods 7, 10 and 25 ms, five ticks each.
  tickers.push_back(rt.system().spawn(ticker, 1, 7 * ms, 5, rt.start_time(), log));
  tickers.push_back(rt.system().spawn(ticker, 2, 10 * ms, 5, rt.start_time(), log));
  tickers.push_back(rt.system().spawn(ticker, 3, 25 * ms, 5, rt.start_time(), log));
  rt.run_until(1 * sec);

  // At 50 ms both tickers 2 and 3 are due: timers due at the same time fire
  // in the order they were set (3 set its timer at 25 ms, 2 at 40 ms).
  const event_log expected = {
      {7 * ms, 1},  {10 * ms, 2}, {14 * ms, 1}, {20 * ms, 2},  {21 * ms, 1},
      {25 * ms, 3}, {28 * ms, 1}, {30 * ms, 2}, {35 * ms, 1},  {40 * ms, 2},
      {50 * ms, 3}, {50 * ms, 2}, {75 * ms, 3}, {100 * ms, 3}, {125 * ms, 3},
  };
  CHECK(*log == expected);
  CHECK(rt.now() == 1 * sec);
  CHECK(rt.events_processed() >= expected.size());
  CHECK(rt.shutdown(tickers));
}

TEST_CASE("virtual time: run_until stops at its horizon and a later call continues",
          "[runtime][virtual]") {
  runtime rt;
  auto log = std::make_shared<event_log>();
  std::vector<caf::actor> tickers{
      rt.system().spawn(ticker, 1, 10 * ms, 0, rt.start_time(), log)};

  rt.run_until(35 * ms);
  CHECK(rt.now() == 35 * ms);
  CHECK(*log == event_log{{10 * ms, 1}, {20 * ms, 1}, {30 * ms, 1}});

  // An event due exactly at the horizon belongs to it.
  rt.run_until(40 * ms);
  CHECK(rt.now() == 40 * ms);
  CHECK(log->size() == 4);
  CHECK(log->back() == event{40 * ms, 1});

  rt.run_for(25 * ms);
  CHECK(rt.now() == 65 * ms);
  CHECK(*log == event_log{{10 * ms, 1},
                          {20 * ms, 1},
                          {30 * ms, 1},
                          {40 * ms, 1},
                          {50 * ms, 1},
                          {60 * ms, 1}});

  // A horizon in the past changes nothing.
  rt.run_until(1 * ms);
  CHECK(rt.now() == 65 * ms);
  CHECK(log->size() == 6);
  CHECK(rt.shutdown(tickers));
}

TEST_CASE("virtual time: a horizon of INT64_MAX runs until no event is left",
          "[runtime][virtual]") {
  runtime rt;
  auto log = std::make_shared<event_log>();
  std::vector<caf::actor> tickers{
      rt.system().spawn(ticker, 1, 10 * ms, 3, rt.start_time(), log),
      rt.system().spawn(ticker, 2, 45 * ms, 2, rt.start_time(), log)};
  rt.run_until(std::numeric_limits<std::int64_t>::max());
  CHECK(*log ==
        event_log{{10 * ms, 1}, {20 * ms, 1}, {30 * ms, 1}, {45 * ms, 2}, {90 * ms, 2}});
  CHECK(rt.now() == 90 * ms); // the clock stays at the last event
  rt.run_for(10 * ms);
  CHECK(rt.now() == 100 * ms);
  CHECK(rt.shutdown(tickers));
}

TEST_CASE("virtual time: drain runs ready messages and fires no timer",
          "[runtime][virtual]") {
  runtime rt;
  auto log = std::make_shared<event_log>();
  auto t = rt.system().spawn(ticker, 1, 10 * ms, 0, rt.start_time(), log);
  caf::anon_send(t, caf::tick_atom::value); // an extra tick, now
  CHECK(rt.drain() >= 1);
  CHECK(rt.now() == 0);
  CHECK(*log == event_log{{0, 1}});
  CHECK(rt.drain() == 0);
  CHECK(rt.shutdown({t}));
}

TEST_CASE("virtual time: identical runs give identical event logs",
          "[runtime][virtual]") {
  auto first = wander(50, 42, 200 * ms);
  auto second = wander(50, 42, 200 * ms);
  auto other_seed = wander(50, 43, 200 * ms);

  REQUIRE(first.size() > 1000);
  CHECK(time_ordered(first));
  CHECK(first.back().time <= 200 * ms);
  CHECK(hash(first) == hash(second));
  CHECK(first == second);
  CHECK(hash(first) != hash(other_seed));
}

TEST_CASE("virtual time: simulated hours take milliseconds of wall time",
          "[runtime][virtual]") {
  runtime rt;
  std::vector<caf::actor> tickers;
  for (std::uint32_t i = 0; i < 10; ++i)
    tickers.push_back(rt.system().spawn(ticker, i, 1 * sec, 0, rt.start_time(), nullptr));
  std::vector<std::int64_t> progress_times;
  rt.on_progress([&](std::int64_t sim, std::uint64_t,
                     std::chrono::nanoseconds) { progress_times.push_back(sim); },
                 1ns);

  const std::int64_t hours = 3600 * sec;
  auto wall_start = std::chrono::steady_clock::now();
  rt.run_until(4 * hours);
  auto wall = std::chrono::steady_clock::now() - wall_start;

  CHECK(rt.now() == 4 * hours);
  // 10 tickers x 14,400 ticks, each one job.
  CHECK(rt.events_processed() >= 144'000);
  CHECK(wall < 2s); // typically ~50 ms
  // Progress reports came with the simulated time moving forward.
  REQUIRE(!progress_times.empty());
  CHECK(std::is_sorted(progress_times.begin(), progress_times.end()));
  CHECK(progress_times.back() <= 4 * hours);

  auto ticks =
      actors::ask_all<std::vector<std::int64_t>>(rt, tickers, caf::get_atom::value);
  REQUIRE(ticks.size() == 10);
  for (auto& t : ticks) {
    REQUIRE(t);
    CHECK(t->size() == 14'400);
    CHECK(t->back() == 4 * hours);
  }
  CHECK(rt.shutdown(tickers));
}

TEST_CASE("virtual time: ask_all returns answers in order, errors for null handles",
          "[runtime][virtual]") {
  runtime rt;
  std::vector<caf::actor> targets;
  for (std::int64_t i = 1; i <= 3; ++i)
    targets.push_back(rt.system().spawn([i](caf::event_based_actor*) -> caf::behavior {
      return {[i](caf::get_atom) { return i * 100; }};
    }));
  auto with_null = targets;
  with_null.insert(with_null.begin() + 1, caf::actor{});

  auto answers = actors::ask_all<std::int64_t>(rt, with_null, caf::get_atom::value);
  REQUIRE(answers.size() == 4);
  REQUIRE(answers[0]);
  CHECK(*answers[0] == 100);
  CHECK(answers[1].error() == caf::sec::invalid_argument);
  REQUIRE(answers[2]);
  CHECK(*answers[2] == 200);
  REQUIRE(answers[3]);
  CHECK(*answers[3] == 300);
  CHECK(rt.now() == 0);
  CHECK(rt.shutdown(targets));
}

TEST_CASE("virtual time: actors left with pending timers do not block the end",
          "[runtime][virtual]") {
  // No shutdown: the runtime's destructor cancels the timers that keep these
  // actors alive, so the actor system's destructor does not wait forever.
  auto rt = std::make_unique<runtime>();
  for (std::uint32_t i = 0; i < 100; ++i)
    rt->system().spawn(ticker, i, 1 * ms, 0, rt->start_time(), nullptr);
  rt->run_until(50 * ms);
  CHECK(rt->now() == 50 * ms);
  rt.reset();
  CHECK(rt == nullptr);
}

// -- real time -----------------------------------------------------------------------

TEST_CASE("real time: timers fire no earlier than scheduled and in order",
          "[runtime][real]") {
  runtime rt{runtime_params{clock_mode::real_time, 2, actors::scheduler_policy::sharing}};
  std::vector<caf::actor> tickers{
      rt.system().spawn(ticker, 1, 20 * ms, 5, rt.start_time(), nullptr),
      rt.system().spawn(ticker, 2, 30 * ms, 3, rt.start_time(), nullptr)};
  std::vector<std::int64_t> reports;
  rt.on_progress([&](std::int64_t sim, std::uint64_t,
                     std::chrono::nanoseconds) { reports.push_back(sim); },
                 50ms);

  rt.run_until(150 * ms);
  CHECK(rt.now() >= 150 * ms);
  CHECK(!reports.empty());

  auto ticks =
      actors::ask_all<std::vector<std::int64_t>>(rt, tickers, caf::get_atom::value, 5s);
  REQUIRE(ticks.size() == 2);
  const std::int64_t periods[] = {20 * ms, 30 * ms};
  for (std::size_t a = 0; a < 2; ++a) {
    INFO("ticker " << a + 1);
    REQUIRE(ticks[a]);
    const auto& t = *ticks[a];
    REQUIRE(!t.empty());
    CHECK(std::is_sorted(t.begin(), t.end()));
    // Tick k comes at least k periods after the start (each timer is set
    // when the previous one fired, so lateness only adds up).
    for (std::size_t k = 0; k < t.size(); ++k)
      CHECK(t[k] >= static_cast<std::int64_t>(k + 1) * periods[a]);
  }
  CHECK(rt.shutdown(tickers, 5s));
}

TEST_CASE("real time: shutdown returns with periodic timers still pending",
          "[runtime][real]") {
  auto rt = std::make_unique<runtime>(
      runtime_params{clock_mode::real_time, 2, actors::scheduler_policy::stealing});
  std::vector<caf::actor> tickers;
  for (std::uint32_t i = 0; i < 20; ++i)
    tickers.push_back(
        rt->system().spawn(ticker, i, 1 * ms, 0, rt->start_time(), nullptr));
  rt->run_for(20 * ms);
  CHECK(rt->shutdown(tickers, 5s));
  tickers.clear();
  rt.reset();
  CHECK(rt == nullptr);
}
