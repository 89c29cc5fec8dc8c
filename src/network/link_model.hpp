#pragma once

/// The pure state of one directed link: serialization with a FIFO queue,
/// propagation with jitter, loss, ordered delivery, and statistics. The link
/// actor owns one per direction and passes `now` in; nothing here reads a
/// clock, spawns a thread or does I/O.
///
/// ## What happens to a message
///
/// 1. **Queueing.** The link serializes one message at a time, first come
///    first served: a message starts when both it has arrived (`now`) and the
///    previous one has left the wire (`busy_until`). Bursts therefore queue.
/// 2. **Serialization** takes ceil(bytes * 8 * 1e9 / bandwidth) ns, with the
///    effective bandwidth round(bandwidth_bps * bandwidth_factor) bit/s
///    (integer, so the arithmetic is exact).
/// 3. **Propagation** plus jitter is one sample of `propagation`, times the
///    latency multiplier (rounded to the ns), added to the end of
///    serialization.
/// 4. **Loss** is drawn after, with probability `loss_rate`. A lost message
///    still occupied the wire (it was sent and is lost on the way), so it
///    delays the messages behind it exactly as a delivered one would. Every
///    message draws both its propagation and its loss, so the random stream
///    advances the same way whatever the loss rate.
/// 5. **Order.** With `ordered` (the default), a message is never delivered
///    before an earlier delivered message of this link: deliver_at is at least
///    the last delivered deliver_at (a message waits behind a slow
///    predecessor, as on a TCP connection). Lost messages hold nothing back.
///    Without `ordered`, jitter may reorder messages.
///
/// Congestion knobs (`set_bandwidth_factor`, `set_latency_multiplier`) apply
/// to messages transmitted after the call; messages already on the link keep
/// their times.
///
/// ## Statistics
///
/// Counts and sums are exact. Latency percentiles (deliver_at - now of the
/// delivered messages) come from a latency_histogram (latency_histogram.hpp):
/// exact below 32 ns, then 32 buckets per power of two, so a reported
/// percentile is within 1/32 (3.1 %) of the true sample percentile; min and
/// max are exact. Memory is bounded (at most 1,888 counters) whatever the
/// number of messages, and nothing is sampled, so statistics are
/// deterministic too.

#include "actors/random.hpp"
#include "network/latency.hpp"
#include "network/latency_histogram.hpp"

#include <cstddef>
#include <cstdint>

namespace marketsim::network {

struct link_params {
  std::int64_t bandwidth_bps = 0;   ///< > 0
  latency_distribution propagation; ///< propagation plus jitter
  double loss_rate = 0;             ///< in [0, 1]
  bool ordered = true;              ///< no overtaking within the link
};

/// What became of one transmitted message.
struct delivery {
  bool lost = false;
  /// Arrival time at the far end; for a lost message, when it would have
  /// arrived (informative only).
  std::int64_t deliver_at_ns = 0;
  std::int64_t queueing_ns = 0; ///< waiting for the wire
  std::int64_t serialization_ns = 0;
};

struct link_stats {
  std::uint64_t messages = 0; ///< transmitted, lost or not
  std::uint64_t bytes = 0;    ///< transmitted, lost or not
  std::uint64_t drops = 0;
  std::uint64_t delivered = 0; ///< messages - drops
  std::int64_t total_queueing_ns = 0;
  std::int64_t max_queueing_ns = 0;
  /// End-to-end latency (deliver_at - now) of delivered messages; all 0 when
  /// nothing was delivered. Percentiles within 1/32 relative, min/max exact.
  std::int64_t latency_min_ns = 0;
  std::int64_t latency_p50_ns = 0;
  std::int64_t latency_p90_ns = 0;
  std::int64_t latency_p99_ns = 0;
  std::int64_t latency_max_ns = 0;
};

class link_model {
public:
  /// Throws std::invalid_argument on a non-positive bandwidth or a loss rate
  /// outside [0, 1].
  link_model(link_params params, std::uint64_t seed);

  /// Sends `bytes` at `now_ns`. Times are expected not to go backwards; if
  /// they do, the message still queues behind everything sent before it.
  delivery transmit(std::int64_t now_ns, std::size_t bytes);

  /// Scales the bandwidth for later messages; 0 < f <= 1, else
  /// std::invalid_argument.
  void set_bandwidth_factor(double f);

  /// Multiplies the propagation samples of later messages; m >= 1 (finite),
  /// else std::invalid_argument.
  void set_latency_multiplier(double m);

  /// The effective bandwidth now, in bit/s (at least 1).
  std::int64_t effective_bandwidth_bps() const { return effective_bps_; }

  /// Serialization time of `bytes` at the effective bandwidth (exact, via
  /// 128-bit arithmetic; saturates at INT64_MAX ns).
  std::int64_t serialization_ns(std::size_t bytes) const;

  /// When the wire is free again.
  std::int64_t busy_until_ns() const { return busy_until_; }

  const link_params& params() const { return params_; }

  link_stats stats() const;

  /// Latency percentile q in [0, 1] of delivered messages (see the header
  /// comment for its precision); 0 when nothing was delivered.
  std::int64_t latency_percentile(double q) const { return latency_.percentile(q); }

  /// The latencies of delivered messages behind the percentiles.
  const latency_histogram& latencies() const { return latency_; }

private:
  link_params params_;
  actors::random_stream rng_;
  double bandwidth_factor_ = 1;
  double latency_multiplier_ = 1;
  std::int64_t effective_bps_;
  std::int64_t busy_until_ = 0;
  std::int64_t last_deliver_at_ = 0;
  link_stats stats_; ///< all but the latency fields, which come from latency_
  latency_histogram latency_;
};

} // namespace marketsim::network
