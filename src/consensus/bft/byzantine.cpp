#include "consensus/bft/byzantine.hpp"

#include "consensus/bft/streamlet_coins.hpp"

#include <algorithm>
#include <array>
#include <functional>

namespace marketsim::consensus::bft::streamlet {

namespace {

// -- helpers shared by the policies ---------------------------------------------

const proposal* own_proposal(const step_result& r, validator_id self) {
  for (const auto& s : r.sends)
    if (auto* p = std::get_if<proposal>(&s.msg); p && p->blk->proposer == self)
      return p;
  return nullptr;
}

/// Turns broadcasts into one send per other validator.
void expand(step_result& r, std::uint32_t n, validator_id self) {
  std::vector<envelope> out;
  for (auto& s : r.sends) {
    if (s.to != broadcast) {
      out.push_back(std::move(s));
      continue;
    }
    for (validator_id d = 0; d < n; ++d)
      if (d != self)
        out.push_back({s.from, d, s.msg});
  }
  r.sends = std::move(out);
}

/// Replaces the node's honest proposal in `r` (and its own vote for it) by
/// `mutate(copy of the block)`, signed, broadcast and voted for.
void replace_own_proposal(const streamlet_core& core, step_result& r,
                          const std::function<void(block&)>& mutate) {
  auto* honest = own_proposal(r, core.self());
  if (!honest)
    return;
  auto old_hash = honest->hash;
  block b = *honest->blk;
  mutate(b);
  std::erase_if(r.sends, [&](const envelope& s) {
    if (auto* p = std::get_if<proposal>(&s.msg))
      return p->hash == old_hash;
    auto* v = std::get_if<vote>(&s.msg);
    return v && v->block == old_hash;
  });
  auto p = make_proposal(core.keys(), std::move(b));
  r.sends.push_back({core.self(), broadcast, p});
  r.sends.push_back({core.self(), broadcast,
                     make_vote(core.keys(), p.blk->epoch, p.hash, core.self())});
}

// -- the policies ----------------------------------------------------------------

class honest_policy final : public behaviour {
public:
  std::string_view name() const override { return "honest"; }
  bool honest() const override { return true; }
};

class crash_policy final : public behaviour {
public:
  explicit crash_policy(time_ns at) : at_(at) {}
  std::string_view name() const override { return "crash"; }
  step_result on_tick(streamlet_core& core, time_ns now) override {
    return now >= at_ ? step_result{} : core.tick(now);
  }
  step_result on_receive(streamlet_core& core, const envelope& e, time_ns now) override {
    return now >= at_ ? step_result{} : core.receive(e, now);
  }

private:
  time_ns at_;
};

class silent_policy final : public behaviour {
public:
  std::string_view name() const override { return "silent"; }
  step_result on_tick(streamlet_core& core, time_ns now) override {
    auto r = core.tick(now);
    r.sends.clear();
    return r;
  }
  step_result on_receive(streamlet_core& core, const envelope& e, time_ns now) override {
    auto r = core.receive(e, now);
    r.sends.clear();
    return r;
  }
};

/// Votes once for every distinct block a proposal names: only current-epoch
/// proposals from the epoch's leader, or with `any_proposal` every proposal
/// of any epoch, valid or not.
class vote_everything : public behaviour {
public:
  explicit vote_everything(bool any_proposal) : any_proposal_(any_proposal) {}

  step_result on_receive(streamlet_core& core, const envelope& e, time_ns now) override {
    auto r = core.receive(e, now);
    auto* p = std::get_if<proposal>(&e.msg);
    if (!p || !p->blk)
      return r;
    if (!any_proposal_ && (p->blk->epoch != core.epoch() ||
                           leader_of(core.params(), p->blk->epoch) != p->blk->proposer))
      return r;
    if (voted_.insert(p->hash).second)
      r.sends.push_back({core.self(), broadcast,
                         make_vote(core.keys(), p->blk->epoch, p->hash, core.self())});
    return r;
  }

private:
  bool any_proposal_;
  std::set<hash256> voted_;
};

class equivocate_policy final : public vote_everything {
public:
  equivocate_policy() : vote_everything(false) {}
  std::string_view name() const override { return "equivocate"; }

  step_result on_tick(streamlet_core& core, time_ns now) override {
    auto r = core.tick(now);
    auto* a = own_proposal(r, core.self());
    if (!a)
      return r;
    // A second block for the same epoch and parent: other transactions.
    block b = *a->blk;
    if (b.txs.empty())
      b.txs.push_back("equivocation");
    else
      b.txs.pop_back();
    auto second = make_proposal(core.keys(), std::move(b));
    auto first_hash = a->hash;
    expand(r, core.params().n, core.self());
    // Odd ids get the second block (and a vote for it) instead of the first.
    for (auto& s : r.sends) {
      if (s.to % 2 == 0)
        continue;
      if (auto* p = std::get_if<proposal>(&s.msg); p && p->hash == first_hash)
        s.msg = second;
      else if (auto* v = std::get_if<vote>(&s.msg); v && v->block == first_hash)
        s.msg = make_vote(core.keys(), second.blk->epoch, second.hash, core.self());
    }
    return r;
  }
};

class vote_invalid_policy final : public vote_everything {
public:
  vote_invalid_policy() : vote_everything(true) {}
  std::string_view name() const override { return "vote_invalid"; }
  step_result on_tick(streamlet_core& core, time_ns now) override {
    auto r = core.tick(now);
    replace_own_proposal(core, r, [](block& b) { b.height += 1; }); // skips a height
    return r;
  }
};

class forge_policy final : public behaviour {
public:
  std::string_view name() const override { return "forge"; }

  step_result on_tick(streamlet_core& core, time_ns now) override {
    auto before = core.epoch();
    auto r = core.tick(now);
    if (core.epoch() == before)
      return r;
    const auto& p = core.params();
    auto epoch = core.epoch();
    auto victim = static_cast<validator_id>((core.self() + 1) % p.n);
    // 1. A vote in the victim's name with a made-up signature.
    vote fake{epoch, core.longest_notarized_tip(), victim, garbage(epoch)};
    r.sends.push_back({core.self(), broadcast, fake});
    // 2. A proposal in the epoch leader's name, correctly hashed, badly signed.
    auto leader = leader_of(p, epoch);
    if (leader != core.self()) {
      block b = core.next_block(epoch);
      b.proposer = leader;
      auto h = block_hash(b);
      r.sends.push_back(
          {core.self(), broadcast,
           proposal{std::make_shared<const block>(std::move(b)), h, garbage(epoch + 1)}});
    }
    // 3. Replays of a validly signed vote it received: as is (a duplicate)
    //    and moved to this epoch (its signature no longer matches).
    if (last_vote_) {
      r.sends.push_back({core.self(), broadcast, *last_vote_});
      auto moved = *last_vote_;
      moved.epoch = epoch;
      r.sends.push_back({core.self(), broadcast, moved});
    }
    return r;
  }

  step_result on_receive(streamlet_core& core, const envelope& e, time_ns now) override {
    if (auto* v = std::get_if<vote>(&e.msg); v && v->voter != core.self())
      last_vote_ = *v;
    return core.receive(e, now);
  }

private:
  static crypto::signature garbage(std::uint64_t x) {
    crypto::signature s;
    for (std::size_t i = 0; i < s.bytes.size(); ++i)
      s.bytes[i] = static_cast<std::uint8_t>(x * 131 + i * 7);
    return s;
  }

  std::optional<vote> last_vote_;
};

class selective_delay_policy final : public behaviour {
public:
  explicit selective_delay_policy(time_ns hold_for) : hold_for_(hold_for) {}
  std::string_view name() const override { return "selective_delay"; }

  step_result on_tick(streamlet_core& core, time_ns now) override {
    auto r = filter(core, core.tick(now), now);
    while (!held_.empty() && held_.begin()->first <= now) {
      r.sends.push_back(std::move(held_.begin()->second));
      held_.erase(held_.begin());
    }
    return r;
  }
  step_result on_receive(streamlet_core& core, const envelope& e, time_ns now) override {
    return filter(core, core.receive(e, now), now);
  }

private:
  step_result filter(const streamlet_core& core, step_result r, time_ns now) {
    const auto& p = core.params();
    auto hold = hold_for_ > 0 ? hold_for_ : p.epoch_duration * 3 / 2;
    expand(r, p.n, core.self());
    std::erase_if(r.sends, [&](envelope& s) {
      if (s.to >= p.n / 2)
        return false;
      held_.emplace(now + hold, std::move(s));
      return true;
    });
    return r;
  }

  time_ns hold_for_;
  std::multimap<time_ns, envelope> held_;
};

using fake_fn = decltype(behaviour_params::fake_txs);
using respend_fn = decltype(behaviour_params::respend);

class fake_txs_policy final : public behaviour {
public:
  explicit fake_txs_policy(fake_fn fakes) : fakes_(std::move(fakes)) {}
  std::string_view name() const override { return "fake_txs"; }
  step_result on_tick(streamlet_core& core, time_ns now) override {
    auto r = core.tick(now);
    replace_own_proposal(core, r, [&](block& b) {
      for (auto& tx : fakes_(b, core))
        b.txs.push_back(std::move(tx));
    });
    return r;
  }

private:
  fake_fn fakes_;
};

/// Coin transfers with forged issuer signatures (fake_txs by default).
std::vector<std::string> forged_transfers(const block& b, const streamlet_core& core) {
  std::vector<std::string> out;
  for (std::uint64_t i = 0; i < 3; ++i)
    out.push_back(
        encode_forged_transfer(1'000'000 + b.epoch * 3 + i, core.self(), b.epoch * 3 + i));
  return out;
}

class double_spend_policy final : public behaviour {
public:
  explicit double_spend_policy(respend_fn respend) : respend_(std::move(respend)) {}
  std::string_view name() const override { return "double_spend"; }
  step_result on_tick(streamlet_core& core, time_ns now) override {
    auto r = core.tick(now);
    if (!respend_)
      return r;
    replace_own_proposal(core, r, [&](block& b) {
      // Spend again the most recent spend on this chain it can.
      for (const block* a = core.find(b.parent); a && a->height > 0;
           a = core.find(a->parent))
        for (const auto& tx : a->txs)
          if (auto again = respend_(tx, core)) {
            b.txs.push_back(std::move(*again));
            return;
          }
    });
    return r;
  }

private:
  respend_fn respend_;
};

/// A coin transfer spent again, to the leader, signed by the colluding
/// issuer (double_spend by default; none without an issuer).
respend_fn coin_respend(const std::optional<crypto::key_pair>& issuer) {
  if (!issuer)
    return {};
  return [key = *issuer](const std::string& tx,
                         const streamlet_core& core) -> std::optional<std::string> {
    auto t = decode_transfer(tx);
    if (!t)
      return std::nullopt;
    return encode_transfer(key, t->coin, 1'000'000 + core.self());
  };
}

constexpr std::array<std::pair<behaviour_kind, std::string_view>, 9> names{{
    {behaviour_kind::honest, "honest"},
    {behaviour_kind::crash, "crash"},
    {behaviour_kind::silent, "silent"},
    {behaviour_kind::equivocate, "equivocate"},
    {behaviour_kind::vote_invalid, "vote_invalid"},
    {behaviour_kind::forge, "forge"},
    {behaviour_kind::selective_delay, "selective_delay"},
    {behaviour_kind::fake_txs, "fake_txs"},
    {behaviour_kind::double_spend, "double_spend"},
}};

} // namespace

std::string_view to_string(behaviour_kind k) {
  for (const auto& [kind, name] : names)
    if (kind == k)
      return name;
  return "unknown";
}

std::optional<behaviour_kind> behaviour_from_string(std::string_view name) {
  for (const auto& [kind, n] : names)
    if (n == name)
      return kind;
  return std::nullopt;
}

std::unique_ptr<behaviour> make_behaviour(behaviour_kind kind,
                                          const behaviour_params& p) {
  switch (kind) {
  case behaviour_kind::honest:
    return std::make_unique<honest_policy>();
  case behaviour_kind::crash:
    return std::make_unique<crash_policy>(p.crash_at);
  case behaviour_kind::silent:
    return std::make_unique<silent_policy>();
  case behaviour_kind::equivocate:
    return std::make_unique<equivocate_policy>();
  case behaviour_kind::vote_invalid:
    return std::make_unique<vote_invalid_policy>();
  case behaviour_kind::forge:
    return std::make_unique<forge_policy>();
  case behaviour_kind::selective_delay:
    return std::make_unique<selective_delay_policy>(p.hold_for);
  case behaviour_kind::fake_txs:
    return std::make_unique<fake_txs_policy>(p.fake_txs ? p.fake_txs : forged_transfers);
  case behaviour_kind::double_spend:
    return std::make_unique<double_spend_policy>(p.respend ? p.respend
                                                           : coin_respend(p.issuer));
  }
  return std::make_unique<honest_policy>();
}

} // namespace marketsim::consensus::bft::streamlet
