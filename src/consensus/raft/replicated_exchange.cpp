#include "consensus/raft/replicated_exchange.hpp"

#include "consensus/raft/exchange_command_pb.hpp"

#include <algorithm>
#include <tuple>
#include <utility>

namespace marketsim::consensus::raft {

using namespace market;

namespace {

/// Size of the chain value at the front of the link buffer.
constexpr std::size_t digest_bytes = std::tuple_size_v<state_digest>;
/// A link closes once it holds this many bytes: eight BLAKE2b blocks.
constexpr std::size_t link_bytes = 1024;

} // namespace

replicated_exchange::replicated_exchange(symbol_table table,
                                         std::vector<symbol_id> symbols)
    : table_(std::move(table)), symbols_(std::move(symbols)),
      engine_(std::make_unique<matching_engine>(table_, symbols_)),
      link_(digest_bytes, '\0'), link_len_(digest_bytes) {}

replicated_exchange::~replicated_exchange() = default;

// -- applying entries ----------------------------------------------------------

const exchange_apply_result& replicated_exchange::apply(const log_entry& e) {
  result_.index = e.index;
  result_.error.clear();
  result_.events.clear();
  if (e.index != applied_index_ + 1) {
    result_.error = "entry " + std::to_string(e.index) + " applied where " +
                    std::to_string(applied_index_ + 1) + " is next";
    return result_;
  }
  applied_index_ = e.index;
  if (e.kind != entry_kind::command)
    return result_;
  auto cmd = decode_exchange_command(e.data);
  if (!cmd) {
    result_.error = std::move(cmd.reason);
    return result_;
  }
  run(*cmd.value, result_.events);
  hash_tape(result_.events);
  return result_;
}

void replicated_exchange::run(const exchange_command& cmd, std::vector<book_event>& out) {
  if (auto* r = std::get_if<order_request>(&cmd))
    engine_->submit(*r, out);
  else if (auto* c = std::get_if<cancel_command>(&cmd))
    engine_->cancel(c->request, c->requester, out);
  else if (auto* m = std::get_if<modify_command>(&cmd))
    engine_->modify(m->request, m->requester, out);
  else
    engine_->end_of_day(out);
}

// -- the tape hash ---------------------------------------------------------------

namespace {

/// Unsigned LEB128: 7 bits a byte, least significant first, high bit set on
/// every byte but the last. Writes at most 10 bytes.
char* put_varint(char* p, std::uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

/// Zigzag: small negative and positive numbers both get short varints.
std::uint64_t zigzag(std::int64_t v) {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}

constexpr std::size_t tape_fields = 12;
/// kind, mask (2 bytes), three enums (<= 2 bytes each), symbol (<= 5 bytes),
/// eight 64-bit fields (<= 10 bytes each).
constexpr std::size_t max_event_bytes = 1 + 2 + 3 * 2 + 5 + 8 * 10;

/// One event's canonical bytes (see "State hash" in the header).
char* put_event(char* p, const book_event& ev) {
  const std::uint64_t field[tape_fields] = {static_cast<std::uint8_t>(ev.reject),
                                            static_cast<std::uint8_t>(ev.cancel),
                                            static_cast<std::uint8_t>(ev.side),
                                            ev.symbol,
                                            ev.id,
                                            ev.owner,
                                            ev.maker,
                                            ev.maker_owner,
                                            zigzag(ev.price),
                                            zigzag(ev.qty),
                                            zigzag(ev.leaves),
                                            zigzag(ev.maker_leaves)};
  std::uint64_t mask = 0;
  for (std::size_t i = 0; i < tape_fields; ++i)
    mask |= static_cast<std::uint64_t>(field[i] != 0) << i;
  *p++ = static_cast<char>(ev.kind);
  p = put_varint(p, mask);
  for (std::size_t i = 0; i < tape_fields; ++i)
    if (field[i] != 0)
      p = put_varint(p, field[i]);
  return p;
}

} // namespace

void replicated_exchange::hash_tape(const std::vector<book_event>& events) {
  if (events.empty())
    return;
  const std::size_t need = link_len_ + 10 + events.size() * max_event_bytes;
  if (link_.size() < need)
    link_.resize(need);
  char* const start = link_.data();
  char* p = put_varint(start + link_len_, events.size());
  for (const book_event& ev : events) {
    p = put_event(p, ev);
    trades_ += ev.kind == event_kind::trade ? 1 : 0;
  }
  events_ += events.size();
  link_len_ = static_cast<std::size_t>(p - start);
  if (link_len_ - digest_bytes >= link_bytes) {
    const state_digest chain = blake2b_256(std::string_view(start, link_len_));
    std::copy(chain.begin(), chain.end(), start);
    link_len_ = digest_bytes;
  }
}

state_digest replicated_exchange::state_hash() const {
  if (link_len_ > digest_bytes)
    return blake2b_256(std::string_view(link_.data(), link_len_));
  state_digest chain{};
  std::copy_n(link_.data(), digest_bytes, chain.begin());
  return chain;
}

// -- snapshots -------------------------------------------------------------------

namespace {

/// Empty when `r` can be what the snapshot says it is.
std::string check_restorable(const order_request& r, bool stop) {
  bool is_stop = r.type == order_type::stop || r.type == order_type::stop_limit;
  bool rests = r.type == order_type::limit &&
               (r.tif == time_in_force::gtc || r.tif == time_in_force::day);
  if (stop ? is_stop : rests)
    return {};
  return "order " + std::to_string(r.id) + ": cannot be " +
         (stop ? "a pending stop" : "a resting order");
}

/// Gives `book` the last trade price `price` with one trade of one lot between
/// two throw-away orders; the book must be empty.
std::string set_last_price(order_book& book, price_t price) {
  if (book.live_orders() != 0)
    return "book " + std::to_string(book.symbol()) + " is listed twice";
  std::vector<book_event> out;
  order_request sell;
  sell.id = 1;
  sell.owner = 1;
  sell.symbol = book.symbol();
  sell.side = side::sell;
  sell.price = price;
  sell.qty = book.spec().lot_size;
  order_request buy = sell;
  buy.id = 2;
  buy.owner = 2;
  buy.side = side::buy;
  book.submit(sell, out);
  book.submit(buy, out);
  if (book.stats().last_price != price || book.live_orders() != 0)
    return "book " + std::to_string(book.symbol()) + ": cannot set last price " +
           std::to_string(price);
  return {};
}

} // namespace

std::string replicated_exchange::snapshot() const {
  pb::ExchangeSnapshot s;
  s.set_applied_index(applied_index_);
  s.set_tape_hash(link_.data(), digest_bytes);
  s.set_tape_link(link_.data() + digest_bytes, link_len_ - digest_bytes);
  s.set_events(events_);
  s.set_trades(trades_);
  std::vector<live_order> live;
  for (symbol_id sym : symbols_) {
    const order_book& book = *engine_->book(sym);
    pb::BookState& b = *s.add_books();
    b.set_symbol(sym);
    b.set_last_price(book.stats().last_price);
    live.clear();
    book.list_live_orders(live); // oldest first
    for (const live_order& o : live)
      to_pb(o.request, o.pending_stop ? *b.add_stops() : *b.add_resting());
  }
  return s.SerializeAsString();
}

std::string replicated_exchange::restore(std::string_view bytes) {
  pb::ExchangeSnapshot s;
  if (!s.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return "not an ExchangeSnapshot (protobuf parse failed)";
  if (s.tape_hash().size() != digest_bytes)
    return "tape hash of " + std::to_string(s.tape_hash().size()) + " bytes";
  if (s.tape_link().size() >= link_bytes) // it would have been closed
    return "open tape link of " + std::to_string(s.tape_link().size()) + " bytes";
  auto engine = std::make_unique<matching_engine>(table_, symbols_);
  std::vector<book_event> out;
  for (const pb::BookState& b : s.books()) {
    order_book* book = engine->book(b.symbol());
    if (book == nullptr)
      return "symbol " + std::to_string(b.symbol()) + " is not traded here";
    if (b.last_price() != 0)
      if (auto err = set_last_price(*book, b.last_price()); !err.empty())
        return err;
    // Resting orders first, oldest first; then the stops in arrival order.
    for (bool stops : {false, true}) {
      for (const pb::NewOrder& o : stops ? b.stops() : b.resting()) {
        auto decoded = from_pb(o);
        if (!decoded)
          return decoded.reason;
        order_request r = *decoded.value;
        r.symbol = b.symbol();
        if (auto err = check_restorable(r, stops); !err.empty())
          return err;
        out.clear();
        book->submit(r, out);
        if (out.size() != 1 || out[0].kind != event_kind::accepted)
          return "order " + std::to_string(r.id) + " does not re-enter quietly: " +
                 (out.empty() ? std::string("no event") : to_string(out.back()));
      }
    }
  }
  engine_ = std::move(engine);
  applied_index_ = s.applied_index();
  link_ = s.tape_hash() + s.tape_link();
  link_len_ = link_.size();
  events_ = s.events();
  trades_ = s.trades();
  result_ = {};
  return {};
}

std::string replicated_exchange::check_invariants() const {
  return engine_->check_invariants();
}

} // namespace marketsim::consensus::raft
