#include "actors/vocabulary.hpp"

#include "actors/consensus_messages.hpp"
#include "actors/interfaces.hpp"
#include "actors/messages.hpp"

#include <caf/actor_system_config.hpp>

namespace marketsim::actors {

void add_message_types(caf::actor_system_config& cfg) {
  // Names must match the type_name in each inspect(), and must be the same in
  // every process of a distributed run.

  // -- market value types
  cfg.add_message_type<market::order_request>("marketsim.order_request");
  cfg.add_message_type<market::cancel_request>("marketsim.cancel_request");
  cfg.add_message_type<market::modify_request>("marketsim.modify_request");
  cfg.add_message_type<market::book_event>("marketsim.book_event");
  cfg.add_message_type<market::l1_quote>("marketsim.l1_quote");
  cfg.add_message_type<market::depth_level>("marketsim.depth_level");
  cfg.add_message_type<std::vector<market::book_event>>(
      "std::vector<marketsim.book_event>");
  cfg.add_message_type<std::vector<market::depth_level>>(
      "std::vector<marketsim.depth_level>");

  // -- orders
  cfg.add_message_type<new_order>("marketsim.new_order");
  cfg.add_message_type<cancel_order>("marketsim.cancel_order");
  cfg.add_message_type<modify_order>("marketsim.modify_order");
  cfg.add_message_type<order_reply>("marketsim.order_reply");
  cfg.add_message_type<new_order_batch>("marketsim.new_order_batch");
  cfg.add_message_type<order_reply_batch>("marketsim.order_reply_batch");
  cfg.add_message_type<execution_report>("marketsim.execution_report");
  cfg.add_message_type<register_owner>("marketsim.register_owner");

  // -- market data
  cfg.add_message_type<trade_print>("marketsim.trade_print");
  cfg.add_message_type<l1_update>("marketsim.l1_update");
  cfg.add_message_type<l2_snapshot>("marketsim.l2_snapshot");
  cfg.add_message_type<l2_request>("marketsim.l2_request");
  cfg.add_message_type<md_subscribe>("marketsim.md_subscribe");
  cfg.add_message_type<md_unsubscribe>("marketsim.md_unsubscribe");
  cfg.add_message_type<l2_publish_tick>("marketsim.l2_publish_tick");
  cfg.add_message_type<end_of_day>("marketsim.end_of_day");
  cfg.add_message_type<finalized_price>("marketsim.finalized_price");
  cfg.add_message_type<trading_halt>("marketsim.trading_halt");

  // -- signals
  cfg.add_message_type<signal_message>("marketsim.signal_message");
  cfg.add_message_type<signal_subscribe>("marketsim.signal_subscribe");
  cfg.add_message_type<signal_unsubscribe>("marketsim.signal_unsubscribe");

  // -- statistics
  cfg.add_message_type<stats_request>("marketsim.stats_request");
  cfg.add_message_type<symbol_summary>("marketsim.symbol_summary");
  cfg.add_message_type<shard_stats>("marketsim.shard_stats");

  // -- the strategy host (strategies/trader.hpp)
  cfg.add_message_type<strategy_timer>("marketsim.strategy_timer");
  cfg.add_message_type<agent_start>("marketsim.agent_start");
  cfg.add_message_type<agent_stop>("marketsim.agent_stop");
  cfg.add_message_type<agent_report_request>("marketsim.agent_report_request");
  cfg.add_message_type<agent_position>("marketsim.agent_position");
  cfg.add_message_type<agent_report>("marketsim.agent_report");
  cfg.add_message_type<std::vector<agent_position>>(
      "std::vector<marketsim.agent_position>");
  // the fundamental oracle (market/fundamental_oracle.hpp)
  cfg.add_message_type<fundamental_request>("marketsim.fundamental_request");
  cfg.add_message_type<fundamental_tick>("marketsim.fundamental_tick");
  cfg.add_message_type<fundamental_value>("marketsim.fundamental_value");
  cfg.add_message_type<fundamental_values>("marketsim.fundamental_values");
  // the network (network/network_actor.hpp, link_actor.hpp, port.hpp)
  cfg.add_message_type<net_send>("marketsim.net_send");
  cfg.add_message_type<net_hop>("marketsim.net_hop");
  cfg.add_message_type<net_hop_batch>("marketsim.net_hop_batch");
  cfg.add_message_type<net_link_state>("marketsim.net_link_state");
  cfg.add_message_type<net_congestion>("marketsim.net_congestion");
  cfg.add_message_type<net_site_state>("marketsim.net_site_state");
  cfg.add_message_type<net_stats_request>("marketsim.net_stats_request");
  cfg.add_message_type<net_link_stats>("marketsim.net_link_stats");
  cfg.add_message_type<net_route_count>("marketsim.net_route_count");
  cfg.add_message_type<net_stats>("marketsim.net_stats");

  // -- consensus: the Raft core's messages (consensus/raft/raft_messages.hpp)
  //    and the validators' (actors/consensus_messages.hpp)
  namespace raft = consensus::raft;
  cfg.add_message_type<raft::log_entry>("marketsim.raft.log_entry");
  cfg.add_message_type<raft::cluster_config>("marketsim.raft.cluster_config");
  cfg.add_message_type<raft::snapshot_meta>("marketsim.raft.snapshot_meta");
  cfg.add_message_type<raft::snapshot>("marketsim.raft.snapshot");
  cfg.add_message_type<raft::request_vote>("marketsim.raft.request_vote");
  cfg.add_message_type<raft::vote_reply>("marketsim.raft.vote_reply");
  cfg.add_message_type<raft::append_entries>("marketsim.raft.append_entries");
  cfg.add_message_type<raft::append_reply>("marketsim.raft.append_reply");
  cfg.add_message_type<raft::install_snapshot>("marketsim.raft.install_snapshot");
  cfg.add_message_type<raft::snapshot_reply>("marketsim.raft.snapshot_reply");
  cfg.add_message_type<raft::timeout_now>("marketsim.raft.timeout_now");
  cfg.add_message_type<raft_peers>("marketsim.raft_peers");
  cfg.add_message_type<raft_submit>("marketsim.raft_submit");
  cfg.add_message_type<raft_submit_batch>("marketsim.raft_submit_batch");
  cfg.add_message_type<raft_submit_reply>("marketsim.raft_submit_reply");
  cfg.add_message_type<raft_submit_reply_batch>("marketsim.raft_submit_reply_batch");
  cfg.add_message_type<raft_membership>("marketsim.raft_membership");
  cfg.add_message_type<raft_status_request>("marketsim.raft_status_request");
  cfg.add_message_type<raft_status>("marketsim.raft_status");
  cfg.add_message_type<raft_wake>("marketsim.raft_wake");
  cfg.add_message_type<raft_client_stats_request>("marketsim.raft_client_stats_request");
  cfg.add_message_type<raft_client_stats>("marketsim.raft_client_stats");
  cfg.add_message_type<raft_client_timer>("marketsim.raft_client_timer");
  cfg.add_message_type<streamlet_wire>("marketsim.streamlet_wire");
  cfg.add_message_type<streamlet_sync>("marketsim.streamlet_sync");
  cfg.add_message_type<streamlet_submit>("marketsim.streamlet_submit");
  cfg.add_message_type<streamlet_tick>("marketsim.streamlet_tick");
  cfg.add_message_type<ds_wire>("marketsim.ds_wire");
  cfg.add_message_type<ds_tick>("marketsim.ds_tick");
  cfg.add_message_type<ds_decision>("marketsim.ds_decision");
}

std::string_view to_string(raft_submit_status x) {
  switch (x) {
    case raft_submit_status::committed:
      return "committed";
    case raft_submit_status::redirect:
      return "redirect";
    case raft_submit_status::lost:
      return "lost";
    case raft_submit_status::rejected:
      return "rejected";
    case raft_submit_status::unavailable:
      return "unavailable";
  }
  return "unknown";
}

} // namespace marketsim::actors
