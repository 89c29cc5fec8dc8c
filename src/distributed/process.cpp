#include "distributed/process.hpp"

#include "actors/vocabulary.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/send.hpp>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <ostream>
#include <thread>

namespace marketsim::distributed {

process_config::process_config(std::uint32_t threads, const transport_security& s) {
  actors::add_message_types(*this);
  set("scheduler.policy", caf::atom("sharing"));
  const auto n = threads > 0 ? threads : std::max(1u, std::thread::hardware_concurrency());
  set("scheduler.max-threads", static_cast<std::size_t>(n));
  security_error = configure(*this, s);
}

bool process_config::usable(const std::string& who, std::ostream& err) const {
  if (!security_error)
    return true;
  err << who << ": " << caf::to_string(security_error) << '\n';
  return false;
}

stop_signals::stop_signals() {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set_, nullptr);
}

int stop_signals::wait() {
  int signal = 0;
  sigwait(&set_, &signal);
  return signal;
}

int stop_signals::wait_for(std::chrono::milliseconds d) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
  while (true) {
    int signal = sigtimedwait(&set_, nullptr, &ts);
    if (signal > 0)
      return signal;
    if (errno != EINTR) // EAGAIN: the time is up
      return 0;
  }
}

std::optional<std::uint16_t> publish_member(caf::actor_system& sys, const caf::actor& a,
                                            std::uint16_t port, const std::string& bind,
                                            const transport_security& s, const std::string& who,
                                            std::ostream& err) {
  auto bound = publish(sys, a, port, bind, s, true);
  if (bound)
    return *bound;
  err << who << ": cannot listen on " << (bind.empty() ? "*" : bind) << ':' << port << ": "
      << sys.render(bound.error()) << '\n';
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  return std::nullopt;
}

const char* signal_name(int signal) {
  switch (signal) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    default:
      return "a signal";
  }
}

} // namespace marketsim::distributed
