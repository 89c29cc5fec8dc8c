#include "actors/runtime.hpp"

#include "actors/vocabulary.hpp"

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/actor_clock.hpp>
#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/detail/test_actor_clock.hpp>
#include <caf/exit_reason.hpp>
#include <caf/logger.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/send.hpp>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <limits>
#include <stdexcept>
#include <thread>
#include <type_traits>

namespace marketsim::actors {

static_assert(std::is_same_v<runtime::time_point, caf::actor_clock::time_point>,
              "runtime::time_point must be the actor clock's time point");

namespace {

using std::chrono::nanoseconds;
using std::chrono::steady_clock;

/// Jobs run between two looks at the wall clock for progress reports.
constexpr std::size_t jobs_per_progress_check = 4096;

/// How often real-time waits look at their condition.
constexpr auto poll_interval = std::chrono::milliseconds{1};

// -- the virtual clock ---------------------------------------------------------------

/// CAF's test clock (the virtual `current_time`; timeouts and request
/// timeouts in its multimap) with delayed messages, nearly every timer of a
/// simulation, moved to a heap in one array. With many timers pending the
/// multimap's insert walks a tree of scattered nodes, a cache miss per level
/// (perf: 45% of a run with 100,000 agents in its insert). Measured with
/// bench/virtual_time_load on 2 vCPUs, messages per CPU second: 100,000
/// agents 0.69M with the multimap, 0.93M with a binary heap; 1,000 agents
/// ~3.4M with either. Messages due at the same time fire in the order they
/// were scheduled (the sequence number), as in the multimap: both give the
/// same run, digest for digest.
///
/// The heap is 4-ary (half the levels of a binary heap, the four children
/// of a node in one or two cache lines) over trivially copyable entries (raw
/// pointers, owned by the heap: sifting copies 32 bytes without touching
/// reference counts or null checks). In the network benchmark, where every
/// link hop is a delayed message, this cut the clock's share of the run
/// from ~10% (binary std::push_heap/pop_heap over smart pointers).
class event_clock final : public caf::detail::test_actor_clock {
public:
  using test_actor_clock::schedule_message; // keeps the group overload

  ~event_clock() override { drop_all(); }

  void schedule_message(time_point t, caf::strong_actor_ptr receiver,
                        caf::mailbox_element_ptr content) override {
    entry x{t, next_seq_++, receiver.release(), content.release()};
    messages_.push_back(x);
    sift_up(messages_.size() - 1, x);
  }

  void cancel_all() override {
    // Dropping a message may destroy its receiver, whose cleanup may call
    // back into the clock: empty the heap before anything is destroyed.
    drop_all();
    test_actor_clock::cancel_all();
  }

  bool has_pending() const { return !messages_.empty() || has_pending_timeout(); }

  /// The due time of the earliest pending event; has_pending() must hold.
  time_point next_due() const {
    if (messages_.empty())
      return schedule().begin()->first;
    if (!has_pending_timeout())
      return messages_.front().due;
    return std::min(messages_.front().due, schedule().begin()->first);
  }

  /// Fires the earliest pending event (a timeout before a message due at
  /// the same time), moving current_time up to its due time.
  void fire_next() {
    if (has_pending_timeout() &&
        (messages_.empty() || schedule().begin()->first <= messages_.front().due)) {
      trigger_timeout();
      return;
    }
    const entry top = messages_.front();
    const entry last = messages_.back();
    messages_.pop_back();
    if (!messages_.empty())
      sift_down(last);
    if (top.due > current_time)
      current_time = top.due;
    // Adopt the references the heap held.
    caf::strong_actor_ptr receiver{top.receiver, false};
    receiver->enqueue(caf::mailbox_element_ptr{top.content}, nullptr);
  }

private:
  /// A delayed message; the heap owns one reference to the receiver and the
  /// content.
  struct entry {
    time_point due;
    std::uint64_t seq;
    caf::actor_control_block* receiver;
    caf::mailbox_element* content;
  };
  static_assert(std::is_trivially_copyable_v<entry>);

  static constexpr std::size_t arity = 4;

  /// The heap's order: the earliest first, then the first scheduled.
  static bool before(const entry& a, const entry& b) {
    return a.due < b.due || (a.due == b.due && a.seq < b.seq);
  }

  /// Moves `x` (meant for slot i) up to its place.
  void sift_up(std::size_t i, entry x) {
    while (i > 0) {
      auto parent = (i - 1) / arity;
      if (!before(x, messages_[parent]))
        break;
      messages_[i] = messages_[parent];
      i = parent;
    }
    messages_[i] = x;
  }

  /// Puts `x` at the root and moves it down to its place.
  void sift_down(entry x) {
    const auto n = messages_.size();
    std::size_t i = 0;
    for (;;) {
      auto first = i * arity + 1;
      if (first >= n)
        break;
      auto best = first;
      auto end = std::min(first + arity, n);
      for (auto c = first + 1; c < end; ++c)
        best = before(messages_[c], messages_[best]) ? c : best;
      if (!before(messages_[best], x))
        break;
      messages_[i] = messages_[best];
      i = best;
    }
    messages_[i] = x;
  }

  void drop_all() {
    auto dropped = std::move(messages_);
    messages_.clear();
    for (const auto& x : dropped) {
      caf::mailbox_element_ptr content{x.content};
      caf::strong_actor_ptr receiver{x.receiver, false};
    }
  }

  std::vector<entry> messages_;
  std::uint64_t next_seq_ = 0;
};

/// CAF's deterministic scheduler (jobs run by run(), on the calling thread)
/// with the event_clock. CAF asks the scheduler for the clock through the
/// virtual clock(), so every delayed_send lands in the event_clock; the
/// test_coordinator's own clock stays unused.
class event_coordinator final : public caf::scheduler::test_coordinator {
public:
  using test_coordinator::test_coordinator;

  event_clock& clock() noexcept override { return events_; }

private:
  event_clock events_;
};

/// While it lives, CAF sees no logger on this thread. Every resume of an
/// actor calls the current logger's thread_local_aid twice (a shared
/// spinlock and a hash lookup by thread id), even though Debian's CAF
/// compiles every log statement out (CAF_LOG_LEVEL_QUIET): ~8% of a network
/// run in virtual time (perf). Without a current logger CAF skips it; nothing
/// is logged either way. Afterwards the thread's logger is the system's again.
struct no_logger_on_this_thread {
  caf::actor_system& sys;
  bool active; ///< false: does nothing (the logger is already away)
  no_logger_on_this_thread(caf::actor_system& s, bool on) : sys(s), active(on) {
    if (active)
      caf::logger::set_current_actor_system(nullptr);
  }
  ~no_logger_on_this_thread() {
    if (active)
      caf::logger::set_current_actor_system(&sys);
  }
  no_logger_on_this_thread(const no_logger_on_this_thread&) = delete;
  no_logger_on_this_thread& operator=(const no_logger_on_this_thread&) = delete;
};

// -- configuration -------------------------------------------------------------

struct runtime_config : caf::actor_system_config {
  explicit runtime_config(const runtime_params& params) {
    actors::add_message_types(*this); // not the base class member of that name
    if (params.mode == clock_mode::virtual_time) {
      // A scheduler module given here replaces the one named by the policy.
      module_factories.push_back(
          [](caf::actor_system& sys) -> caf::actor_system::module* {
            return new event_coordinator(sys);
          });
      set("scheduler.policy", caf::atom("testing"));
      return;
    }
    set("scheduler.policy", params.policy == scheduler_policy::stealing
                                ? caf::atom("stealing")
                                : caf::atom("sharing"));
    auto threads = params.threads;
    if (threads == 0)
      threads = std::max(1u, std::thread::hardware_concurrency());
    set("scheduler.max-threads", static_cast<std::size_t>(threads));
  }
};

const runtime_params& validated(const runtime_params& params) {
  if (params.mode != clock_mode::virtual_time && params.mode != clock_mode::real_time)
    throw std::invalid_argument("runtime: unknown clock mode");
  if (params.policy != scheduler_policy::stealing &&
      params.policy != scheduler_policy::sharing)
    throw std::invalid_argument("runtime: unknown scheduler policy");
  return params;
}

} // namespace

std::string to_string(clock_mode x) {
  return x == clock_mode::virtual_time ? "virtual" : "real";
}

std::string to_string(scheduler_policy x) {
  return x == scheduler_policy::stealing ? "stealing" : "sharing";
}

// -- state ---------------------------------------------------------------------

struct runtime::impl {
  runtime_params params;
  runtime_config cfg;
  caf::actor_system sys;
  /// Virtual time only: the deterministic scheduler and its clock.
  event_coordinator* sched = nullptr;
  time_point start;
  std::uint64_t events = 0;
  progress_callback progress;
  nanoseconds progress_interval{std::chrono::seconds{1}};

  explicit impl(const runtime_params& p) : params(validated(p)), cfg(params), sys(cfg) {
    if (params.mode == clock_mode::virtual_time) {
      sched = &dynamic_cast<event_coordinator&>(sys.scheduler());
      start = sched->clock().now();
    } else {
      start = sys.clock().now();
    }
  }

  bool is_virtual() const { return sched != nullptr; }

  time_point clock_now() {
    return is_virtual() ? sched->clock().now() : sys.clock().now();
  }

  // -- virtual time ------------------------------------------------------------

  /// Progress reporting of one run_until; checks the wall clock only every
  /// jobs_per_progress_check jobs.
  struct progress_meter {
    impl& rt;
    steady_clock::time_point wall_start = steady_clock::now();
    steady_clock::time_point next_report = wall_start + rt.progress_interval;
    std::uint64_t next_check = rt.events + jobs_per_progress_check;

    void tick() {
      if (!rt.progress || rt.events < next_check)
        return;
      next_check = rt.events + jobs_per_progress_check;
      report_if_due();
    }

    void report_if_due() {
      auto wall = steady_clock::now();
      if (wall < next_report)
        return;
      next_report = wall + rt.progress_interval;
      rt.progress(
          std::chrono::duration_cast<nanoseconds>(rt.clock_now() - rt.start).count(),
          rt.events, wall - wall_start);
    }
  };

  std::size_t run_ready(progress_meter* meter) {
    // Cheap when the caller already took the logger away (the event loop
    // does, once for the whole run: swapping it costs two atomic reference
    // count changes).
    const no_logger_on_this_thread guard{sys, caf::logger::current_logger() != nullptr};
    std::size_t total = 0;
    for (;;) {
      auto n = sched->run(jobs_per_progress_check);
      if (n == 0)
        return total;
      total += n;
      events += n;
      if (meter != nullptr)
        meter->tick();
    }
  }

  /// The discrete-event loop: see "Virtual time" in runtime.hpp.
  void run_virtual_until(time_point deadline) {
    const no_logger_on_this_thread guard{sys, true};
    auto& clock = sched->clock();
    progress_meter meter{*this};
    for (;;) {
      run_ready(&meter);
      if (!clock.has_pending() || clock.next_due() > deadline)
        break;
      clock.fire_next();
      meter.tick();
    }
    // Time passes up to the horizon, unless the horizon is "never".
    if (deadline != time_point::max() && clock.current_time < deadline)
      clock.current_time = deadline;
  }

  // -- real time ---------------------------------------------------------------

  void run_real_until(time_point deadline) {
    auto wall_start = steady_clock::now();
    for (;;) {
      auto wake = deadline;
      if (progress)
        wake = std::min(wake, steady_clock::now() + progress_interval);
      std::this_thread::sleep_until(wake);
      auto wall = steady_clock::now();
      if (wall >= deadline)
        return;
      progress(std::chrono::duration_cast<nanoseconds>(wall - start).count(), 0,
               wall - wall_start);
    }
  }

  /// Frees the actors kept alive only by their pending timers (see ~runtime).
  void release_timers() {
    if (!is_virtual()) {
      sys.clock().cancel_all();
      return;
    }
    auto& clock = sched->clock();
    // Jobs run here may set new timers (an actor answering its last
    // messages): repeat until nothing is left to run or to fire.
    do {
      clock.cancel_all();
      run_ready(nullptr);
    } while (clock.has_pending() || sched->has_job());
    if (sys.registry().running() > 0) {
      // Nothing can run these actors any more (there are no threads in
      // virtual time): waiting for them would hang forever.
      std::cerr << "marketsim runtime: " << sys.registry().running()
                << " actors still alive at shutdown (kept alive by handles; quit "
                   "them with runtime::shutdown)\n";
      sys.await_actors_before_shutdown(false);
    }
  }
};

// -- runtime -----------------------------------------------------------------------

runtime::runtime(runtime_params params) : impl_(std::make_unique<impl>(params)) {
  // nop
}

runtime::~runtime() {
  impl_->release_timers();
}

caf::actor_system& runtime::system() {
  return impl_->sys;
}

const runtime_params& runtime::params() const {
  return impl_->params;
}

std::int64_t runtime::now() const {
  return std::chrono::duration_cast<nanoseconds>(impl_->clock_now() - impl_->start)
      .count();
}

runtime::time_point runtime::start_time() const {
  return impl_->start;
}

std::uint64_t runtime::events_processed() const {
  return impl_->events;
}

void runtime::run_until(std::int64_t t_ns) {
  // Saturates, so that a horizon "never" (INT64_MAX) cannot overflow.
  auto room = time_point::max() - impl_->start;
  auto deadline =
      nanoseconds{t_ns} >= room ? time_point::max() : impl_->start + nanoseconds{t_ns};
  if (impl_->is_virtual())
    impl_->run_virtual_until(deadline);
  else
    impl_->run_real_until(deadline);
}

void runtime::run_for(std::int64_t d_ns) {
  auto t = now();
  run_until(d_ns >= std::numeric_limits<std::int64_t>::max() - t
                ? std::numeric_limits<std::int64_t>::max()
                : t + d_ns);
}

std::size_t runtime::drain() {
  return impl_->is_virtual() ? impl_->run_ready(nullptr) : 0;
}

bool runtime::wait_until(const std::function<bool()>& done, nanoseconds wall_timeout) {
  if (impl_->is_virtual()) {
    impl_->run_ready(nullptr);
    return done();
  }
  auto give_up = steady_clock::now() + wall_timeout;
  while (!done()) {
    if (steady_clock::now() >= give_up)
      return false;
    std::this_thread::sleep_for(poll_interval);
  }
  return true;
}

bool runtime::shutdown(const std::vector<caf::actor>& actors, nanoseconds wall_timeout) {
  // Each actor decrements the count when it terminates (at once if it
  // already has); in real time on its worker thread, hence the atomic.
  auto remaining = std::make_shared<std::atomic<std::size_t>>(0);
  for (const auto& a : actors) {
    if (!a)
      continue;
    remaining->fetch_add(1);
    caf::actor_cast<caf::abstract_actor*>(a)->attach_functor(
        [remaining] { remaining->fetch_sub(1, std::memory_order_release); });
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }
  auto all_gone = [&] { return remaining->load(std::memory_order_acquire) == 0; };
  if (!impl_->is_virtual())
    return wait_until(all_gone, wall_timeout);
  auto& clock = impl_->sched->clock();
  auto give_up = steady_clock::now() + wall_timeout;
  for (;;) {
    impl_->run_ready(nullptr);
    if (all_gone())
      return true;
    // An actor that handles its exit message later (e.g. after finishing
    // timed work) needs virtual time to pass.
    if (!clock.has_pending() || steady_clock::now() >= give_up)
      return false;
    clock.fire_next();
  }
}

void runtime::on_progress(progress_callback callback, nanoseconds interval) {
  if (interval <= nanoseconds::zero())
    throw std::invalid_argument("runtime::on_progress: interval must be positive");
  impl_->progress = std::move(callback);
  impl_->progress_interval = interval;
}

} // namespace marketsim::actors
