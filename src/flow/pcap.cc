// UDP datagrams of a packet capture, read with libpcap.

#include <fmt/format.h>
#include <pcap/pcap.h>

#include <array>
#include <memory>

#include "bulwark/flow/flow.h"

namespace bulwark::flow {

namespace {

uint16_t U16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

// The IP packet inside a link-layer frame; empty when it holds none.
std::basic_string_view<uint8_t> IpPacket(int link, const uint8_t* frame, size_t size) {
  size_t offset = 0;
  switch (link) {
    case DLT_EN10MB: {
      if (size < 14) return {};
      uint16_t type = U16(frame + 12);
      offset = 14;
      while ((type == 0x8100 || type == 0x88a8) && size >= offset + 4) {  // VLAN tags
        type = U16(frame + offset + 2);
        offset += 4;
      }
      if (type != 0x0800 && type != 0x86dd) return {};
      break;
    }
    case DLT_LINUX_SLL:
      if (size < 16) return {};
      offset = 16;
      break;
    case DLT_LINUX_SLL2:
      if (size < 20) return {};
      offset = 20;
      break;
    case DLT_NULL:
    case DLT_LOOP:
      if (size < 4) return {};
      offset = 4;
      break;
    case DLT_RAW:
#ifdef DLT_IPV4
    case DLT_IPV4:
    case DLT_IPV6:
#endif
      break;
    default:
      return {};
  }
  if (size <= offset) return {};
  return {frame + offset, size - offset};
}

}  // namespace

Result<size_t> ForEachUdpDatagram(const std::string& path,
                                  const std::function<void(const Datagram&)>& datagram) {
  char error[PCAP_ERRBUF_SIZE] = {};
  std::unique_ptr<pcap_t, void (*)(pcap_t*)> capture(pcap_open_offline(path.c_str(), error),
                                                     pcap_close);
  if (!capture) return Fail(error);  // libpcap names the file
  int link = pcap_datalink(capture.get());
  size_t count = 0;
  pcap_pkthdr* header = nullptr;
  const u_char* frame = nullptr;
  int got;
  while ((got = pcap_next_ex(capture.get(), &header, &frame)) == 1) {
    auto ip = IpPacket(link, frame, header->caplen);
    if (ip.empty()) continue;
    Datagram d;
    d.time = static_cast<TimeNs>(header->ts.tv_sec) * kNsPerSecond +
             static_cast<TimeNs>(header->ts.tv_usec) * 1000;
    const uint8_t* udp = nullptr;
    size_t left = 0;
    if ((ip[0] >> 4) == 4) {
      size_t ihl = (ip[0] & 0x0f) * 4u;
      bool fragment = (U16(&ip[6]) & 0x1fff) != 0 || (ip[6] & 0x20) != 0;
      if (ihl < 20 || ip.size() < ihl + 8 || ip[9] != 17 || fragment) continue;
      d.source = event::IpAddress::V4(static_cast<uint32_t>(U16(&ip[12])) << 16 | U16(&ip[14]));
      udp = ip.data() + ihl;
      left = ip.size() - ihl;
    } else if ((ip[0] >> 4) == 6) {
      if (ip.size() < 48 || ip[6] != 17) continue;  // UDP right after the fixed header only
      std::array<uint8_t, 16> bytes;
      std::copy(ip.data() + 8, ip.data() + 24, bytes.begin());
      d.source = event::IpAddress::FromBytes(bytes);
      udp = ip.data() + 40;
      left = ip.size() - 40;
    } else {
      continue;
    }
    d.source_port = U16(udp);
    d.destination_port = U16(udp + 2);
    size_t length = U16(udp + 4);
    if (length < 8) continue;
    size_t payload = std::min(length - 8, left - 8);
    d.payload = std::string_view(reinterpret_cast<const char*>(udp + 8), payload);
    datagram(d);
    ++count;
  }
  if (got == PCAP_ERROR) return Fail(pcap_geterr(capture.get()), path);
  return count;
}

}  // namespace bulwark::flow
