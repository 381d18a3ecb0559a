#include "bulwark/countermeasure/nftables.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <nftables/libnftables.h>
#include <sched.h>
#include <simdjson.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "bulwark/core/netns.h"
#include "bulwark/event/ip.h"

namespace bulwark::countermeasure {

namespace {

using model::CountermeasureKind;

bool ValidName(std::string_view name, size_t max) {
  if (name.empty() || name.size() > max) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
           c == '@' || c == ':';
  });
}

// "tcp/25" -> {"tcp", 25}; nullopt when it is not PROTO/PORT with tcp or udp and 1..65535.
std::optional<std::pair<std::string, int>> ParsePort(std::string_view text) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::string proto(text.substr(0, slash));
  if (proto != "tcp" && proto != "udp") return std::nullopt;
  int port = 0;
  for (char c : text.substr(slash + 1)) {
    if (c < '0' || c > '9' || port > 65535) return std::nullopt;
    port = port * 10 + (c - '0');
  }
  if (port < 1 || port > 65535) return std::nullopt;
  return std::make_pair(proto, port);
}

// " timeout 3600s" for a countermeasure that expires, else "".
std::string TimeoutOf(const model::Countermeasure& c, TimeNs now) {
  if (!c.expires_at) return "";
  TimeNs left = std::max<TimeNs>(*c.expires_at - now, kNsPerSecond);
  return fmt::format(" timeout {}s", (left + kNsPerSecond - 1) / kNsPerSecond);
}

void AppendElements(std::string& out, const std::vector<std::string>& elements) {
  if (elements.empty()) return;
  out += "    elements = { ";
  for (size_t i = 0; i < elements.size(); ++i) out += (i ? ", " : "") + elements[i];
  out += " }\n";
}

// What the table holds, as read back: the keys of its sets and the comments of its rules.
struct Listed {
  bool chain = false;  // the forward chain with its quarantine rules
  std::set<std::string> quarantine;
  std::set<std::string> egress;  // "port/proto/dport"
  std::set<std::string> comments;
};

std::string ScalarText(simdjson::dom::element value) {
  if (value.is_string()) return std::string(std::string_view(value.get_string().value()));
  if (value.is_int64()) return std::to_string(int64_t(value.get_int64().value()));
  if (value.is_uint64()) return std::to_string(uint64_t(value.get_uint64().value()));
  return "";
}

// The key of one set element of nft's JSON ("p", {"elem": {"val": ...}}, {"concat": [...]}).
std::string ElementKey(simdjson::dom::element element) {
  simdjson::dom::element inner;
  if (element["elem"].get(inner) == simdjson::SUCCESS) return ElementKey(inner["val"]);
  simdjson::dom::array concat;
  if (element["concat"].get(concat) == simdjson::SUCCESS) {
    std::string key;
    for (auto part : concat) key += (key.empty() ? "" : "/") + ScalarText(part);
    return key;
  }
  return ScalarText(element);
}

Result<Listed> ParseListing(const std::string& json) {
  Listed listed;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(json).get(root) != simdjson::SUCCESS) return Fail("nft listing is not JSON");
  simdjson::dom::array items;
  if (root["nftables"].get(items) != simdjson::SUCCESS) return listed;
  for (auto item : items) {
    simdjson::dom::element set, rule, chain;
    if (item["set"].get(set) == simdjson::SUCCESS) {
      std::string_view name = set["name"].get_string().value_unsafe();
      simdjson::dom::array elements;
      if (set["elem"].get(elements) != simdjson::SUCCESS) continue;
      for (auto element : elements) {
        if (name == "quarantine") listed.quarantine.insert(ElementKey(element));
        if (name == "egress") listed.egress.insert(ElementKey(element));
      }
    } else if (item["chain"].get(chain) == simdjson::SUCCESS) {
      if (chain["name"].get_string().value_unsafe() == "forward") listed.chain = true;
    } else if (item["rule"].get(rule) == simdjson::SUCCESS) {
      std::string_view comment;
      if (rule["comment"].get(comment) == simdjson::SUCCESS) {
        listed.comments.insert(std::string(comment));
      }
    }
  }
  return listed;
}

std::string RateComment(const model::Countermeasure& c, const char* direction) {
  return fmt::format("bulwark countermeasure {} rate {}", c.id, direction);
}

// Deletes the conntrack entries that `match` picks (in the namespace of the calling thread).
// Returns how many.
template <typename Match>
Result<uint64_t> DeleteConntrack(Match&& match) {
  struct Collect {
    Match* match;
    std::vector<nf_conntrack*> picked;
  } collect{&match, {}};
  nfct_handle* dump = nfct_open(CONNTRACK, 0);
  if (!dump) return Fail(fmt::format("conntrack: {}", std::strerror(errno)));
  nfct_callback_register(
      dump, NFCT_T_ALL,
      [](enum nf_conntrack_msg_type, nf_conntrack* ct, void* data) -> int {
        auto* c = static_cast<Collect*>(data);
        if ((*c->match)(ct)) c->picked.push_back(nfct_clone(ct));
        return NFCT_CB_CONTINUE;
      },
      &collect);
  uint32_t family = AF_UNSPEC;
  int dumped = nfct_query(dump, NFCT_Q_DUMP, &family);
  int dump_errno = errno;
  nfct_close(dump);
  if (dumped < 0 && dump_errno != ENOENT) {
    for (auto* ct : collect.picked) nfct_destroy(ct);
    return Fail(fmt::format("conntrack dump: {}", std::strerror(dump_errno)));
  }
  uint64_t deleted = 0;
  nfct_handle* destroy = nfct_open(CONNTRACK, 0);
  for (auto* ct : collect.picked) {
    if (destroy && nfct_query(destroy, NFCT_Q_DESTROY, ct) == 0) ++deleted;
    nfct_destroy(ct);
  }
  if (destroy) nfct_close(destroy);
  return deleted;
}

// The entry's original source and destination as addresses (nullopt for other families).
std::optional<std::pair<event::IpAddress, event::IpAddress>> Endpoints(const nf_conntrack* ct) {
  uint8_t l3 = nfct_get_attr_u8(ct, ATTR_ORIG_L3PROTO);
  char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
  if (l3 == AF_INET) {
    inet_ntop(AF_INET, nfct_get_attr(ct, ATTR_ORIG_IPV4_SRC), src, sizeof src);
    inet_ntop(AF_INET, nfct_get_attr(ct, ATTR_ORIG_IPV4_DST), dst, sizeof dst);
  } else if (l3 == AF_INET6) {
    inet_ntop(AF_INET6, nfct_get_attr(ct, ATTR_ORIG_IPV6_SRC), src, sizeof src);
    inet_ntop(AF_INET6, nfct_get_attr(ct, ATTR_ORIG_IPV6_DST), dst, sizeof dst);
  } else {
    return std::nullopt;
  }
  auto s = event::IpAddress::Parse(src);
  auto d = event::IpAddress::Parse(dst);
  if (!s || !d) return std::nullopt;
  return std::make_pair(*s, *d);
}

}  // namespace

const char* PresenceName(Presence presence) {
  switch (presence) {
    case Presence::kAbsent:
      return "absent";
    case Presence::kPartial:
      return "partial";
    case Presence::kPresent:
      return "present";
  }
  return "?";
}

Result<std::unique_ptr<NftablesEnforcer>> NftablesEnforcer::Create(NftablesSettings settings) {
  if (settings.family != "bridge" && settings.family != "inet") {
    return Fail(fmt::format("nftables family '{}': use bridge or inet", settings.family));
  }
  if (!ValidName(settings.table, 64)) {
    return Fail(fmt::format("nftables table name '{}' is not a plain name", settings.table));
  }
  for (const auto& [port, name] : settings.port_names) {
    if (!ValidName(name, 15)) {
      return Fail(fmt::format("port {}: '{}' is not an interface name", port, name));
    }
  }
  std::unique_ptr<NftablesEnforcer> enforcer(new NftablesEnforcer(std::move(settings)));
  // Entering the namespace once now reports a wrong one at start-up, not at the first incident.
  auto entered =
      InNetworkNamespace<bool>(enforcer->settings_.netns, [] { return Result<bool>(true); });
  if (!entered) return tl::unexpected(entered.error());
  return enforcer;
}

bool NftablesEnforcer::Supports(CountermeasureKind kind) const {
  return kind == CountermeasureKind::kQuarantine || kind == CountermeasureKind::kEgressBlock ||
         kind == CountermeasureKind::kRateLimit;
}

std::string NftablesEnforcer::InterfaceName(const std::string& port) const {
  auto named = settings_.port_names.find(port);
  return named == settings_.port_names.end() ? port : named->second;
}

std::string NftablesEnforcer::Script(std::span<const Enforcement> keep, TimeNs now) const {
  const std::string& family = settings_.family;
  const std::string& table = settings_.table;
  std::vector<std::string> quarantine, egress, forensics4, forensics6, rate_rules;
  // One element per key: where several countermeasures share it, the one that lasts longest
  // decides its timeout (none: never expires).
  std::map<std::string, std::optional<TimeNs>> quarantined, blocked;
  auto longest = [](std::map<std::string, std::optional<TimeNs>>& keys, const std::string& key,
                    const std::optional<TimeNs>& expires) {
    auto [it, fresh] = keys.try_emplace(key, expires);
    if (!fresh && it->second && (!expires || *expires > *it->second)) it->second = expires;
  };
  for (const auto& e : keep) {
    const auto& c = e.countermeasure;
    for (const auto& port : e.target.ports) {
      std::string name = InterfaceName(port);
      if (!ValidName(name, 15)) continue;  // Apply refuses these before a script is made
      switch (c.kind) {
        case CountermeasureKind::kQuarantine:
          longest(quarantined, fmt::format("\"{}\"", name), c.expires_at);
          break;
        case CountermeasureKind::kEgressBlock:
          for (const auto& text : c.ports) {
            auto parsed = ParsePort(text);
            if (!parsed) continue;
            longest(blocked, fmt::format("\"{}\" . {} . {}", name, parsed->first, parsed->second),
                    c.expires_at);
          }
          break;
        case CountermeasureKind::kRateLimit:
          for (const char* direction : {"iifname", "oifname"}) {
            rate_rules.push_back(fmt::format(
                "    {} \"{}\" limit rate over {}/second drop comment \"{}\"\n", direction, name,
                c.rate_pps, RateComment(c, direction[0] == 'i' ? "in" : "out")));
          }
          break;
        default:
          break;
      }
    }
  }
  auto timeout = [now](const std::optional<TimeNs>& expires) {
    model::Countermeasure lasting;
    lasting.expires_at = expires;
    return TimeoutOf(lasting, now);
  };
  for (const auto& [key, expires] : quarantined) quarantine.push_back(key + timeout(expires));
  for (const auto& [key, expires] : blocked) egress.push_back(key + timeout(expires));
  for (const auto& prefix : settings_.forensics) {
    (prefix.network.is_v4() ? forensics4 : forensics6).push_back(prefix.ToString());
  }
  std::string out;
  // Replacing the table whole in one transaction: `add` makes the delete safe when it is missing.
  out += fmt::format("add table {0} {1}\ndelete table {0} {1}\n", family, table);
  out += fmt::format("table {} {} {{\n", family, table);
  out += "  set quarantine {\n    type ifname; flags timeout;\n";
  AppendElements(out, quarantine);
  out += "  }\n  set egress {\n    type ifname . inet_proto . inet_service; flags timeout;\n";
  AppendElements(out, egress);
  out += "  }\n  set forensics4 {\n    type ipv4_addr; flags interval;\n";
  AppendElements(out, forensics4);
  out += "  }\n  set forensics6 {\n    type ipv6_addr; flags interval;\n";
  AppendElements(out, forensics6);
  out += "  }\n  chain forward {\n    type filter hook forward priority -200; policy accept;\n";
  out +=
      "    iifname @quarantine ip daddr @forensics4 accept\n"
      "    oifname @quarantine ip saddr @forensics4 accept\n"
      "    iifname @quarantine ip6 daddr @forensics6 accept\n"
      "    oifname @quarantine ip6 saddr @forensics6 accept\n"
      "    iifname @quarantine icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept\n"
      "    oifname @quarantine icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept\n";
  if (family == "bridge") {
    out +=
        "    iifname @quarantine ether type arp accept\n"
        "    oifname @quarantine ether type arp accept\n";
  }
  out +=
      "    iifname @quarantine counter drop comment \"bulwark quarantine in\"\n"
      "    oifname @quarantine counter drop comment \"bulwark quarantine out\"\n"
      "    meta l4proto { tcp, udp } iifname . meta l4proto . th dport @egress counter drop "
      "comment "
      "\"bulwark egress\"\n";
  for (const auto& rule : rate_rules) out += rule;
  out += "  }\n}\n";
  return out;
}

Result<std::string> NftablesEnforcer::Run(const std::string& script, bool json) {
  return InNetworkNamespace<std::string>(settings_.netns, [&]() -> Result<std::string> {
    nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
    if (!ctx) return Fail("nftables: no context");
    if (json) nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON);
    nft_ctx_buffer_output(ctx);
    nft_ctx_buffer_error(ctx);
    int failed = nft_run_cmd_from_buffer(ctx, script.c_str());
    std::string output = nft_ctx_get_output_buffer(ctx);
    std::string error = nft_ctx_get_error_buffer(ctx);
    nft_ctx_free(ctx);
    if (failed) {
      while (!error.empty() && error.back() == '\n') error.pop_back();
      return Fail(fmt::format("nftables refused: {}", error.empty() ? "no reason given" : error));
    }
    return output;
  });
}

Result<std::vector<std::string>> NftablesEnforcer::Apply(std::span<const Enforcement> batch,
                                                         std::span<const Enforcement> others,
                                                         TimeNs now) {
  for (const auto& e : batch) {
    const auto& c = e.countermeasure;
    if (!Supports(c.kind)) {
      return Fail(fmt::format("countermeasure {}: nftables cannot {}", c.id, KindName(c.kind)));
    }
    if (e.target.ports.empty()) {
      return Fail(
          fmt::format("countermeasure {}: system {} has no port to enforce on", c.id, c.system_id));
    }
    for (const auto& port : e.target.ports) {
      if (!ValidName(InterfaceName(port), 15)) {
        return Fail(
            fmt::format("countermeasure {}: port '{}' is not an interface name (set "
                        "countermeasures.nftables.port_names)",
                        c.id, port));
      }
    }
    if (c.kind == CountermeasureKind::kEgressBlock) {
      if (c.ports.empty()) return Fail(fmt::format("countermeasure {}: no ports to block", c.id));
      for (const auto& text : c.ports) {
        if (!ParsePort(text)) {
          return Fail(
              fmt::format("countermeasure {}: port '{}' is not tcp/N or udp/N", c.id, text));
        }
      }
    }
    if (c.kind == CountermeasureKind::kRateLimit && c.rate_pps <= 0) {
      return Fail(fmt::format("countermeasure {}: rate limit needs a rate", c.id));
    }
  }
  std::vector<Enforcement> keep(others.begin(), others.end());
  keep.insert(keep.end(), batch.begin(), batch.end());
  std::lock_guard lock(mutex_);
  auto done = Run(Script(keep, now), false);
  if (!done) return tl::unexpected(done.error());
  // The cut is in place; deleting the conntrack entries of its flows is best effort.
  if (settings_.flush_conntrack) {
    if (auto flushed = FlushConntrack(batch); !flushed) {
      std::lock_guard errors(error_mutex_);
      conntrack_error_ = flushed.error().message;
    }
  }
  return std::vector<std::string>(batch.size());
}

Result<void> NftablesEnforcer::Lift(std::span<const Enforcement> batch,
                                    std::span<const Enforcement> others, TimeNs now) {
  std::set<int64_t> lifted;
  for (const auto& e : batch) lifted.insert(e.countermeasure.id);
  std::vector<Enforcement> keep;
  for (const auto& e : others) {
    if (!lifted.count(e.countermeasure.id)) keep.push_back(e);
  }
  std::lock_guard lock(mutex_);
  auto done = Run(Script(keep, now), false);
  if (!done) return tl::unexpected(done.error());
  return {};
}

Result<std::vector<Observation>> NftablesEnforcer::Observe(std::span<const Enforcement> batch) {
  std::lock_guard lock(mutex_);
  auto listing = Run(fmt::format("list table {} {}", settings_.family, settings_.table), true);
  Listed listed;
  if (listing) {
    auto parsed = ParseListing(*listing);
    if (!parsed) return tl::unexpected(parsed.error());
    listed = std::move(*parsed);
  } else if (listing.error().message.find("No such file") == std::string::npos) {
    return tl::unexpected(listing.error());
  }
  std::vector<Observation> out;
  for (const auto& e : batch) {
    const auto& c = e.countermeasure;
    size_t wanted = 0, found = 0;
    std::vector<std::string> missing;
    auto expect = [&](bool present, std::string what) {
      ++wanted;
      if (present) {
        ++found;
      } else {
        missing.push_back(std::move(what));
      }
    };
    for (const auto& port : e.target.ports) {
      std::string name = InterfaceName(port);
      switch (c.kind) {
        case CountermeasureKind::kQuarantine:
          expect(listed.chain && listed.quarantine.count(name) &&
                     listed.comments.count("bulwark quarantine in") &&
                     listed.comments.count("bulwark quarantine out"),
                 "quarantine of " + name);
          break;
        case CountermeasureKind::kEgressBlock:
          for (const auto& text : c.ports) {
            auto parsed = ParsePort(text);
            if (!parsed) continue;
            expect(listed.chain && listed.comments.count("bulwark egress") &&
                       listed.egress.count(
                           fmt::format("{}/{}/{}", name, parsed->first, parsed->second)),
                   fmt::format("block of {} on {}", text, name));
          }
          break;
        case CountermeasureKind::kRateLimit:
          expect(listed.comments.count(RateComment(c, "in")) &&
                     listed.comments.count(RateComment(c, "out")),
                 "rate limit of " + name);
          break;
        default:
          break;
      }
    }
    Observation observation;
    observation.presence = found == 0 && wanted > 0 ? Presence::kAbsent
                           : found == wanted        ? Presence::kPresent
                                                    : Presence::kPartial;
    if (!missing.empty()) {
      observation.detail = "missing: ";
      for (size_t i = 0; i < missing.size(); ++i)
        observation.detail += (i ? ", " : "") + missing[i];
    }
    out.push_back(std::move(observation));
  }
  return out;
}

Result<void> NftablesEnforcer::DropTable() {
  std::lock_guard lock(mutex_);
  auto done = Run(
      fmt::format("add table {0} {1}\ndelete table {0} {1}\n", settings_.family, settings_.table),
      false);
  if (!done) return tl::unexpected(done.error());
  return {};
}

Result<void> NftablesEnforcer::FlushConntrack(std::span<const Enforcement> batch) {
  struct Cut {
    std::vector<model::Prefix> addresses;             // what the system holds (a /64: all of it)
    std::vector<std::pair<uint8_t, uint16_t>> ports;  // egress: protocol, port; empty: all
  };
  std::vector<Cut> cuts;
  for (const auto& e : batch) {
    const auto& c = e.countermeasure;
    if (c.kind != CountermeasureKind::kQuarantine && c.kind != CountermeasureKind::kEgressBlock) {
      continue;
    }
    Cut cut;
    for (const auto& text : e.target.addresses) {
      if (auto prefix = model::Prefix::Parse(text)) cut.addresses.push_back(*prefix);
    }
    if (c.kind == CountermeasureKind::kEgressBlock) {
      for (const auto& text : c.ports) {
        if (auto parsed = ParsePort(text)) {
          cut.ports.emplace_back(parsed->first == "tcp" ? IPPROTO_TCP : IPPROTO_UDP,
                                 static_cast<uint16_t>(parsed->second));
        }
      }
    }
    if (!cut.addresses.empty()) cuts.push_back(std::move(cut));
  }
  if (cuts.empty()) return {};
  const auto& forensics = settings_.forensics;
  auto deleted = InNetworkNamespace<uint64_t>(settings_.netns, [&] {
    return DeleteConntrack([&](const nf_conntrack* ct) {
      auto ends = Endpoints(ct);
      if (!ends) return false;
      auto [source, destination] = *ends;
      for (const auto& cut : cuts) {
        auto held = [&](const event::IpAddress& address) {
          return std::any_of(cut.addresses.begin(), cut.addresses.end(),
                             [&](const model::Prefix& p) { return p.Contains(address); });
        };
        bool from = held(source);
        bool to = held(destination);
        if (cut.ports.empty()) {
          const auto& peer = from ? destination : source;
          bool forensic = std::any_of(forensics.begin(), forensics.end(),
                                      [&](const model::Prefix& p) { return p.Contains(peer); });
          if ((from || to) && !forensic) return true;
        } else if (from) {
          uint8_t l4 = nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO);
          uint16_t port = ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST));
          for (const auto& [proto, blocked] : cut.ports) {
            if (l4 == proto && port == blocked) return true;
          }
        }
      }
      return false;
    });
  });
  if (!deleted) return tl::unexpected(deleted.error());
  conntrack_deleted_ += *deleted;
  return {};
}

}  // namespace bulwark::countermeasure
