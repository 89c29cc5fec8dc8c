#include "network/latency.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <string>
#include <vector>

namespace marketsim::network {

namespace {

template <class... Ts>
struct overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
overloaded(Ts...) -> overloaded<Ts...>;

[[noreturn]] void fail(const std::string& what) {
  throw std::invalid_argument("latency: " + what);
}

void check_duration(std::int64_t ns, const char* name) {
  if (ns < 0 || ns > max_latency_ns)
    fail(std::string(name) + " must be in [0, 1 day] ns, got " + std::to_string(ns));
}

// Rounds to the nanosecond and saturates at [0, max_latency_ns].
std::int64_t to_ns(double x) {
  if (!(x > 0)) // also catches NaN
    return 0;
  if (x >= static_cast<double>(max_latency_ns))
    return max_latency_ns;
  return std::llround(x);
}

double std_normal_pdf(double x) {
  return std::exp(-0.5 * x * x) / std::sqrt(2 * std::numbers::pi);
}

// E[1/x^3] for x uniform in (clip, 1].
double mean_inverse_cube(double clip) {
  return (1 / (clip * clip) - 1) / (2 * (1 - clip));
}

void validate(const latency::constant& c) {
  check_duration(c.ns, "constant");
}

void validate(const latency::normal& n) {
  check_duration(n.mean_ns, "normal mean");
  check_duration(n.stddev_ns, "normal stddev");
}

void validate(const latency::exponential& e) {
  check_duration(e.mean_ns, "exponential mean");
  if (e.mean_ns == 0)
    fail("exponential mean must be positive");
}

void validate(const latency::pareto& p) {
  check_duration(p.scale_ns, "pareto scale");
  if (p.scale_ns == 0)
    fail("pareto scale must be positive");
  if (!(p.shape > 0) || !std::isfinite(p.shape))
    fail("pareto shape must be positive and finite");
}

void validate(const latency::cubic_jitter& c) {
  check_duration(c.min_ns, "cubic min");
  check_duration(c.scale_ns, "cubic scale");
  if (!(c.a >= 0) || !std::isfinite(c.a))
    fail("cubic a must be non-negative and finite");
  if (!(c.clip > 0 && c.clip < 1))
    fail("cubic clip must be in (0, 1)");
}

// -- text form --

std::string duration_text(std::int64_t ns) {
  if (ns != 0 && ns % 1'000'000'000 == 0)
    return std::to_string(ns / 1'000'000'000) + "s";
  if (ns != 0 && ns % 1'000'000 == 0)
    return std::to_string(ns / 1'000'000) + "ms";
  if (ns != 0 && ns % 1'000 == 0)
    return std::to_string(ns / 1'000) + "us";
  return std::to_string(ns) + "ns";
}

// Shortest text that reads back as the same double.
std::string number_text(double x) {
  char buf[32];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, x);
    if (std::strtod(buf, nullptr) == x)
      break;
  }
  return buf;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

// Parses the leading decimal number of s; returns how many characters it used.
double leading_number(std::string_view s, std::size_t& used, std::string_view whole) {
  std::size_t i = 0;
  while (i < s.size() &&
         (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.' ||
          ((s[i] == '-' || s[i] == '+') && i == 0) ||
          ((s[i] == 'e' || s[i] == 'E') && i > 0 && i + 1 < s.size() &&
           (std::isdigit(static_cast<unsigned char>(s[i + 1])) || s[i + 1] == '-'))))
    ++i;
  std::string digits(s.substr(0, i));
  char* end = nullptr;
  double x = digits.empty() ? 0 : std::strtod(digits.c_str(), &end);
  if (digits.empty() || end != digits.c_str() + digits.size() || !std::isfinite(x))
    fail("expected a number in '" + std::string(whole) + "', got '" + std::string(s) +
         "'");
  used = i;
  return x;
}

double parse_number(std::string_view arg, std::string_view whole) {
  std::size_t used = 0;
  double x = leading_number(arg, used, whole);
  if (used != arg.size())
    fail("unexpected '" + std::string(arg.substr(used)) + "' in '" + std::string(whole) +
         "'");
  return x;
}

std::int64_t parse_duration(std::string_view arg, std::string_view whole) {
  std::size_t used = 0;
  double x = leading_number(arg, used, whole);
  std::string_view unit = arg.substr(used);
  double factor = 0;
  if (unit == "ns")
    factor = 1;
  else if (unit == "us")
    factor = 1e3;
  else if (unit == "ms")
    factor = 1e6;
  else if (unit == "s")
    factor = 1e9;
  else
    fail("duration '" + std::string(arg) + "' in '" + std::string(whole) +
         "' needs a unit: ns, us, ms or s");
  double ns = x * factor;
  if (!(ns >= 0) || ns > static_cast<double>(max_latency_ns))
    fail("duration '" + std::string(arg) + "' must be in [0, 1 day]");
  return std::llround(ns);
}

} // namespace

// -- latency_distribution --

latency_distribution::latency_distribution(model_type model) : model_(model) {
  std::visit([](const auto& m) { validate(m); }, model_);
}

std::int64_t latency_distribution::sample(actors::random_stream& rng) const {
  return std::visit(
      overloaded{
          [](const latency::constant& c) { return c.ns; },
          [&rng](const latency::normal& n) {
            if (n.stddev_ns == 0)
              return n.mean_ns;
            // Truncation by rejection; mean >= 0 bounds the expected draws by 2.
            double x;
            do
              x = rng.normal(static_cast<double>(n.mean_ns),
                             static_cast<double>(n.stddev_ns));
            while (x < 0);
            return to_ns(x);
          },
          [&rng](const latency::exponential& e) {
            return to_ns(rng.exponential(static_cast<double>(e.mean_ns)));
          },
          [&rng](const latency::pareto& p) {
            // Inverse CDF; 1 - u is in (0, 1], so the base is never 0.
            double u = 1 - rng.uniform();
            return to_ns(static_cast<double>(p.scale_ns) * std::pow(u, -1 / p.shape));
          },
          [&rng](const latency::cubic_jitter& c) {
            double x = 1 - (1 - c.clip) * rng.uniform(); // in (clip, 1]
            return to_ns(static_cast<double>(c.min_ns) +
                         static_cast<double>(c.scale_ns) * c.a / (x * x * x));
          },
      },
      model_);
}

double latency_distribution::mean() const {
  return std::visit(
      overloaded{
          [](const latency::constant& c) { return static_cast<double>(c.ns); },
          [](const latency::normal& n) {
            double mu = static_cast<double>(n.mean_ns);
            double sigma = static_cast<double>(n.stddev_ns);
            if (sigma == 0)
              return mu;
            double alpha = -mu / sigma;
            double tail = 0.5 * std::erfc(alpha / std::numbers::sqrt2); // 1 - Phi(alpha)
            return mu + sigma * std_normal_pdf(alpha) / tail;
          },
          [](const latency::exponential& e) { return static_cast<double>(e.mean_ns); },
          [](const latency::pareto& p) {
            if (p.shape <= 1)
              return std::numeric_limits<double>::infinity();
            return p.shape * static_cast<double>(p.scale_ns) / (p.shape - 1);
          },
          [](const latency::cubic_jitter& c) {
            return static_cast<double>(c.min_ns) +
                   static_cast<double>(c.scale_ns) * c.a * mean_inverse_cube(c.clip);
          },
      },
      model_);
}

std::string to_string(const latency_distribution& d) {
  return std::visit(overloaded{
                        [](const latency::constant& c) {
                          return "constant(" + duration_text(c.ns) + ")";
                        },
                        [](const latency::normal& n) {
                          return "normal(" + duration_text(n.mean_ns) + ", " +
                                 duration_text(n.stddev_ns) + ")";
                        },
                        [](const latency::exponential& e) {
                          return "exponential(" + duration_text(e.mean_ns) + ")";
                        },
                        [](const latency::pareto& p) {
                          return "pareto(" + duration_text(p.scale_ns) + ", " +
                                 number_text(p.shape) + ")";
                        },
                        [](const latency::cubic_jitter& c) {
                          return "cubic(" + duration_text(c.min_ns) + ", " +
                                 number_text(c.a) + ", " + duration_text(c.scale_ns) +
                                 ", " + number_text(c.clip) + ")";
                        },
                    },
                    d.model());
}

latency_distribution parse_latency(std::string_view text) {
  std::string_view whole = trim(text);
  auto open = whole.find('(');
  if (open == std::string_view::npos || whole.back() != ')')
    fail("expected name(arguments), got '" + std::string(whole) + "'");
  std::string_view name = trim(whole.substr(0, open));
  std::string_view inside = whole.substr(open + 1, whole.size() - open - 2);
  std::vector<std::string_view> args;
  while (true) {
    auto comma = inside.find(',');
    args.push_back(trim(inside.substr(0, comma)));
    if (comma == std::string_view::npos)
      break;
    inside.remove_prefix(comma + 1);
  }
  auto want = [&](std::size_t lo, std::size_t hi) {
    if (args.size() < lo || args.size() > hi)
      fail(std::string(name) + " takes " + std::to_string(lo) +
           (lo == hi ? "" : " or " + std::to_string(hi)) + " arguments, got '" +
           std::string(whole) + "'");
  };
  auto dur = [&](std::size_t i) { return parse_duration(args[i], whole); };
  auto num = [&](std::size_t i) { return parse_number(args[i], whole); };
  if (name == "constant") {
    want(1, 1);
    return latency::constant{dur(0)};
  }
  if (name == "normal") {
    want(2, 2);
    return latency::normal{dur(0), dur(1)};
  }
  if (name == "exponential") {
    want(1, 1);
    return latency::exponential{dur(0)};
  }
  if (name == "pareto") {
    want(2, 2);
    return latency::pareto{dur(0), num(1)};
  }
  if (name == "cubic") {
    want(3, 4);
    latency::cubic_jitter c{dur(0), num(1), dur(2)};
    if (args.size() == 4)
      c.clip = num(3);
    return c;
  }
  fail("unknown distribution '" + std::string(name) +
       "' (constant, normal, exponential, pareto, cubic)");
}

} // namespace marketsim::network
