#include "consensus/bft/price_codec.hpp"

#include "consensus/crypto/canonical.hpp"

namespace marketsim::consensus::bft {

namespace {

constexpr std::string_view tag = "marketsim/price-proposal/v1";

} // namespace

std::string encode(const price_proposal& p) {
  crypto::canonical_writer w(tag);
  w.bytes(p.symbol).u64(p.epoch).i64(p.price).i64(p.vwap);
  w.u32(static_cast<std::uint32_t>(p.sources.size()));
  for (source_id s : p.sources)
    w.u32(s);
  w.i64(p.volume);
  return w.take();
}

std::optional<price_proposal> decode_price_proposal(std::string_view bytes) {
  crypto::canonical_reader r(bytes, tag);
  price_proposal p;
  p.symbol = r.bytes();
  p.epoch = r.u64();
  p.price = r.i64();
  p.vwap = r.i64();
  const std::uint32_t count = r.u32();
  // each source takes 4 bytes: a larger count is a lie, not a reason to loop
  if (count > bytes.size() / 4)
    return std::nullopt;
  p.sources.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i)
    p.sources.push_back(r.u32());
  p.volume = r.i64();
  if (!r.ok())
    return std::nullopt;
  return p;
}

} // namespace marketsim::consensus::bft
