/// Orders/s and round-trip percentiles of a population of sender actors
/// against one exchange shard, in-process and in another process over CAF's
/// middleman on loopback, in the same run: the cost of putting a shard on
/// another host (the ratio remote / in-process).
///
/// usage: remote_load [senders=4] [orders=20000] [in_flight=1] [threads=1]
///
/// Each sender keeps `in_flight` new orders outstanding (request/reply, the
/// round trip timed on the sender) until it has sent `orders`. The shard
/// process is this program again (`remote_load --serve`): it publishes a shard
/// on a free loopback port, prints the port and exits when its stdin closes
/// (the parent ended, however it ended). A third pass goes to the remote
/// shard through a shard relay (distributed/shard_relay.hpp), as the traders
/// of `marketsim run --hosts` do.

#include "actors/interfaces.hpp"
#include "actors/vocabulary.hpp"
#include "distributed/shard_relay.hpp"
#include "distributed/transport.hpp"
#include "market/exchange_shard.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using namespace marketsim;
using namespace std::chrono_literals;
using std::chrono::steady_clock;

constexpr market::price_t mid = 100'000;

struct load_config : caf::actor_system_config {
  explicit load_config(std::size_t threads) {
    actors::add_message_types(*this);
    set("scheduler.policy", caf::atom("sharing"));
    set("scheduler.max-threads", threads);
    if (auto err = distributed::configure(*this, distributed::transport_security{}))
      throw std::runtime_error("middleman: " + caf::to_string(err));
  }
};

market::symbol_table load_symbols() {
  market::symbol_table symbols;
  symbols.add({"LOAD", 1, 1, 1'000'000});
  return symbols;
}

actors::exchange_shard_actor spawn_shard(caf::actor_system& sys) {
  market::shard_params p;
  p.symbols = load_symbols();
  p.traded = {0};
  return market::spawn_exchange_shard(sys, std::move(p));
}

// -- the senders -------------------------------------------------------------------

struct pass_result {
  std::uint64_t orders = 0;
  double seconds = 0;
  std::vector<std::int64_t> rtt_ns; ///< every round trip
};

/// What the senders hand back; `pending` counts senders still running.
struct collection {
  std::mutex mtx;
  std::vector<std::int64_t> rtt_ns;
  std::atomic<std::uint32_t> pending{0};
  std::string failure; ///< the first request that failed, if any
};

struct sender_state {
  std::uint64_t to_send = 0;
  std::uint64_t outstanding = 0;
  std::uint64_t next_id = 1;
  market::owner_id owner = 0;
  std::vector<std::int64_t> rtt_ns;
  static inline const char* name = "remote_load_sender";
};

using sender_ptr = caf::stateful_actor<sender_state>*;

void send_one(sender_ptr self, const actors::exchange_shard_actor& shard,
              const std::shared_ptr<collection>& out) {
  auto& st = self->state;
  --st.to_send;
  ++st.outstanding;
  actors::new_order x;
  x.client_order_id = st.next_id++;
  x.order.owner = st.owner;
  x.order.symbol = 0;
  x.order.qty = 1;
  // Alternating sides just through the middle: most orders trade, the book
  // stays small.
  x.order.side = x.client_order_id % 2 == 0 ? market::side::buy : market::side::sell;
  x.order.price = x.order.side == market::side::buy ? mid + 1 : mid - 1;
  const auto sent = steady_clock::now();
  self->request(shard, caf::infinite, x)
      .then(
          [self, shard, out, sent](const actors::order_reply&) {
            auto& st = self->state;
            st.rtt_ns.push_back((steady_clock::now() - sent).count());
            --st.outstanding;
            if (st.to_send > 0) {
              send_one(self, shard, out);
            } else if (st.outstanding == 0) {
              {
                std::lock_guard<std::mutex> guard{out->mtx};
                out->rtt_ns.insert(out->rtt_ns.end(), st.rtt_ns.begin(), st.rtt_ns.end());
              }
              out->pending.fetch_sub(1, std::memory_order_release);
              self->quit();
            }
          },
          [self, out](const caf::error& e) {
            // A lost order ends the pass: say why instead of waiting forever.
            {
              std::lock_guard<std::mutex> guard{out->mtx};
              if (out->failure.empty())
                out->failure = self->system().render(e);
            }
            out->pending.store(0, std::memory_order_release);
            self->quit();
          });
}

caf::behavior sender(sender_ptr self, actors::exchange_shard_actor shard,
                     std::uint64_t orders, std::uint32_t in_flight,
                     market::owner_id owner, std::shared_ptr<collection> out) {
  self->state.to_send = orders;
  self->state.owner = owner;
  self->state.rtt_ns.reserve(orders);
  for (std::uint32_t i = 0; i < in_flight && self->state.to_send > 0; ++i)
    send_one(self, shard, out);
  return {[](caf::unit_t) {}};
}

pass_result run_pass(caf::actor_system& sys, const actors::exchange_shard_actor& shard,
                     std::uint32_t senders, std::uint64_t orders,
                     std::uint32_t in_flight) {
  auto out = std::make_shared<collection>();
  out->pending.store(senders);
  const auto start = steady_clock::now();
  for (std::uint32_t i = 0; i < senders; ++i)
    sys.spawn(sender, shard, orders, in_flight, market::owner_id{i + 1}, out);
  const auto give_up = start + 120s;
  while (out->pending.load(std::memory_order_acquire) > 0) {
    if (steady_clock::now() > give_up)
      throw std::runtime_error("the senders did not finish within 120 s");
    std::this_thread::sleep_for(1ms);
  }
  {
    std::lock_guard<std::mutex> guard{out->mtx};
    if (!out->failure.empty())
      throw std::runtime_error("an order failed: " + out->failure);
  }
  pass_result r;
  r.seconds = std::chrono::duration<double>(steady_clock::now() - start).count();
  r.orders = static_cast<std::uint64_t>(senders) * orders;
  r.rtt_ns = std::move(out->rtt_ns);
  std::sort(r.rtt_ns.begin(), r.rtt_ns.end());
  return r;
}

double percentile_us(const std::vector<std::int64_t>& sorted, double q) {
  if (sorted.empty())
    return 0;
  auto k = static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1));
  return static_cast<double>(sorted[k]) / 1000.0;
}

std::string line(const char* what, const pass_result& r) {
  return fmt::format("{:<12} {:>9} orders in {:6.3f} s: {:>9.0f} orders/s, round trip "
                     "p50 {:7.1f} us, p90 {:7.1f} us, p99 {:7.1f} us",
                     what, r.orders, r.seconds, static_cast<double>(r.orders) / r.seconds,
                     percentile_us(r.rtt_ns, 0.5), percentile_us(r.rtt_ns, 0.9),
                     percentile_us(r.rtt_ns, 0.99));
}

// -- the shard process ---------------------------------------------------------------

int serve() {
  load_config cfg{1};
  caf::actor_system sys{cfg};
  auto shard = spawn_shard(sys);
  auto port = distributed::publish(sys, caf::actor_cast<caf::actor>(shard), 0,
                                   "127.0.0.1", distributed::transport_security{});
  if (!port) {
    std::cerr << "remote_load --serve: " << sys.render(port.error()) << '\n';
    caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
    return 1;
  }
  std::cout << "port " << *port << std::endl;
  // The parent stops reading after the port: logs go to stderr from here on
  // (a write to the closed pipe would kill this process).
  ::dup2(STDERR_FILENO, STDOUT_FILENO);
  char c = 0;
  while (::read(STDIN_FILENO, &c, 1) > 0) {
  }
  caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
  return 0;
}

/// The shard process: its pid, the write end of its stdin, its port.
struct child {
  pid_t pid = -1;
  int stdin_fd = -1;
  std::uint16_t port = 0;
};

child start_server(const char* self_path) {
  int in[2];
  int out[2];
  if (::pipe(in) != 0 || ::pipe(out) != 0)
    throw std::runtime_error("pipe failed");
  child c;
  c.pid = ::fork();
  if (c.pid < 0)
    throw std::runtime_error("fork failed");
  if (c.pid == 0) {
    ::dup2(in[0], STDIN_FILENO);
    ::dup2(out[1], STDOUT_FILENO);
    ::close(in[1]);
    ::close(out[0]);
    ::execl(self_path, self_path, "--serve", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  c.stdin_fd = in[1];
  std::string text;
  char ch = 0;
  while (::read(out[0], &ch, 1) == 1 && ch != '\n')
    text += ch;
  ::close(out[0]);
  if (text.rfind("port ", 0) != 0)
    throw std::runtime_error("the shard process did not start: '" + text + "'");
  c.port = static_cast<std::uint16_t>(std::stoul(text.substr(5)));
  return c;
}

void stop_server(child& c) {
  if (c.stdin_fd >= 0)
    ::close(c.stdin_fd);
  for (int i = 0; i < 500; ++i) {
    if (::waitpid(c.pid, nullptr, WNOHANG) == c.pid)
      return;
    std::this_thread::sleep_for(10ms);
  }
  ::kill(c.pid, SIGKILL);
  ::waitpid(c.pid, nullptr, 0);
}

} // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string{argv[1]} == "--serve")
    return serve();
  std::uint32_t senders = 4;
  std::uint64_t orders = 20'000;
  std::uint32_t in_flight = 1;
  std::size_t threads = 1;
  child server;
  try {
    if (argc > 1)
      senders = static_cast<std::uint32_t>(std::stoul(argv[1]));
    if (argc > 2)
      orders = std::stoull(argv[2]);
    if (argc > 3)
      in_flight = static_cast<std::uint32_t>(std::stoul(argv[3]));
    if (argc > 4)
      threads = std::stoul(argv[4]);
    if (senders == 0 || orders == 0 || in_flight == 0 || threads == 0)
      throw std::invalid_argument("every argument must be positive");
    server = start_server("/proc/self/exe");
    load_config cfg{threads};
    caf::actor_system sys{cfg};
    auto local_shard = spawn_shard(sys);
    std::cout << fmt::format(
                     "{} senders x {} orders, {} in flight each, {} thread(s) here, "
                     "1 in the shard process\n",
                     senders, orders, in_flight, threads)
              << std::flush;
    auto local = run_pass(sys, local_shard, senders, orders, in_flight);
    std::cout << line("in-process", local) << std::endl;
    caf::anon_send_exit(local_shard, caf::exit_reason::user_shutdown);
    auto remote_handle = distributed::connect(sys, "127.0.0.1", server.port,
                                              distributed::transport_security{}, 5000ms);
    if (!remote_handle)
      throw std::runtime_error("connect: " + sys.render(remote_handle.error()));
    auto remote_shard = caf::actor_cast<actors::exchange_shard_actor>(*remote_handle);
    auto remote = run_pass(sys, remote_shard, senders, orders, in_flight);
    std::cout << line("remote", remote) << std::endl;
    // The path of `marketsim run --hosts`: through a relay in this process
    // (distributed/shard_relay.hpp).
    auto relay = distributed::spawn_shard_relay(sys, remote_shard, 0);
    auto relayed = run_pass(sys, relay, senders, orders, in_flight);
    caf::anon_send_exit(relay, caf::exit_reason::user_shutdown);
    std::cout << line("remote+relay", relayed) << '\n';
    auto ratio = [&](const char* what, const pass_result& r) {
      std::cout << fmt::format(
          "{} / in-process: orders/s {:.3f}, p50 round trip {:.1f}x\n", what,
          (static_cast<double>(r.orders) / r.seconds) /
              (static_cast<double>(local.orders) / local.seconds),
          percentile_us(r.rtt_ns, 0.5) / std::max(percentile_us(local.rtt_ns, 0.5), 1e-3));
    };
    ratio("remote", remote);
    ratio("remote+relay", relayed);
  } catch (const std::exception& e) {
    std::cerr << "remote_load: " << e.what() << '\n';
    if (server.pid > 0)
      stop_server(server);
    return 1;
  }
  stop_server(server);
  return 0;
}
