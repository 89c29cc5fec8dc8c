#include "consensus/bft/streamlet_load.hpp"

#include "actors/consensus_messages.hpp"
#include "consensus/bft/streamlet_trades.hpp"
#include "consensus/raft/settlement_ledger.hpp"

#include <caf/all.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace marketsim::consensus::bft::streamlet {

// -- load transactions -------------------------------------------------------------

namespace {

constexpr std::string_view load_tag = "mslt";

template <class T>
void put_le(std::string& out, std::size_t at, T v) {
  for (std::size_t k = 0; k < sizeof(T); ++k)
    out[at + k] = static_cast<char>((static_cast<std::uint64_t>(v) >> (8 * k)) & 0xff);
}

template <class T>
T get_le(std::string_view in, std::size_t at) {
  std::uint64_t v = 0;
  for (std::size_t k = 0; k < sizeof(T); ++k)
    v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[at + k])) << (8 * k);
  return static_cast<T>(v);
}

} // namespace

std::string encode_load_tx(const load_tx& t, std::size_t bytes) {
  std::string out(std::max(bytes, load_tx_header_bytes), '\0');
  out.replace(0, load_tag.size(), load_tag);
  put_le(out, 4, t.origin);
  put_le(out, 8, t.seq);
  put_le(out, 16, t.submitted_ns);
  return out;
}

std::optional<load_tx> decode_load_tx(std::string_view tx) {
  if (tx.size() < load_tx_header_bytes || tx.substr(0, load_tag.size()) != load_tag)
    return std::nullopt;
  return load_tx{get_le<std::uint32_t>(tx, 4), get_le<std::uint64_t>(tx, 8),
                 get_le<std::int64_t>(tx, 16)};
}

crypto::key_pair load_shard_key(std::uint32_t shard) {
  return crypto::key_pair::derive(4242, shard);
}

std::vector<crypto::public_key> load_shard_keys(std::uint32_t shards) {
  std::vector<crypto::public_key> keys;
  for (std::uint32_t k = 0; k < shards; ++k)
    keys.push_back(load_shard_key(k).public_part());
  return keys;
}

std::vector<std::string> sample_trade_commands(std::uint64_t first_seq, std::size_t count) {
  std::vector<std::string> out;
  out.reserve(count);
  for (auto seq = first_seq; seq < first_seq + count; ++seq) {
    // A cheap mix of the number, so that neighbours differ.
    const auto h = (seq + 1) * 0x9E37'79B9'7F4A'7C15ull;
    raft::trade_record t;
    t.symbol = static_cast<market::symbol_id>(h % 4);
    t.price = static_cast<market::price_t>(10'000 + (h >> 8) % 200) - 100;
    t.qty = static_cast<market::qty_t>(1 + (h >> 16) % 500);
    t.buyer = static_cast<market::owner_id>(1 + (h >> 24) % 1000);
    t.seller = static_cast<market::owner_id>(1 + (t.buyer + 1 + (h >> 40) % 998) % 1000);
    out.push_back(raft::encode(raft::settlement_command{std::vector<raft::trade_record>{t}}));
  }
  return out;
}

std::int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// -- the meter ---------------------------------------------------------------------

finality_meter::finality_meter(validator_id self, streamlet_params protocol,
                               std::uint32_t own_origin, std::uint32_t id_base)
    : self_(self), protocol_(protocol), own_origin_(own_origin), id_base_(id_base) {
}

validator_observer finality_meter::observer(bool keep_lines) {
  keep_lines_ = keep_lines;
  validator_observer obs;
  obs.on_finalized = [this](validator_id, const std::shared_ptr<const block>& b, time_ns now) {
    on_finalized(b, now);
  };
  obs.on_evidence = [this](validator_id, const evidence& e, time_ns) { on_evidence(e); };
  obs.on_rejected = [this](validator_id, const rejection&, time_ns) {
    std::lock_guard<std::mutex> guard{mutex_};
    ++rejected_;
  };
  obs.on_malformed = [this](validator_id, validator_id, time_ns) {
    std::lock_guard<std::mutex> guard{mutex_};
    ++malformed_;
  };
  return obs;
}

void finality_meter::on_finalized(const std::shared_ptr<const block>& b, time_ns now) {
  const auto at = steady_now_ns();
  std::uint64_t own = 0;
  std::uint64_t trades = 0;
  std::vector<std::int64_t> latencies;
  std::vector<std::uint64_t> own_batches; ///< first_seq of own trade batches
  for (const auto& tx : b->txs) {
    if (auto t = decode_load_tx(tx)) {
      if (t->origin == own_origin_) {
        latencies.push_back(at - t->submitted_ns);
        ++own;
      }
    } else if (auto batch = decode_trade_batch(tx)) {
      trades += batch.value->commands.size();
      if (batch.value->shard == own_origin_) {
        own_batches.push_back(batch.value->first_seq);
        own += batch.value->commands.size();
      }
    }
  }
  const auto hash = block_hash(*b);
  block_record r{b->epoch,  b->height, hash, b->txs.size(), trades,
                 now - epoch_start(protocol_, b->epoch), epoch_at(protocol_, now) - b->epoch};
  std::lock_guard<std::mutex> guard{mutex_};
  blocks_.push_back(r);
  txs_ += b->txs.size();
  trades_ += trades;
  for (auto first : own_batches)
    if (auto it = own_batches_.find(first); it != own_batches_.end()) {
      latencies.push_back(at - it->second);
      own_batches_.erase(it);
    }
  own_latency_ns_.insert(own_latency_ns_.end(), latencies.begin(), latencies.end());
  own_finalized_.fetch_add(own, std::memory_order_relaxed);
  if (keep_lines_)
    lines_.push_back(fmt::format("finalized height {} epoch {} txs {} hash {}", b->height,
                                 b->epoch, b->txs.size(), hash.hex()));
}

void finality_meter::batch_submitted(std::uint64_t first_seq, std::int64_t at_ns) {
  std::lock_guard<std::mutex> guard{mutex_};
  own_batches_[first_seq] = at_ns;
}

void finality_meter::on_evidence(const evidence& e) {
  auto what = fmt::format("{} by validator {}", to_string(e.kind), e.culprit + id_base_);
  std::lock_guard<std::mutex> guard{mutex_};
  ++evidence_;
  ++evidence_by_[what];
  if (keep_lines_)
    lines_.push_back(fmt::format("evidence: {} in epoch {}", what, e.epoch));
}

namespace {

double percentile_ms(std::vector<std::int64_t>& v, double q) {
  if (v.empty())
    return 0;
  auto k = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size()))) - 1;
  k = std::min(k, v.size() - 1);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return static_cast<double>(v[k]) / 1e6;
}

} // namespace

finality_meter::summary finality_meter::read() const {
  summary s;
  std::vector<std::int64_t> lat;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    if (!blocks_.empty()) {
      s.height = blocks_.back().height;
      s.last_epoch = blocks_.back().epoch;
      s.last_hash = blocks_.back().hash.hex();
      double ns = 0;
      double ep = 0;
      for (const auto& b : blocks_) {
        ns += static_cast<double>(b.latency_ns);
        ep += static_cast<double>(b.latency_epochs);
      }
      s.block_latency_ms = ns / 1e6 / static_cast<double>(blocks_.size());
      s.block_latency_epochs = ep / static_cast<double>(blocks_.size());
    }
    s.txs = txs_;
    s.trades = trades_;
    s.evidence = evidence_;
    s.evidence_by = evidence_by_;
    s.rejected = rejected_;
    s.malformed = malformed_;
    lat = own_latency_ns_;
  }
  s.own_finalized = own_finalized_.load(std::memory_order_relaxed);
  s.own_latency_p50_ms = percentile_ms(lat, 0.50);
  s.own_latency_p99_ms = percentile_ms(lat, 0.99);
  s.own_latency_max_ms = lat.empty() ? 0 : static_cast<double>(*std::max_element(lat.begin(), lat.end())) / 1e6;
  return s;
}

std::vector<finality_meter::block_record> finality_meter::blocks() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return blocks_;
}

std::vector<std::string> finality_meter::take_lines() {
  std::lock_guard<std::mutex> guard{mutex_};
  std::vector<std::string> out(lines_.begin(), lines_.end());
  lines_.clear();
  return out;
}

double finality_meter::rate(epoch_t from, epoch_t to, bool trades) const {
  if (to <= from)
    return 0;
  std::uint64_t txs = 0;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    for (const auto& b : blocks_)
      if (b.epoch > from && b.epoch <= to)
        txs += trades ? b.trades : b.txs;
  }
  const double secs = static_cast<double>(to - from) *
                      static_cast<double>(protocol_.epoch_duration) / 1e9;
  return static_cast<double>(txs) / secs;
}

// -- the driver --------------------------------------------------------------------

namespace {

using load_tick_atom = caf::atom_constant<caf::atom("loadtick")>;

struct driver_state {
  static inline const char* name = "marketsim.streamlet_load_driver";
  std::uint64_t submitted = 0;
  std::int64_t started_ns = 0;
};

/// A shard's next message: whole batches of `trades_per_batch` trades up
/// to `target` trades submitted (the meter is told when each left).
actors::streamlet_submit next_batches(driver_state& st, const load_params& p,
                                      finality_meter& meter, std::uint64_t target,
                                      std::int64_t now) {
  actors::streamlet_submit s;
  const auto per = p.trades_per_batch;
  const auto per_message = std::max<std::size_t>(1, p.max_per_message / per);
  while (st.submitted + per <= target && s.txs.size() < per_message) {
    const auto first = st.submitted + 1; // a shard's trades are numbered from 1
    meter.batch_submitted(first, now);
    s.txs.push_back(encode_trade_batch(*p.shard_key, p.origin, first,
                                       sample_trade_commands(first, per)));
    st.submitted += per;
  }
  return s;
}

caf::behavior load_driver(caf::stateful_actor<driver_state>* self, caf::actor validator,
                          load_params p, std::shared_ptr<finality_meter> meter,
                          std::shared_ptr<load_counters> counters) {
  const auto start_in = std::max(p.start_in, std::chrono::nanoseconds{0});
  self->state.started_ns = steady_now_ns() + start_in.count();
  self->delayed_send(self, start_in, load_tick_atom::value);
  return {
      [=](load_tick_atom) {
        auto& st = self->state;
        const auto now = steady_now_ns();
        std::uint64_t target = meter->own_finalized() + p.window;
        if (p.rate > 0) {
          const double due =
              p.rate * static_cast<double>(now - st.started_ns) / 1e9;
          target = std::min<std::uint64_t>(target, static_cast<std::uint64_t>(due));
        }
        while (p.trades_per_batch > 0) {
          auto s = next_batches(st, p, *meter, target, now);
          if (s.txs.empty())
            break;
          self->send(validator, std::move(s));
        }
        while (p.trades_per_batch == 0 && st.submitted < target) {
          const auto n = std::min<std::uint64_t>(p.max_per_message, target - st.submitted);
          actors::streamlet_submit s;
          s.txs.reserve(n);
          for (std::uint64_t k = 0; k < n; ++k)
            s.txs.push_back(encode_load_tx({p.origin, st.submitted++, now}, p.tx_bytes));
          self->send(validator, std::move(s));
        }
        counters->submitted.store(st.submitted, std::memory_order_relaxed);
        self->delayed_send(self, p.interval, load_tick_atom::value);
      },
  };
}

} // namespace

caf::actor spawn_load_driver(caf::actor_system& sys, caf::actor validator, load_params p,
                             std::shared_ptr<finality_meter> meter,
                             std::shared_ptr<load_counters> counters) {
  return sys.spawn(load_driver, std::move(validator), p, std::move(meter),
                   std::move(counters));
}

} // namespace marketsim::consensus::bft::streamlet
