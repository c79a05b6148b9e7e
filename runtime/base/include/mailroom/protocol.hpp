// The messages queue and dead-letter actors understand. Service authors who write raw actors
// use these; most use mailroom::node's blocking helpers or mailroom::service.
//
// queue actor
//   (send_atom, vector<outgoing_message>)        -> vector<string> ids, once durable (all or none)
//   (send_each_atom, vector<outgoing_message>)   -> vector<send_result>, once durable: each message
//                                                   accepted or refused on its own (a full queue
//                                                   takes the first that fit)
//   (consumer_send_atom, vector<outgoing_message>) -> as send_atom, but never held by the node's
//                                                   memory budget (only refused at its limit):
//                                                   the sends a consumer needs answered before
//                                                   it acks, and acks are what free memory
//   (receive_atom, receive_request)              -> vector<delivery> (may wait: long poll)
//   (ack_atom, vector<string> receipts)          -> vector<ack_outcome>
//   (nack_atom, vector<nack_request>)            -> vector<ack_outcome>
//   (visibility_atom, string receipt, int64 ms)  -> ok_atom
//   (stats_atom)                                 -> queue_stats
//   (purge_atom)                                 -> uint64_t purged
//   (redrive_atom, vector<envelope>)             -> vector<string> ids (keeps ids and history)
//   (config_atom, queue_config)                  -> ok_atom (reconfigure)
// dead-letter actor
//   (dead_atom, vector<dead_letter>)             -> ok_atom, once durable
//   (list_atom, uint32_t max)                    -> vector<dead_letter>
//   (redrive_atom, redrive_request)              -> redrive_result
//   (purge_atom)                                 -> uint64_t purged
// topic actor
//   (publish_atom, vector<outgoing_message>)     -> publish_result, once every copy is durable
//   (publish_atom, vector<outgoing_message>, aws_scope) -> the same, with the ARNs of its
//                                                   notifications in that region and account
//                                                   (the HTTP face)
//   (stats_atom)                                 -> topic_stats
//   (config_atom, topic_config)                  -> ok_atom (subscriptions changed)
// router actor
//   (route_atom, vector<outgoing_message>)       -> route_result, once every target confirmed
//   (config_atom, router_config)                 -> ok_atom
// alarm actor
//   (stats_atom)                                 -> alarm_status
//   (config_atom, alarm_config)                  -> ok_atom
// message mover (one per node; message_move_types.hpp)
//   (redrive_atom, message_move_request)         -> message_move_status (the task started)
//   (list_atom, string source)                   -> vector<message_move_status>, newest first
//   (cancel_atom, string handle)                 -> message_move_status
#pragma once

#include "mailroom/alarm_types.hpp"
#include "mailroom/message_move_types.hpp"
#include "mailroom/router_types.hpp"
#include "mailroom/topic_types.hpp"
#include "mailroom/types.hpp"

#include <caf/atom.hpp>

namespace mailroom {

using send_atom = caf::atom_constant<caf::atom("send")>;
using send_each_atom = caf::atom_constant<caf::atom("send_each")>;
using consumer_send_atom = caf::atom_constant<caf::atom("csend")>;
using receive_atom = caf::atom_constant<caf::atom("receive")>;
using ack_atom = caf::atom_constant<caf::atom("ack")>;
using nack_atom = caf::atom_constant<caf::atom("nack")>;
using visibility_atom = caf::atom_constant<caf::atom("visibility")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;
using purge_atom = caf::atom_constant<caf::atom("purge")>;
using redrive_atom = caf::atom_constant<caf::atom("redrive")>;
using dead_atom = caf::atom_constant<caf::atom("dead")>;
using list_atom = caf::atom_constant<caf::atom("list")>;
using config_atom = caf::atom_constant<caf::atom("config")>;
using publish_atom = caf::atom_constant<caf::atom("publish")>;
using route_atom = caf::atom_constant<caf::atom("route")>;
using ok_atom = caf::atom_constant<caf::atom("ok")>;
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;

} // namespace mailroom
