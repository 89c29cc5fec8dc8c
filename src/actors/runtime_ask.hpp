#pragma once

/// Asking many actors one question from outside the actor system, in either
/// clock mode: the helper for the end of a run (statistics, recordings). In
/// virtual time a blocking scoped_actor would wait forever (nothing runs the
/// actors while it blocks), so the requests go out from a short-lived
/// event-based actor and the runtime runs the jobs until every answer is in.

#include "actors/runtime.hpp"

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>
#include <caf/sec.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

namespace marketsim::actors {

/// Sends `request` to each of `targets` and returns their answers, in the
/// order of `targets`: the reply, or the error the request failed with
/// (sec::invalid_argument for a null handle; sec::request_timeout for an
/// answer that did not come in time). Virtual time: runs ready jobs only, so
/// an actor that answers after a virtual delay counts as not answering; real
/// time: waits at most `wall_timeout`.
template <class Reply, class Handle, class Request>
std::vector<caf::expected<Reply>>
ask_all(runtime& rt, const std::vector<Handle>& targets, const Request& request,
        std::chrono::nanoseconds wall_timeout = std::chrono::seconds{30}) {
  struct answers {
    std::vector<std::optional<caf::expected<Reply>>> slots;
    std::atomic<std::size_t> pending;
  };
  auto st = std::make_shared<answers>();
  st->slots.resize(targets.size());
  st->pending.store(targets.size());
  auto fill = [st](std::size_t i, caf::expected<Reply> x) {
    st->slots[i] = std::move(x);
    st->pending.fetch_sub(1, std::memory_order_release);
  };
  auto asker =
      rt.system().spawn([targets, request, fill, st](caf::event_based_actor* self) {
        for (std::size_t i = 0; i < targets.size(); ++i) {
          if (!targets[i]) {
            fill(i, caf::make_error(caf::sec::invalid_argument));
            continue;
          }
          self->request(targets[i], caf::infinite, request)
              .then([fill, i](Reply& x) { fill(i, std::move(x)); },
                    [fill, i](caf::error& e) { fill(i, std::move(e)); });
        }
      });
  auto done = [&st] { return st->pending.load(std::memory_order_acquire) == 0; };
  rt.wait_until(done, wall_timeout);
  // Once the asker is gone no late answer can write to the slots.
  auto asker_gone = rt.shutdown({caf::actor_cast<caf::actor>(asker)}, wall_timeout);
  std::vector<caf::expected<Reply>> out;
  out.reserve(targets.size());
  for (auto& slot : st->slots) {
    if (asker_gone && slot)
      out.push_back(std::move(*slot));
    else
      out.emplace_back(caf::make_error(caf::sec::request_timeout));
  }
  return out;
}

} // namespace marketsim::actors
