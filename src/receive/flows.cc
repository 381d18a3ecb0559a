#include "bulwark/receive/flows.h"

namespace bulwark::receive {

DatagramHandler FlowDatagrams(std::shared_ptr<flow::ExportDecoder> decoder) {
  return [decoder](const event::IpAddress& sender, std::string_view datagram,
                   std::vector<std::string>& texts) -> Result<void> {
    auto decoded = decoder->Decode(datagram, sender, [&](const flow::FlowRecord& record) {
      texts.push_back(flow::FlowRecordJson(record));
    });
    if (!decoded) return tl::unexpected(decoded.error());
    return {};
  };
}

}  // namespace bulwark::receive
