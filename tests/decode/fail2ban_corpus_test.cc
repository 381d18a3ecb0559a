// Runs the real log samples of ../shared/logs/fail2ban through the parser and the built-in
// decoders. A line annotated "match": true must yield the annotated offender in source.ip (or
// source.address for host names) with event.outcome "failure"; a line annotated "match": false
// must not be a failure. The pass rate per service is printed; the test fails below the floor
// recorded for each service. Lines that cannot pass are listed in docs/decoders.md.

#include <gtest/gtest.h>
#include <simdjson.h>

#include <fstream>
#include <sstream>

#include "../support/event_text.h"
#include "bulwark/core/strings.h"
#include "bulwark/data/builtin_env.h"
#include "bulwark/decode/decoder.h"
#include "bulwark/decode/session.h"
#include "bulwark/input/parser.h"

namespace bulwark::decode {
namespace {

namespace fid = event::fid;

struct Service {
  const char* file;
  double floor;  // minimum pass rate, percent
};

// The services Bulwark decodes, with the pass rate this build must reach.
constexpr Service kServices[] = {
    {"sshd", 92.5},
    {"sshd-journal", 91.4},
    {"pam-generic", 100.0},
    {"nginx-http-auth", 100.0},
    {"nginx-botsearch", 100.0},
    {"nginx-bad-request", 100.0},
    {"nginx-limit-req", 100.0},
    {"apache-auth", 95.4},
    {"apache-botsearch", 89.4},
    {"apache-noscript", 100.0},
    {"apache-nohome", 100.0},
    {"apache-overflows", 100.0},
    {"apache-shellshock", 100.0},
    {"apache-modsecurity", 100.0},
    {"apache-badbots", 0.0},
    {"apache-pass", 0.0},
    {"apache-fakegooglebot", 50.0},
    {"php-url-fopen", 0.0},
    {"traefik-auth", 66.6},
    {"postfix", 96.2},
    {"dovecot", 87.2},
};

// Lines where Bulwark decides differently from fail2ban on purpose: what Bulwark must do instead.
struct Deviation {
  const char* file;
  int line;
  bool match;
  const char* host;
  const char* why;
};
constexpr Deviation kDeviations[] = {
    {"pam-generic", 12, true, "192.168.10.3",
     "Linux-PAM before 0.99.2 (module in the syslog tag): fail2ban no longer reads it, but real "
     "logs of that age show brute force only in this form"},
};

struct Case {
  int line;
  bool match;
  std::string host;
  std::string text;
};

std::vector<Case> ReadCases(const std::string& path) {
  std::ifstream in(path);
  std::vector<Case> cases;
  std::string line;
  int number = 0;
  std::optional<Case> pending;
  simdjson::dom::parser json;
  while (std::getline(in, line)) {
    ++number;
    if (line.starts_with("# failJSON:")) {
      std::string body(Trim(std::string_view(line).substr(11)));
      simdjson::dom::element doc;
      if (json.parse(body).get(doc) != simdjson::SUCCESS) continue;
      Case c;
      bool match = false;
      if (doc["match"].get(match) != simdjson::SUCCESS) continue;
      c.match = match;
      std::string_view host;
      // The offender is "host", or "ip4"/"ip6" in a few journal samples.
      for (const char* key : {"host", "ip4", "ip6"}) {
        if (doc[key].get(host) == simdjson::SUCCESS) {
          c.host = std::string(host);
          break;
        }
      }
      pending = c;
      continue;
    }
    if (line.starts_with("#") || Trim(line).empty()) continue;
    if (pending) {
      pending->line = number;
      pending->text = line;
      cases.push_back(*pending);
      pending.reset();
    }
  }
  return cases;
}

std::string Normalize(std::string_view address) {
  if (auto ip = event::IpAddress::Parse(address)) return ip->ToString();
  return AsciiLower(address);
}

TEST(Fail2banCorpus, PassRatePerService) {
  auto set = DecoderSet::Load({}, bulwark::data::BuiltinEnv::Default());
  ASSERT_TRUE(set) << set.error().ToString();
  auto scratch = (*set)->NewScratch();
  for (const Service& service : kServices) {
    std::string path = std::string(BULWARK_SHARED_DIR) + "/logs/fail2ban/" + service.file;
    std::vector<Case> cases = ReadCases(path);
    ASSERT_FALSE(cases.empty()) << "no annotated lines in " << path;
    input::ParseOptions options;
    options.year = 2005;
    input::LineParser parser(options);
    int passed = 0;
    std::string failures;
    SessionTracker sessions;  // the file's lines in order, as one batch
    for (Case c : cases) {
      for (const Deviation& deviation : kDeviations) {
        if (service.file == std::string_view(deviation.file) && c.line == deviation.line) {
          c.match = deviation.match;
          c.host = deviation.host;
        }
      }
      event::Event event;
      input::Repairs repairs;
      parser.Parse(c.text, event, repairs);
      (*set)->Decode(event, *scratch);
      sessions.Apply(event);
      bool failure = event.Get(fid::kEventOutcome).value_or("") == "failure";
      std::string address(
          event.Get(fid::kSourceIp).value_or(event.Get(fid::kSourceAddress).value_or("")));
      bool ok = c.match ? (failure && Normalize(address) == Normalize(c.host)) : !failure;
      if (ok) {
        ++passed;
      } else {
        failures +=
            "  " + std::string(service.file) + ":" + std::to_string(c.line) +
            (c.match ? " expected " + c.host + " got '" + address + "'" : " unexpected failure") +
            ": " + c.text.substr(0, 160) + "\n";
      }
    }
    double rate = 100.0 * passed / cases.size();
    std::printf("fail2ban %-20s %3d/%3zu  %.1f%%\n", service.file, passed, cases.size(), rate);
    EXPECT_GE(rate, service.floor) << failures;
  }
}

// Decoding remembers what it did for a (process.name, message) pair seen a second time and
// replays it from then on. Every sample line of every service, decoded a third time from the
// cache, must give exactly the fields and time of a decoding with a fresh scratch.
TEST(Fail2banCorpus, RepeatedMessagesDecodeAsFreshOnes) {
  auto set = DecoderSet::Load({}, bulwark::data::BuiltinEnv::Default());
  ASSERT_TRUE(set) << set.error().ToString();
  auto cached = (*set)->NewScratch();
  input::ParseOptions options;
  options.year = 2005;
  input::LineParser parser(options);
  size_t compared = 0;
  for (int pass = 0; pass < 3; ++pass) {
    for (const Service& service : kServices) {
      std::string path = std::string(BULWARK_SHARED_DIR) + "/logs/fail2ban/" + service.file;
      for (const Case& c : ReadCases(path)) {
        event::Event fresh, replayed;
        input::Repairs repairs;
        parser.Parse(c.text, fresh, repairs);
        parser.Parse(c.text, replayed, repairs);
        int fresh_matched = (*set)->Decode(fresh, *(*set)->NewScratch());
        int replayed_matched = (*set)->Decode(replayed, *cached);
        EXPECT_EQ(replayed_matched, fresh_matched) << service.file << ":" << c.line;
        EXPECT_EQ(testing_support::EventText(replayed), testing_support::EventText(fresh))
            << service.file << ":" << c.line;
        ++compared;
      }
    }
  }
  EXPECT_GT(compared, 1000u);
}

}  // namespace
}  // namespace bulwark::decode
