// nfdump's flow files (nfcapd's output), read through nfdump itself: its binary format changes
// between versions and is compressed (LZO, LZ4, BZ2, ZSTD), and nfdump is the reference reader.

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>

#include "bulwark/core/strings.h"
#include "bulwark/flow/flow.h"
#include "bulwark/model/inventory.h"

namespace bulwark::flow {

namespace {

constexpr const char* kNfdump = "/usr/bin/nfdump";

// "2026-11-26 14:39:28" (UTC: nfdump runs with TZ=UTC).
std::optional<TimeNs> CsvTime(std::string_view text) {
  std::string iso(Trim(text));
  if (iso.size() < 19) return std::nullopt;
  iso[10] = 'T';
  return ParseTimestamp(iso.substr(0, 19) + "Z");
}

uint8_t FlagBits(std::string_view letters) {
  // nfdump's order, highest bit first: CWR ECE URG ACK PSH RST SYN FIN.
  uint8_t bits = 0;
  for (size_t i = 0; i < letters.size() && i < 8; ++i) {
    if (letters[i] != '.') bits |= static_cast<uint8_t>(0x80 >> i);
  }
  return bits;
}

uint8_t ProtocolNumber(std::string_view name) {
  name = Trim(name);
  if (name == "TCP") return 6;
  if (name == "UDP") return 17;
  if (name == "ICMP") return 1;
  if (name == "ICMP6") return 58;
  auto number = ParseInt(name);
  return number ? static_cast<uint8_t>(*number) : 0;
}

// One row of `nfdump -o csv` (ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,
// sas,das,smk,dmk,dtos,dir,nh,nhb,svln,dvln,ismc,odmc,idmc,osmc,mpls1-10,cl,sl,al,ra,...).
std::optional<FlowRecord> Row(const std::vector<std::string_view>& c) {
  if (c.size() < 45) return std::nullopt;
  auto start = CsvTime(c[0]);
  auto end = CsvTime(c[1]);
  auto source = event::IpAddress::Parse(Trim(c[3]));
  auto destination = event::IpAddress::Parse(Trim(c[4]));
  if (!start || !end || !source || !destination) return std::nullopt;
  FlowRecord r;
  r.start = *start;
  r.end = *end;
  r.source = *source;
  r.destination = *destination;
  auto number = [&](size_t i) { return ParseInt(Trim(c[i])).value_or(0); };
  r.protocol = ProtocolNumber(c[7]);
  r.source_port = static_cast<uint16_t>(number(5));
  r.destination_port = static_cast<uint16_t>(number(6));
  if (r.protocol == 1 || r.protocol == 58) {  // nfdump prints ICMP type and code as the ports
    r.destination_port = static_cast<uint16_t>(number(5) << 8 | number(6));
    r.source_port = 0;
  }
  r.tcp_flags = FlagBits(Trim(c[8]));
  r.tos = static_cast<uint8_t>(number(10));
  r.packets = static_cast<uint64_t>(number(11));
  r.bytes = static_cast<uint64_t>(number(12));
  r.input_interface = static_cast<uint32_t>(number(15));
  r.output_interface = static_cast<uint32_t>(number(16));
  r.source_mac = model::MacBits(Trim(c[27])).value_or(0);
  r.destination_mac = model::MacBits(Trim(c[28])).value_or(0);
  if (auto exporter = event::IpAddress::Parse(Trim(c[44]))) r.exporter = *exporter;
  return r;
}

}  // namespace

bool IsNfdumpFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::array<unsigned char, 2> magic{};
  in.read(reinterpret_cast<char*>(magic.data()), 2);
  return in && magic[0] == 0x0c && magic[1] == 0xa5;  // 0xA50C, little-endian
}

Result<size_t> ForEachNfdumpRecord(const std::string& path, const RecordFn& record) {
  if (access(kNfdump, X_OK) != 0) {
    return Fail("reading nfcapd files needs nfdump (apt-get install nfdump)", path);
  }
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return Fail("cannot create a pipe", path);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  std::vector<std::string> argv_text = {kNfdump, "-q", "-r", path, "-o", "csv"};
  std::vector<char*> argv;
  for (std::string& a : argv_text) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string tz = "TZ=UTC";
  char* env[] = {tz.data(), nullptr};
  pid_t pid = 0;
  int spawned = posix_spawn(&pid, kNfdump, &actions, nullptr, argv.data(), env);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (spawned != 0) {
    close(pipe_fds[0]);
    return Fail(fmt::format("cannot run nfdump: {}", std::strerror(spawned)), path);
  }
  FILE* out = fdopen(pipe_fds[0], "r");
  size_t records = 0, skipped = 0;
  char* line = nullptr;
  size_t capacity = 0;
  ssize_t length;
  std::vector<std::string_view> columns;
  while ((length = getline(&line, &capacity, out)) > 0) {
    std::string_view text(line, static_cast<size_t>(length));
    if (text.empty() || text[0] < '0' || text[0] > '9') continue;  // header, summary
    columns.clear();
    for (size_t at = 0; at <= text.size();) {
      size_t comma = text.find(',', at);
      if (comma == std::string_view::npos) comma = text.size();
      columns.push_back(text.substr(at, comma - at));
      at = comma + 1;
    }
    if (auto r = Row(columns)) {
      record(*r);
      ++records;
    } else {
      ++skipped;
    }
  }
  free(line);
  fclose(out);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Fail(fmt::format("nfdump could not read it (exit {})",
                            WIFEXITED(status) ? WEXITSTATUS(status) : -1),
                path);
  }
  if (skipped > 0)
    return Fail(fmt::format("{} rows of nfdump's output not understood", skipped), path);
  return records;
}

}  // namespace bulwark::flow
