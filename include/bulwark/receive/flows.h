#pragma once
// Flow exports over UDP (NetFlow v5, v9, IPFIX, sFlow v5) into a receiver's queue: each record
// becomes one JSON line (flow::FlowRecordJson: ECS names, event.module netflow) that detection
// reads like any JSON-lines input; sFlow's interface counters become flow::InterfaceCountersJson
// lines. Templates are kept per exporter (the datagram's sender) and observation
// domain, within the decoder's bounds.

#include <memory>

#include "bulwark/core/env.h"
#include "bulwark/flow/flow.h"
#include "bulwark/receive/udp.h"

namespace bulwark::receive {

// A DatagramHandler decoding export datagrams with `decoder` (shared so that its counters can be
// read; it is used by the receiver's thread only, so read them only after the receiver stopped,
// or accept a torn read of the counts). A datagram that does not decode is rejected; the records
// it gave before its error are queued. sFlow records are stamped with `env`'s clock on arrival.
DatagramHandler FlowDatagrams(std::shared_ptr<flow::ExportDecoder> decoder,
                              const Env& env = Env::Default());

}  // namespace bulwark::receive
