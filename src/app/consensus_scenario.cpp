#include "app/consensus_scenario.hpp"

#include "actors/consensus_messages.hpp"
#include "actors/runtime.hpp"
#include "app/scenario.hpp"
#include "consensus/bft/price_band.hpp"
#include "consensus/bft/streamlet_checker.hpp"
#include "consensus/bft/streamlet_coins.hpp"
#include "consensus/bft/streamlet_validator.hpp"

#include <caf/all.hpp>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

namespace marketsim::app {

namespace {

namespace bft = consensus::bft;
namespace sl = consensus::bft::streamlet;

// -- loading -------------------------------------------------------------------------

class consensus_reader {
public:
  explicit consensus_reader(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const YAML::Mark& mark, const std::string& what) const {
    throw scenario_error(fmt::format("{}:{}: {}", file_, std::max(mark.line + 1, 1), what));
  }
  [[noreturn]] void fail(const YAML::Node& node, const std::string& what) const {
    fail(node.Mark(), what);
  }

  void check_keys(const YAML::Node& node, const std::string& what,
                  std::initializer_list<std::string_view> allowed) const {
    if (!node.IsMap())
      fail(node, what + " must be a map");
    for (const auto& kv : node) {
      auto key = kv.first.Scalar();
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
        fail(kv.first, fmt::format("unknown key '{}' in {}", key, what));
    }
  }

  std::string scalar(const YAML::Node& node, const std::string& key) const {
    if (!node.IsScalar())
      fail(node, fmt::format("'{}' must be a single value", key));
    return node.Scalar();
  }

  std::int64_t integer(const YAML::Node& node, const std::string& key, std::int64_t lo,
                       std::int64_t hi) const {
    auto text = scalar(node, key);
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size())
      fail(node, fmt::format("'{}' must be an integer, got '{}'", key, text));
    if (v < lo || v > hi)
      fail(node, fmt::format("'{}' must be in [{}, {}], got {}", key, lo, hi, v));
    return v;
  }

  std::int64_t duration(const YAML::Node& node, const std::string& key) const {
    auto text = scalar(node, key);
    std::int64_t ns = 0;
    try {
      ns = parse_duration(text).count();
    } catch (const std::invalid_argument& e) {
      fail(node, fmt::format("'{}': {}", key, e.what()));
    }
    if (ns <= 0)
      fail(node, fmt::format("'{}' must be positive", key));
    return ns;
  }

  consensus_prices prices(const YAML::Node& node) const {
    check_keys(node, "prices", {"symbol", "start_price", "sources", "faulty_sources",
                                "max_move_bps", "min_sources", "band_bps"});
    consensus_prices p;
    if (node["symbol"])
      p.symbol = scalar(node["symbol"], "symbol");
    if (node["start_price"])
      p.start_price = integer(node["start_price"], "start_price", 1, 1'000'000'000);
    if (node["sources"])
      p.sources = static_cast<std::uint32_t>(integer(node["sources"], "sources", 1, 1'000));
    if (node["max_move_bps"])
      p.max_move_bps = integer(node["max_move_bps"], "max_move_bps", 0, 10'000);
    if (node["min_sources"])
      p.min_sources =
          static_cast<std::uint32_t>(integer(node["min_sources"], "min_sources", 1, 1'000));
    if (node["band_bps"])
      p.band_bps = integer(node["band_bps"], "band_bps", 0, 10'000);
    if (p.min_sources > p.sources)
      fail(node["min_sources"] ? node["min_sources"] : node,
           fmt::format("'min_sources' ({}) exceeds 'sources' ({}): no price could ever form",
                       p.min_sources, p.sources));
    if (auto faulty = node["faulty_sources"]) {
      if (!faulty.IsSequence())
        fail(faulty, "'faulty_sources' must be a list of {source, fault}");
      std::set<std::uint32_t> seen;
      for (const auto& item : faulty) {
        check_keys(item, "a faulty source", {"source", "fault"});
        if (!item["source"] || !item["fault"])
          fail(item, "a faulty source needs 'source' and 'fault'");
        consensus_faulty_source f;
        f.source = static_cast<std::uint32_t>(integer(item["source"], "source", 1, p.sources));
        f.fault = scalar(item["fault"], "fault");
        if (f.fault != "stale" && f.fault != "outlier" && f.fault != "zero_volume")
          fail(item["fault"], fmt::format("unknown fault '{}' (stale, outlier, zero_volume)",
                                          f.fault));
        if (!seen.insert(f.source).second)
          fail(item["source"], fmt::format("source {} is listed twice", f.source));
        p.faulty.push_back(f);
      }
    }
    return p;
  }

  consensus_scenario scenario(const YAML::Node& root) const {
    if (!root.IsMap() || !root["consensus"])
      fail(root, "a consensus scenario needs a top-level 'consensus:' map");
    check_keys(root, "the scenario", {"consensus"});
    auto node = root["consensus"];
    check_keys(node, "consensus",
               {"validators", "f", "byzantine", "epoch", "duration", "seed", "leader",
                "transactions_per_epoch", "prices"});
    consensus_scenario sc;
    sc.file = file_;
    if (!node["validators"])
      fail(node, "missing key 'validators' in consensus");
    sc.validators =
        static_cast<std::uint32_t>(integer(node["validators"], "validators", 1, 1'000));
    if (node["epoch"])
      sc.epoch_ns = duration(node["epoch"], "epoch");
    if (node["duration"])
      sc.duration_ns = duration(node["duration"], "duration");
    if (node["seed"])
      sc.seed = static_cast<std::uint64_t>(
          integer(node["seed"], "seed", 0, std::numeric_limits<std::int64_t>::max()));
    if (node["leader"]) {
      auto l = scalar(node["leader"], "leader");
      if (l != "round_robin" && l != "hash")
        fail(node["leader"], fmt::format("'leader' must be round_robin or hash, got '{}'", l));
      sc.hash_leader = l == "hash";
    }
    if (node["transactions_per_epoch"])
      sc.transactions_per_epoch = static_cast<std::uint32_t>(
          integer(node["transactions_per_epoch"], "transactions_per_epoch", 0, 100'000));
    if (node["prices"])
      sc.prices = prices(node["prices"]);
    if (auto byz = node["byzantine"]) {
      if (!byz.IsSequence())
        fail(byz, "'byzantine' must be a list of {validator, behaviour}");
      std::set<std::uint32_t> seen;
      for (const auto& item : byz) {
        check_keys(item, "a byzantine validator",
                   {"validator", "behaviour", "crash_at", "shift_bps"});
        if (!item["validator"] || !item["behaviour"])
          fail(item, "a byzantine validator needs 'validator' and 'behaviour'");
        consensus_byzantine b;
        b.line = item.Mark().line + 1;
        b.validator = static_cast<std::uint32_t>(
            integer(item["validator"], "validator", 0, sc.validators - 1));
        if (!seen.insert(b.validator).second)
          fail(item["validator"], fmt::format("validator {} is listed twice", b.validator));
        b.behaviour = scalar(item["behaviour"], "behaviour");
        auto kind = sl::behaviour_from_string(b.behaviour);
        if (b.behaviour == "shift_price") {
          if (!sc.prices)
            fail(item["behaviour"], "shift_price needs a 'prices:' section");
        } else if (!kind || *kind == sl::behaviour_kind::honest) {
          fail(item["behaviour"],
               fmt::format("unknown behaviour '{}' (crash, silent, equivocate, vote_invalid, "
                           "forge, selective_delay, fake_txs, double_spend, shift_price)",
                           b.behaviour));
        }
        if (item["crash_at"]) {
          if (b.behaviour != "crash")
            fail(item["crash_at"], "'crash_at' is for behaviour crash only");
          b.crash_at_ns = duration(item["crash_at"], "crash_at");
        }
        if (item["shift_bps"]) {
          if (b.behaviour != "shift_price")
            fail(item["shift_bps"], "'shift_bps' is for behaviour shift_price only");
          b.shift_bps = integer(item["shift_bps"], "shift_bps", -5'000, 5'000);
        }
        sc.byzantine.push_back(b);
      }
    }
    if (node["f"]) {
      auto f = integer(node["f"], "f", 0, sc.validators);
      if (static_cast<std::size_t>(f) != sc.byzantine.size())
        fail(node["f"], fmt::format("'f' is {} but {} byzantine validator(s) are listed", f,
                                    sc.byzantine.size()));
    }
    if (sc.byzantine.size() >= sc.validators)
      fail(node["byzantine"], "at least one validator must be honest");
    if (sc.duration_ns < sc.epoch_ns)
      fail(node["duration"] ? node["duration"] : node, "'duration' is shorter than one epoch");
    return sc;
  }

private:
  std::string file_;
};

// -- running -------------------------------------------------------------------------

std::string money(std::int64_t ticks) {
  return fmt::format("{}{}.{:02}", ticks < 0 ? "-" : "", std::abs(ticks) / 100,
                     std::abs(ticks) % 100);
}

std::string seconds(std::int64_t ns) {
  return fmt::format("{:.2f} s", static_cast<double>(ns) / 1e9);
}

template <class T>
T percentile(std::vector<T> v, double q) {
  if (v.empty())
    return T{};
  std::sort(v.begin(), v.end());
  auto idx = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(idx, v.size() - 1)];
}

bft::source_fault fault_of(const std::string& name) {
  if (name == "stale")
    return bft::source_fault::stale;
  if (name == "outlier")
    return bft::source_fault::outlier;
  return bft::source_fault::zero_volume;
}

sl::price_mode price_mode_of(const consensus_prices& p, std::uint64_t seed) {
  sl::price_mode pm;
  pm.symbol = p.symbol;
  pm.walk.start = p.start_price;
  pm.sources = bft::honest_sources(p.sources, seed);
  for (const auto& f : p.faulty)
    pm.sources[f.source - 1].fault = fault_of(f.fault);
  pm.feed_seed = seed;
  pm.rules.quotes.max_move_bps = p.max_move_bps;
  pm.rules.min_sources = p.min_sources;
  return pm;
}

} // namespace

consensus_scenario parse_consensus_scenario(const std::string& text, const std::string& name) {
  consensus_reader r{name};
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    r.fail(e.mark, e.msg);
  }
  return r.scenario(root);
}

consensus_scenario load_consensus_scenario(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    throw scenario_error(path + ": cannot open the scenario file");
  std::stringstream text;
  text << in.rdbuf();
  return parse_consensus_scenario(text.str(), path);
}

int run_consensus(const consensus_scenario& sc, std::ostream& out) {
  actors::runtime rt;
  const std::uint32_t n = sc.validators;
  sl::streamlet_params proto;
  proto.n = n;
  proto.epoch_duration = sc.epoch_ns;
  proto.leader = sc.hash_leader ? sl::leader_rule::hash : sl::leader_rule::round_robin;

  std::vector<consensus::crypto::key_pair> keys;
  std::vector<consensus::crypto::public_key> roster;
  for (std::uint32_t i = 0; i < n; ++i) {
    keys.push_back(consensus::crypto::key_pair::derive(sc.seed, i));
    roster.push_back(keys.back().public_part());
  }
  auto issuer = consensus::crypto::key_pair::derive(sc.seed, 1'000'000);
  std::map<std::uint32_t, const consensus_byzantine*> byz;
  for (const auto& b : sc.byzantine)
    byz[b.validator] = &b;

  auto rec = std::make_shared<sl::group_record>();
  std::vector<sl::streamlet_validator_params> ps;
  for (std::uint32_t i = 0; i < n; ++i) {
    sl::streamlet_validator_params p;
    p.protocol = proto;
    p.id = i;
    p.keys = keys[i];
    p.roster = roster;
    p.coin_issuer = issuer.public_part();
    if (sc.prices)
      p.prices = price_mode_of(*sc.prices, sc.seed);
    p.origin_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      rt.start_time().time_since_epoch())
                      .count();
    p.observer = sl::record_into(rec);
    if (auto it = byz.find(i); it != byz.end()) {
      const auto& b = *it->second;
      if (b.behaviour == "shift_price") {
        p.prices->shift_bps = b.shift_bps;
      } else {
        p.behaviour = *sl::behaviour_from_string(b.behaviour);
        p.behaviour_opts.crash_at = b.crash_at_ns;
        p.behaviour_opts.issuer = issuer;
      }
    }
    ps.push_back(std::move(p));
  }
  auto handles = sl::spawn_streamlet_group(rt.system(), std::move(ps));

  // The client: fresh coin transfers to every validator at each epoch start.
  std::uint64_t next_coin = 1;
  for (sl::epoch_t e = 1; sl::epoch_start(proto, e) < sc.duration_ns; ++e) {
    rt.run_until(sl::epoch_start(proto, e));
    actors::streamlet_submit batch;
    for (std::uint32_t k = 0; k < sc.transactions_per_epoch; ++k, ++next_coin)
      batch.txs.push_back(sl::encode_transfer(issuer, next_coin, next_coin % 97));
    if (!batch.txs.empty())
      for (const auto& h : handles)
        caf::anon_send(h, batch);
  }
  rt.run_until(sc.duration_ns);
  rt.shutdown(handles);

  // -- the report --
  std::vector<std::uint32_t> honest;
  for (std::uint32_t i = 0; i < n; ++i)
    if (!byz.count(i))
      honest.push_back(i);
  std::string byz_text;
  for (const auto& b : sc.byzantine)
    byz_text += fmt::format("{}v{} {}", byz_text.empty() ? "" : ", ", b.validator, b.behaviour);
  auto byz_part = byz_text.empty() ? std::string{} : " (" + byz_text + ")";
  out << fmt::format("consensus: {} validators, f={}{}, epoch {}, duration {}, seed {}, "
                     "leader {}\n",
                     n, sc.byzantine.size(), byz_part,
                     format_duration(std::chrono::nanoseconds{sc.epoch_ns}),
                     format_duration(std::chrono::nanoseconds{sc.duration_ns}), sc.seed,
                     sc.hash_leader ? "hash" : "round_robin");
  if (3 * sc.byzantine.size() >= n)
    out << "note: f >= n/3: Streamlet does not promise safety here\n";

  // The longest honest chain speaks for the prices (the others are prefixes
  // of it when the run is safe).
  auto reference = honest.front();
  for (auto id : honest)
    if (rec->finalized[id].size() > rec->finalized[reference].size())
      reference = id;
  const auto& ref_chain = rec->finalized[reference];
  std::uint64_t txs = 0;
  std::vector<bft::price_proposal> prices;
  for (const auto& f : ref_chain) {
    auto p = sl::price_of(*f.blk);
    txs += f.blk->txs.size() - (p ? 1 : 0);
    if (p)
      prices.push_back(*p);
  }
  out << fmt::format("finalized: {} blocks, {} transactions (validator v{})\n",
                     ref_chain.size(), txs, reference);
  if (sc.prices) {
    out << fmt::format("finalized prices of {} ({} of {} blocks carry one):\n", sc.prices->symbol,
                       prices.size(), ref_chain.size());
    out << fmt::format("  {:>6}  {:>10}  {:>10}  {}\n", "epoch", "price", "vwap", "sources");
    for (const auto& p : prices) {
      std::string srcs;
      for (auto s : p.sources)
        srcs += fmt::format("{}{}", srcs.empty() ? "" : ",", s);
      out << fmt::format("  {:>6}  {:>10}  {:>10}  {}\n", p.epoch, money(p.price),
                         money(p.vwap), srcs);
    }
    if (!prices.empty()) {
      bft::price_band band{{sc.prices->band_bps}};
      band.on_finalized(prices.back().epoch, prices.back().price);
      auto lim = band.limits();
      out << fmt::format("price band {} bps around {}: trades accepted in [{}, {}]\n",
                         sc.prices->band_bps, money(prices.back().price), money(lim->first),
                         money(lim->second));
    }
  }

  // Finality latency: from the start of a block's epoch to its finalization,
  // at every honest validator.
  std::vector<std::int64_t> lat_ns, lat_epochs;
  for (auto id : honest)
    for (const auto& f : rec->finalized[id]) {
      lat_ns.push_back(f.at - sl::epoch_start(proto, f.blk->epoch));
      lat_epochs.push_back(static_cast<std::int64_t>(sl::epoch_at(proto, f.at)) -
                           static_cast<std::int64_t>(f.blk->epoch));
    }
  if (lat_ns.empty())
    out << "finality latency: nothing finalized\n";
  else
    out << fmt::format("finality latency (epoch start to finalization): p50 {} epoch(s) "
                       "({}), max {} epoch(s) ({}) over {} finalizations\n",
                       percentile(lat_epochs, 0.5), seconds(percentile(lat_ns, 0.5)),
                       percentile(lat_epochs, 1.0), seconds(percentile(lat_ns, 1.0)),
                       lat_ns.size());

  // Misbehaviour: one line per (culprit, offence, epoch), with its reporters.
  struct finding {
    std::set<std::uint32_t> reporters;
    bool verifies = true;
  };
  std::map<std::tuple<std::uint32_t, sl::offence, sl::epoch_t>, finding> found;
  for (const auto& r : rec->evidence) {
    if (byz.count(r.reporter))
      continue;
    auto& f = found[{r.ev.culprit, r.ev.kind, r.ev.epoch}];
    f.reporters.insert(r.reporter);
    f.verifies = f.verifies && sl::verify_evidence(r.ev, proto, roster);
  }
  out << fmt::format("misbehaviour detected: {}\n", found.size());
  for (const auto& [key, f] : found) {
    const auto& [culprit, kind, epoch] = key;
    auto it = byz.find(culprit);
    out << fmt::format("  validator v{} ({}): {} in epoch {}, reported by {} honest, evidence "
                       "{}\n",
                       culprit, it == byz.end() ? "honest!" : it->second->behaviour,
                       sl::to_string(kind), epoch, f.reporters.size(),
                       f.verifies ? "verifies" : "DOES NOT VERIFY");
  }
  std::uint64_t rejected = 0;
  for (auto id : honest)
    rejected += rec->rejected[id];
  out << fmt::format("messages rejected by honest validators: {}\n", rejected);

  std::vector<std::pair<std::string, std::vector<sl::hash256>>> chains;
  for (auto id : honest) {
    std::vector<sl::hash256> c;
    for (const auto& f : rec->finalized[id])
      c.push_back(sl::block_hash(*f.blk));
    chains.push_back({fmt::format("v{}", id), std::move(c)});
  }
  auto safety = sl::check_finalized_prefixes(chains);
  if (safety.safe) {
    out << fmt::format("safety: ok ({} honest finalized chains are prefixes of each other)\n",
                       honest.size());
    return 0;
  }
  out << "safety: VIOLATED: " << safety.violation << "\n";
  return 1;
}

int consensus_command(const consensus_cli_options& opts, std::ostream& out,
                      std::ostream& err) {
  consensus_scenario sc;
  try {
    sc = load_consensus_scenario(opts.file);
    if (!opts.duration.empty()) {
      auto d = parse_duration(opts.duration).count();
      if (d < sc.epoch_ns)
        throw std::invalid_argument("--duration: shorter than one epoch");
      sc.duration_ns = d;
    }
    if (opts.seed)
      sc.seed = *opts.seed;
  } catch (const std::exception& e) {
    err << "marketsim: " << e.what() << "\n";
    return 2;
  }
  return run_consensus(sc, out);
}

} // namespace marketsim::app
