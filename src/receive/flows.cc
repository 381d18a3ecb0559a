#include "bulwark/receive/flows.h"

namespace bulwark::receive {

DatagramHandler FlowDatagrams(std::shared_ptr<flow::ExportDecoder> decoder, const Env& env) {
  // The texts of the datagram being decoded, for sFlow's counter samples.
  auto current = std::make_shared<std::vector<std::string>*>(nullptr);
  decoder->set_counters_handler([current](const flow::InterfaceCounters& counters) {
    if (*current) (*current)->push_back(flow::InterfaceCountersJson(counters));
  });
  return [decoder, current, &env](const event::IpAddress& sender, std::string_view datagram,
                                  std::vector<std::string>& texts) -> Result<void> {
    *current = &texts;
    auto decoded = decoder->Decode(
        datagram, sender, env.Now(),
        [&](const flow::FlowRecord& record) { texts.push_back(flow::FlowRecordJson(record)); });
    *current = nullptr;
    if (!decoded) return tl::unexpected(decoded.error());
    return {};
  };
}

}  // namespace bulwark::receive
