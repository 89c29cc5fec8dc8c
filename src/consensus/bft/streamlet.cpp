#include "consensus/bft/streamlet.hpp"

#include <algorithm>
#include <cassert>
#include <deque>
#include <unordered_set>

namespace marketsim::consensus::bft::streamlet {

streamlet_core::streamlet_core(streamlet_params params, validator_id self,
                               crypto::key_pair keys,
                               std::vector<crypto::public_key> roster,
                               payload_check check)
    : params_(params), self_(self), keys_(std::move(keys)), roster_(std::move(roster)),
      check_(std::move(check)), best_tip_(genesis_hash()) {
  assert(roster_.size() == params_.n && self_ < params_.n);
  assert(roster_[self_] == keys_.public_part());
  auto& g = blocks_[genesis_hash()];
  g.blk = std::shared_ptr<const block>(&genesis_block(), [](const block*) {});
  g.valid = g.notarized = g.chain_notarized = true;
}

// -- time and proposing --------------------------------------------------------

step_result streamlet_core::tick(time_ns now) {
  step_result out;
  advance(now, out);
  return out;
}

void streamlet_core::advance(time_ns now, step_result& out) {
  now_ = std::max(now_, now);
  auto e = epoch_at(params_, now_);
  if (e <= epoch_)
    return;
  epoch_ = e;
  if (leader_of(params_, epoch_) == self_ && proposed_epoch_ < epoch_)
    propose(out);
  try_vote(out); // a proposal for this epoch may have arrived early
}

std::vector<std::string> streamlet_core::batch_for(const block& draft) const {
  // Transactions already in the unfinalized part of the chain being extended.
  std::unordered_set<hash256> in_chain;
  for (auto h = draft.parent; draft.height > 1 && h != genesis_hash();) {
    const auto& nb = blocks_.at(h);
    if (nb.blk->height <= finalized_.size())
      break;
    for (const auto& tx : nb.blk->txs)
      in_chain.insert(crypto::blake2b_256(tx));
    h = nb.blk->parent;
  }
  std::vector<std::string> txs;
  for (const auto& [seq, tx] : pool_) {
    if (txs.size() >= params_.max_block_txs)
      break;
    if (!in_chain.empty() && in_chain.count(crypto::blake2b_256(tx)))
      continue;
    txs.push_back(tx);
  }
  return txs;
}

block streamlet_core::next_block(epoch_t epoch) const {
  block b;
  b.epoch = epoch;
  b.parent = best_tip_;
  b.height = best_height_ + 1;
  b.proposer = self_;
  b.txs = batch_for(b);
  if (!check_ || check_(b, *this))
    return b;
  // Some transaction breaks the payload rule on this chain: keep the ones
  // that pass, one at a time (only paid when the pool holds bad ones).
  auto all = std::move(b.txs);
  b.txs.clear();
  for (auto& tx : all) {
    b.txs.push_back(std::move(tx));
    if (!check_(b, *this))
      b.txs.pop_back();
  }
  return b;
}

void streamlet_core::propose(step_result& out) {
  proposed_epoch_ = epoch_;
  auto p = make_proposal(keys_, next_block(epoch_));
  ++stats_.proposals_sent;
  out.sends.push_back({self_, broadcast, p});
  on_proposal(p, self_, out);
}

// -- receiving -----------------------------------------------------------------

step_result streamlet_core::receive(const envelope& e, time_ns now) {
  step_result out;
  advance(now, out);
  if (auto* p = std::get_if<proposal>(&e.msg))
    on_proposal(*p, e.from, out);
  else
    on_vote(std::get<vote>(e.msg), e.from, out);
  return out;
}

void streamlet_core::send(message m, step_result& out) {
  out.sends.push_back({self_, broadcast, std::move(m)});
}

void streamlet_core::report(offence kind, validator_id culprit, epoch_t epoch,
                            message first, std::optional<message> second,
                            std::shared_ptr<const block> blk, step_result& out) {
  if (!reported_.insert({kind, culprit, epoch}).second)
    return;
  ++stats_.evidence;
  out.misbehaviour.push_back(
      {kind, culprit, epoch, std::move(first), std::move(second), std::move(blk)});
}

std::optional<reject_reason> streamlet_core::validate(const block& b) const {
  auto parent = blocks_.find(b.parent);
  if (parent == blocks_.end() || !parent->second.valid)
    return reject_reason::bad_structure;
  const auto& pb = *parent->second.blk;
  if (b.height != pb.height + 1 || b.epoch <= pb.epoch)
    return reject_reason::bad_structure;
  if (b.txs.size() > params_.max_block_txs)
    return reject_reason::too_many_txs;
  if (check_ && !check_(b, *this))
    return reject_reason::invalid_payload;
  return std::nullopt;
}

void streamlet_core::on_proposal(const proposal& p, validator_id from, step_result& out) {
  if (!p.blk || p.blk->proposer >= params_.n) {
    ++stats_.rejected;
    out.rejected.push_back(
        {reject_reason::unknown_validator, from, p.blk ? p.blk->epoch : 0});
    return;
  }
  if (seen_proposals_.count(p.hash))
    return; // an echo or replay of a proposal we handled (a forged copy changes nothing)
  const auto& b = *p.blk;
  if (!signature_ok(p, roster_[b.proposer])) {
    ++stats_.rejected;
    out.rejected.push_back({reject_reason::bad_signature, from, b.epoch});
    return;
  }
  if (block_hash(b) != p.hash) {
    ++stats_.rejected;
    out.rejected.push_back({reject_reason::hash_mismatch, from, b.epoch});
    return;
  }
  // Signed by its proposer from here on: offences are provable.
  seen_proposals_.insert(p.hash);
  if (leader_of(params_, b.epoch) != b.proposer) {
    report(offence::proposal_not_leader, b.proposer, b.epoch, p, std::nullopt, p.blk,
           out);
    return;
  }
  auto& candidates = leader_proposals_[b.epoch];
  if (!candidates.empty() && candidates.front().hash != p.hash)
    report(offence::double_proposal, b.proposer, b.epoch, candidates.front(), p, nullptr,
           out);
  candidates.push_back(p);
  if (params_.echo && b.proposer != self_) {
    ++stats_.echoes_sent;
    send(p, out);
  }
  auto parent = blocks_.find(b.parent);
  if (parent == blocks_.end() || !parent->second.blk) {
    orphans_[b.parent].push_back(p);
    return;
  }
  accept_block(p, out);
}

void streamlet_core::accept_block(const proposal& p, step_result& out) {
  // Blocks whose parent arrives later are accepted in the same pass (a
  // worklist, not recursion: a long orphan chain cannot blow the stack).
  std::deque<proposal> work{p};
  while (!work.empty()) {
    auto cur = std::move(work.front());
    work.pop_front();
    auto& nb = blocks_[cur.hash];
    if (nb.blk)
      continue;
    nb.blk = cur.blk;
    if (auto why = validate(*cur.blk)) {
      ++stats_.rejected;
      out.rejected.push_back({*why, cur.blk->proposer, cur.blk->epoch});
      report(offence::invalid_proposal, cur.blk->proposer, cur.blk->epoch, cur,
             std::nullopt, cur.blk, out);
      for (const auto& v : nb.votes)
        report(offence::vote_for_invalid, v.voter, v.epoch, v, std::nullopt, cur.blk,
               out);
    } else {
      nb.valid = true;
      blocks_[cur.blk->parent].children.push_back(cur.hash);
      check_notarized(cur.hash, out);
    }
    // Orphans of an invalid block are invalid too (their parent is not valid).
    if (auto it = orphans_.find(cur.hash); it != orphans_.end()) {
      for (auto& o : it->second)
        work.push_back(std::move(o));
      orphans_.erase(it);
    }
  }
  try_vote(out);
}

void streamlet_core::on_vote(const vote& v, validator_id from, step_result& out) {
  if (v.voter >= params_.n) {
    ++stats_.rejected;
    out.rejected.push_back({reject_reason::unknown_validator, from, v.epoch});
    return;
  }
  if (seen_votes_.count({v.voter, v.epoch, v.block}))
    return; // an echo or a replay of a vote we handled
  if (!signature_ok(v, roster_[v.voter])) {
    ++stats_.rejected;
    out.rejected.push_back({reject_reason::bad_signature, from, v.epoch});
    return;
  }
  seen_votes_.insert({v.voter, v.epoch, v.block});
  auto key = std::make_pair(v.voter, v.epoch);
  auto first = first_votes_.find(key);
  if (first == first_votes_.end()) {
    first_votes_.emplace(key, v);
  } else {
    // A second signed vote in one epoch: proof of equivocation. Still
    // counted below: a notarization needs quorum distinct signers for one
    // block, whatever else they signed, and views must not diverge on it.
    report(offence::double_vote, v.voter, v.epoch, first->second, v, nullptr, out);
  }
  if (params_.echo && v.voter != self_) {
    ++stats_.echoes_sent;
    send(v, out);
  }
  count_vote(v, out);
}

void streamlet_core::count_vote(const vote& v, step_result& out) {
  auto& nb = blocks_[v.block];
  for (const auto& seen : nb.votes)
    if (seen.voter == v.voter)
      return; // one vote per validator per block, whatever epoch it names
  nb.votes.push_back(v);
  if (nb.blk && !nb.valid) {
    report(offence::vote_for_invalid, v.voter, v.epoch, v, std::nullopt, nb.blk, out);
    return;
  }
  check_notarized(v.block, out);
}

// -- notarization, finalization, voting ----------------------------------------

void streamlet_core::check_notarized(const hash256& h, step_result& out) {
  auto& nb = blocks_[h];
  if (nb.notarized || !nb.valid)
    return;
  // Only votes that name the block's own epoch count.
  auto epoch = nb.blk->epoch;
  auto count = std::count_if(nb.votes.begin(), nb.votes.end(),
                             [epoch](const vote& v) { return v.epoch == epoch; });
  if (static_cast<std::uint32_t>(count) < quorum(params_.n))
    return;
  nb.notarized = true;
  if (blocks_[nb.blk->parent].chain_notarized)
    on_chain_notarized(h, out);
}

void streamlet_core::on_chain_notarized(const hash256& h, step_result& out) {
  std::deque<hash256> work{h};
  while (!work.empty()) {
    auto cur = work.front();
    work.pop_front();
    auto& nb = blocks_[cur];
    nb.chain_notarized = true;
    if (nb.blk->height > best_height_) {
      best_height_ = nb.blk->height;
      best_tip_ = cur;
    }
    try_finalize(cur, out);
    for (const auto& c : nb.children)
      if (blocks_[c].notarized && !blocks_[c].chain_notarized)
        work.push_back(c);
  }
  try_vote(out);
}

bool streamlet_core::chain_notarized(const hash256& h) const {
  auto it = blocks_.find(h);
  return it != blocks_.end() && it->second.chain_notarized;
}

const block* streamlet_core::find(const hash256& h) const {
  auto it = blocks_.find(h);
  return it != blocks_.end() && it->second.valid ? it->second.blk.get() : nullptr;
}

void streamlet_core::try_finalize(const hash256& tip, step_result& out) {
  const auto& b3 = *blocks_.at(tip).blk;
  if (b3.height < 2)
    return;
  const auto& b2 = *blocks_.at(b3.parent).blk;
  const auto& b1 = *blocks_.at(b2.parent).blk;
  if (b3.epoch != b2.epoch + 1 || b2.epoch != b1.epoch + 1 ||
      b2.height <= finalized_.size())
    return;
  // Collect b2 and its ancestors down to what is already final.
  std::vector<hash256> newly;
  auto h = b3.parent;
  while (blocks_.at(h).blk->height > finalized_.size()) {
    newly.push_back(h);
    h = blocks_.at(h).blk->parent;
  }
  auto final_tip = finalized_.empty() ? genesis_hash() : finalized_.back();
  if (h != final_tip) {
    ++stats_.conflicting_finalizations;
    return;
  }
  for (auto it = newly.rbegin(); it != newly.rend(); ++it) {
    const auto& fb = blocks_.at(*it).blk;
    finalized_.push_back(*it);
    out.finalized.push_back(fb);
    for (const auto& tx : fb->txs) {
      auto idx = pool_index_.find(crypto::blake2b_256(tx));
      if (idx != pool_index_.end()) {
        pool_.erase(idx->second);
        pool_index_.erase(idx);
      }
    }
  }
}

void streamlet_core::try_vote(step_result& out) {
  if (voted_epoch_ >= epoch_)
    return;
  auto it = leader_proposals_.find(epoch_);
  if (it == leader_proposals_.end())
    return;
  for (const auto& p : it->second) {
    auto nb = blocks_.find(p.hash);
    if (nb == blocks_.end() || !nb->second.valid)
      continue;
    if (!chain_notarized(p.blk->parent) || p.blk->height != best_height_ + 1)
      continue;
    voted_epoch_ = epoch_;
    auto v = make_vote(keys_, epoch_, p.hash, self_);
    ++stats_.votes_sent;
    send(v, out);
    on_vote(v, self_, out);
    return;
  }
}

void streamlet_core::submit(std::string tx) {
  auto h = crypto::blake2b_256(tx);
  if (pool_index_.count(h))
    return;
  pool_index_.emplace(h, pool_seq_);
  pool_.emplace(pool_seq_++, std::move(tx));
}

} // namespace marketsim::consensus::bft::streamlet
