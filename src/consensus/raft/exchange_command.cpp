#include "consensus/raft/exchange_command.hpp"

#include "consensus/raft/exchange_command_pb.hpp"

namespace marketsim::consensus::raft {

namespace {

struct command_to_pb {
  pb::ExchangeCommand& out;

  void operator()(const market::order_request& r) const {
    raft::to_pb(r, *out.mutable_new_order());
  }
  void operator()(const cancel_command& c) const {
    auto& o = *out.mutable_cancel();
    o.set_id(c.request.id);
    o.set_symbol(c.request.symbol);
    o.set_requester(c.requester);
  }
  void operator()(const modify_command& m) const {
    auto& o = *out.mutable_modify();
    o.set_id(m.request.id);
    o.set_symbol(m.request.symbol);
    o.set_requester(m.requester);
    o.set_new_price(m.request.new_price);
    o.set_new_qty(m.request.new_qty);
  }
  void operator()(const end_of_day_command&) const { out.mutable_end_of_day(); }
};

/// The reflection of each message type is looked up once: GetReflection()
/// goes through the descriptor pool's once-flag on every call, which cost
/// about a tenth of applying an order.
template <class Message>
bool has_unknown_fields(const Message& m) {
  static const google::protobuf::Reflection* const reflection = Message::GetReflection();
  return !reflection->GetUnknownFields(m).empty();
}

decoded<exchange_command> refuse(std::string reason) {
  return {std::nullopt, std::move(reason)};
}

} // namespace

void to_pb(const market::order_request& r, pb::NewOrder& o) {
  o.set_id(r.id);
  o.set_owner(r.owner);
  o.set_symbol(r.symbol);
  o.set_side(static_cast<std::uint32_t>(r.side));
  o.set_type(static_cast<std::uint32_t>(r.type));
  o.set_tif(static_cast<std::uint32_t>(r.tif));
  o.set_price(r.price);
  o.set_stop_price(r.stop_price);
  o.set_qty(r.qty);
  o.set_post_only(r.post_only);
}

decoded<market::order_request> from_pb(const pb::NewOrder& o) {
  auto out_of_range = [](std::string what, std::uint32_t v) {
    return decoded<market::order_request>{
        std::nullopt, "new order: " + what + " " + std::to_string(v) + " out of range"};
  };
  if (o.side() > static_cast<std::uint32_t>(market::side::sell))
    return out_of_range("side", o.side());
  if (o.type() > static_cast<std::uint32_t>(market::order_type::stop_limit))
    return out_of_range("type", o.type());
  if (o.tif() > static_cast<std::uint32_t>(market::time_in_force::fok))
    return out_of_range("time in force", o.tif());
  market::order_request r;
  r.id = o.id();
  r.owner = o.owner();
  r.symbol = o.symbol();
  r.side = static_cast<market::side>(o.side());
  r.type = static_cast<market::order_type>(o.type());
  r.tif = static_cast<market::time_in_force>(o.tif());
  r.price = o.price();
  r.stop_price = o.stop_price();
  r.qty = o.qty();
  r.post_only = o.post_only();
  return {r, {}};
}

std::string encode(const exchange_command& cmd) {
  pb::ExchangeCommand msg;
  std::visit(command_to_pb{msg}, cmd);
  return msg.SerializeAsString();
}

decoded<exchange_command> decode_exchange_command(std::string_view bytes) {
  pb::ExchangeCommand msg;
  if (!msg.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return refuse("not an ExchangeCommand (protobuf parse failed)");
  // Unknown fields would be bytes that some replica's newer build reads and
  // ours ignores: refuse them rather than diverge.
  if (has_unknown_fields(msg))
    return refuse("unknown fields in ExchangeCommand");
  switch (msg.command_case()) {
  case pb::ExchangeCommand::kNewOrder:
    if (has_unknown_fields(msg.new_order()))
      return refuse("unknown fields in NewOrder");
    if (auto r = from_pb(msg.new_order()))
      return {exchange_command{*r.value}, {}};
    else
      return refuse(std::move(r.reason));
  case pb::ExchangeCommand::kCancel: {
    const auto& c = msg.cancel();
    if (has_unknown_fields(c))
      return refuse("unknown fields in CancelOrder");
    return {exchange_command{cancel_command{{c.id(), c.symbol()}, c.requester()}}, {}};
  }
  case pb::ExchangeCommand::kModify: {
    const auto& m = msg.modify();
    if (has_unknown_fields(m))
      return refuse("unknown fields in ModifyOrder");
    return {exchange_command{modify_command{
                {m.id(), m.symbol(), m.new_price(), m.new_qty()}, m.requester()}},
            {}};
  }
  case pb::ExchangeCommand::kEndOfDay:
    return {exchange_command{end_of_day_command{}}, {}};
  case pb::ExchangeCommand::COMMAND_NOT_SET:
    break;
  }
  return refuse("empty ExchangeCommand (no command set)");
}

} // namespace marketsim::consensus::raft
