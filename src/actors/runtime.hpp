#pragma once

/// The runtime: owns the caf::actor_system (with the marketsim vocabulary
/// registered) and drives it with one of two clocks. The same actors run in
/// both; they read time only through `self->clock()` and set timers only with
/// delayed_send / scheduled_send, so they never know which clock they run on.
///
/// ## Virtual time
/// CAF's deterministic `testing` scheduler on the calling thread: a
/// discrete-event simulation. run_until(t) repeats
///   1. run every ready job (one job = one message handled by one actor),
///   2. stop if no timer is pending or the earliest one is due after t,
///   3. otherwise fire the earliest timer (the virtual clock jumps to its due
///      time) and go on with 1.
/// and finally sets the clock to exactly t. Timers due at t are fired; timers
/// due after t stay pending for the next run_until. Delayed messages due at
/// the same time fire in the order they were sent (CAF's receive and request
/// timeouts, rarer, fire before messages due at the same time), and ready
/// jobs run in FIFO order, so the same actors with the same seeds produce the
/// same run, event for event. The clock is CAF's test clock with delayed
/// messages kept in a binary heap (runtime.cpp says why).
///
/// Never block on an actor in virtual time (a scoped_actor's receive, a
/// request(...).receive(...)): nothing runs the actors while the caller
/// waits, so it waits forever. Ask with ask_all (runtime_ask.hpp) instead.
///
/// ## Real time
/// CAF's thread pool (`stealing` or `sharing` policy, `threads` workers) and
/// its wall-clock timer thread. run_until(t) sleeps until the wall time t
/// after the start while the actors run.
///
/// ## Shutdown
/// The actor_system destructor waits for every actor that is still running.
/// Actors kept alive only by their own pending timers are freed by the
/// destructor here (it cancels every pending timer first, and in virtual time
/// runs the jobs that follows from that); actors that hold each other's
/// handles, or that the caller still holds handles to, must be quit with
/// shutdown() first.

#include <caf/fwd.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace marketsim::actors {

enum class clock_mode {
  virtual_time, ///< deterministic discrete-event run on the calling thread
  real_time,    ///< CAF's thread pool and wall-clock timers
};

/// CAF's scheduling policy in real time (see CAF.md: `stealing` can go
/// quadratic when one actor fans out to very many idle actors).
enum class scheduler_policy { stealing, sharing };

std::string to_string(clock_mode x);
std::string to_string(scheduler_policy x);

struct runtime_params {
  clock_mode mode = clock_mode::virtual_time;
  /// Real time: worker threads (scheduler.max-threads); 0 means one per
  /// hardware thread. Ignored in virtual time (always the calling thread).
  std::uint32_t threads = 0;
  scheduler_policy policy = scheduler_policy::sharing;
};

/// Called during run_until every `progress_interval` of wall time: simulated
/// time since the start (ns), events processed so far (0 in real time), wall
/// time since the start of this run_until.
using progress_callback =
    std::function<void(std::int64_t sim_time_ns, std::uint64_t events,
                       std::chrono::nanoseconds wall_elapsed)>;

class runtime {
public:
  /// The actor clock's time point (caf::actor_clock::time_point; checked in
  /// runtime.cpp).
  using time_point = std::chrono::steady_clock::time_point;

  /// Creates the actor system. Throws std::invalid_argument on bad params.
  explicit runtime(runtime_params params = {});

  /// Cancels all pending timers (they hold strong references to their
  /// receivers), lets the actors kept alive only by them go, then destroys the
  /// actor system, which waits for every actor still running.
  ~runtime();

  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  // -- properties --------------------------------------------------------------

  caf::actor_system& system();

  const runtime_params& params() const;

  /// Time on the actor clock since the runtime started, ns.
  std::int64_t now() const;

  /// The actor clock's time when the runtime started: actors that stamp
  /// times relative to the start subtract it from `self->clock().now()`.
  time_point start_time() const;

  /// Virtual time: jobs run so far (each is one message handled by one actor,
  /// timer messages included). Real time: 0 (CAF 0.17 counts nothing).
  std::uint64_t events_processed() const;

  // -- running -----------------------------------------------------------------

  /// Runs the actors until `t_ns` after the start (see the file comment).
  /// Afterwards now() == t_ns if it was later than now(); a t_ns in the past
  /// returns at once (in virtual time after running the ready jobs). In
  /// virtual time, INT64_MAX runs until no event is left (with a periodic
  /// timer pending, forever); the clock then stays at the last event.
  void run_until(std::int64_t t_ns);

  /// run_until(now() + d_ns).
  void run_for(std::int64_t d_ns);

  /// Virtual time: runs every ready job and fires no timer, so the clock
  /// stays where it is; returns the number of jobs run. Real time: returns 0
  /// at once (there is no global quiescence; wait for the answers you need
  /// with wait_until or ask_all in runtime_ask.hpp).
  std::size_t drain();

  /// Waits until `done()` holds. Virtual time: runs ready jobs (fires no
  /// timer) and returns done(). Real time: checks done() every millisecond
  /// for at most `wall_timeout`; returns whether it held. `done` is called on
  /// this thread only; in real time it must read what actors write through
  /// atomics (or other synchronisation).
  bool wait_until(const std::function<bool()>& done,
                  std::chrono::nanoseconds wall_timeout);

  /// Quits `actors` (exit_reason::user_shutdown) and waits until all of them
  /// have terminated: in virtual time by running jobs (and firing timers,
  /// should an actor delay its exit), in real time for at most
  /// `wall_timeout`. Returns whether all of them terminated. Typed handles:
  /// pass caf::actor_cast<caf::actor>(handle). Null handles are skipped.
  bool shutdown(const std::vector<caf::actor>& actors,
                std::chrono::nanoseconds wall_timeout = std::chrono::seconds{10});

  /// Calls `callback` every `interval` of wall time while run_until runs
  /// (nullptr: no progress reports).
  void on_progress(progress_callback callback, std::chrono::nanoseconds interval);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace marketsim::actors
