// The REST API of `bulwark serve` over real sockets (libcurl as the client): every endpoint with
// every kind of token, tenant isolation endpoint by endpoint, limits, and reloads.

#include <gtest/gtest-spi.h>

#include "api_fixture.h"

namespace bulwark::server {
namespace {

TEST_F(ApiTest, OpenEndpoints) {
  auto health = Call("GET", "/healthz", "");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "ok\n");
  auto doc = Call("GET", "/api/v1/openapi.json", "");
  EXPECT_EQ(doc.status, 200);
  for (const char* path : {"\"/api/v1/findings\"", "\"/api/v1/incidents/{id}/transition\"",
                           "\"/api/v1/attribution\"", "\"/api/v1/inventory/systems/{system}\""}) {
    EXPECT_NE(doc.body.find(path), std::string::npos) << path;
  }
  auto metrics = Call("GET", "/metrics", "");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("bulwark_findings_total{outcome=\"opened\"} 3"), std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("bulwark_incidents{state=\"new\"} 3"), std::string::npos);
}

// The token with its last secret character changed.
std::string Tampered(std::string token) {
  token.back() = token.back() == '0' ? '1' : '0';
  return token;
}

TEST_F(ApiTest, EveryResourceNeedsAValidToken) {
  for (const char* path :
       {"/api/v1/incidents", "/api/v1/incidents/1", "/api/v1/findings/unattributed",
        "/api/v1/attribution?ip=203.0.113.7", "/api/v1/inventory/customers"}) {
    for (const std::string& token :
         {std::string(), revoked_, std::string("bwk_0000_1111"), Tampered(analyst_)}) {
      auto reply = Call("GET", path, token);
      EXPECT_EQ(reply.status, 401) << path << " with '" << token << "'";
      EXPECT_EQ(reply.content_type, "application/problem+json");
    }
  }
}

TEST_F(ApiTest, AnalystSeesAndMovesEverything) {
  auto list = Call("GET", "/api/v1/incidents", analyst_);
  ASSERT_EQ(list.status, 200);
  EXPECT_NE(list.body.find("c-acme"), std::string::npos);
  EXPECT_NE(list.body.find("c-globex"), std::string::npos);
  auto page = Call("GET", "/api/v1/incidents?limit=1", analyst_);
  EXPECT_NE(page.body.find("\"next_after\":1"), std::string::npos) << page.body;
  auto second = Call("GET", "/api/v1/incidents?limit=1&after=1", analyst_);
  EXPECT_NE(second.body.find("\"id\":2"), std::string::npos) << second.body;
  auto one = Call("GET", "/api/v1/incidents/1", analyst_);
  ASSERT_EQ(one.status, 200);
  EXPECT_NE(one.body.find("\"finding_list\""), std::string::npos);
  EXPECT_NE(one.body.find("\"action\":\"opened\""), std::string::npos);
  auto moved = Call("POST", "/api/v1/incidents/1/transition", analyst_,
                    R"({"state": "notified", "reason": "phoned"})");
  EXPECT_EQ(moved.status, 200) << moved.body;
  auto refused = Call("POST", "/api/v1/incidents/1/transition", analyst_,
                      R"({"state": "new", "reason": "back"})");
  EXPECT_EQ(refused.status, 409);
  auto no_reason =
      Call("POST", "/api/v1/incidents/1/transition", analyst_, R"({"state": "closed"})");
  EXPECT_EQ(no_reason.status, 400);
  auto comment =
      Call("POST", "/api/v1/incidents/1/comments", analyst_, R"({"text": "called Bob"})");
  EXPECT_EQ(comment.status, 201);
  auto history = Call("GET", "/api/v1/incidents/1", analyst_);
  EXPECT_NE(history.body.find("called Bob"), std::string::npos);
  EXPECT_NE(history.body.find("token:"), std::string::npos);
  auto who = Call("GET", "/api/v1/attribution?ip=203.0.113.7&at=2026-03-01T00:00:00Z", analyst_);
  EXPECT_EQ(who.status, 200);
  EXPECT_NE(who.body.find("\"id\":\"s-web1\""), std::string::npos);
  EXPECT_EQ(Call("GET", "/api/v1/attribution?ip=nope", analyst_).status, 400);
  EXPECT_EQ(Call("GET", "/api/v1/findings/unattributed", analyst_).status, 200);
  auto finding = Call("GET", "/api/v1/findings/1", analyst_);
  EXPECT_EQ(finding.status, 200);
  EXPECT_NE(finding.body.find("\"feed.name\":\"bulwark-scan\""), std::string::npos) << finding.body;
  EXPECT_EQ(Call("GET", "/api/v1/findings/999", analyst_).status, 404);
  EXPECT_EQ(Call("GET", "/api/v1/findings/1", globex_).status, 403);
  EXPECT_EQ(Call("GET", "/api/v1/inventory/systems/s-web1", analyst_).status, 200);
  EXPECT_EQ(Call("GET", "/api/v1/incidents/999", analyst_).status, 404);
  EXPECT_EQ(Call("GET", "/api/v1/incidents?state=bogus", analyst_).status, 400);
  EXPECT_EQ(Call("POST", "/api/v1/findings", analyst_, "").status, 400);
}

TEST_F(ApiTest, CustomerSeesOnlyItsOwn) {
  auto list = Call("GET", "/api/v1/incidents", globex_);
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.body.find("c-acme"), std::string::npos) << list.body;
  EXPECT_NE(list.body.find("c-globex"), std::string::npos);
  // Asking for another customer's incidents by filter changes nothing.
  auto filtered = Call("GET", "/api/v1/incidents?customer=c-acme", globex_);
  EXPECT_EQ(filtered.body.find("c-acme"), std::string::npos);
  // ACME's incident 1 does not exist for Globex, whatever is asked of it.
  EXPECT_EQ(Call("GET", "/api/v1/incidents/1", globex_).status, 404);
  EXPECT_EQ(Call("POST", "/api/v1/incidents/1/comments", globex_, R"({"text": "x"})").status, 404);
  EXPECT_EQ(Call("POST", "/api/v1/incidents/1/transition", globex_,
                 R"({"state": "verifying", "reason": "x"})")
                .status,
            404);
  EXPECT_EQ(Call("GET", "/api/v1/incidents/2", globex_).status, 200);
  EXPECT_EQ(Call("POST", "/api/v1/incidents/2/comments", globex_, R"({"text": "on it"})").status,
            201);
  // Customers may report a fix, nothing else.
  EXPECT_EQ(Call("POST", "/api/v1/incidents/2/transition", globex_,
                 R"({"state": "closed", "reason": "not ours"})")
                .status,
            403);
  EXPECT_EQ(Call("GET", "/api/v1/findings/unattributed", globex_).status, 403);
  EXPECT_EQ(Call("POST", "/api/v1/findings", globex_, "{}").status, 403);
  EXPECT_EQ(Call("GET", "/api/v1/attribution?ip=203.0.113.7", globex_).status, 403);
  auto customers = Call("GET", "/api/v1/inventory/customers", globex_);
  EXPECT_EQ(customers.body.find("c-acme"), std::string::npos);
  EXPECT_NE(customers.body.find("c-globex"), std::string::npos);
  EXPECT_EQ(Call("GET", "/api/v1/inventory/customers/c-acme", globex_).status, 404);
  EXPECT_EQ(Call("GET", "/api/v1/inventory/customers/c-globex", globex_).status, 200);
  EXPECT_EQ(Call("GET", "/api/v1/inventory/systems/s-web1", globex_).status, 404);
  EXPECT_EQ(Call("GET", "/api/v1/inventory/systems/s-shop", globex_).status, 200);
}

TEST_F(ApiTest, ReportsAreTakenInAndKeptOnce) {
  // An X-ARF mail about Initech's legacy system: one incident; the same mail re-sent (a new
  // Message-ID) is a sighting; the very same bytes again are not read twice; the original is
  // kept once and can be fetched by its hash.
  const std::string mail =
      "From: abuse-team@blocklist.example\r\nSubject: abuse report about 203.0.113.77\r\n"
      "Message-ID: <r1@blocklist.example>\r\nX-ARF: yes\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
      "--b\r\nContent-Type: text/plain\r\n\r\nYour customer attacked us.\r\n"
      "--b\r\nContent-Type: text/plain; name=\"report.txt\"\r\n\r\n"
      "---\r\nReported-From: abuse-team@blocklist.example\r\nCategory: abuse\r\n"
      "Report-Type: login-attack\r\nService: ssh\r\nVersion: 0.2\r\n"
      "Date: Thu, 26 Nov 2026 07:19:02 +0100\r\nSource-Type: ip-address\r\n"
      "Source: 203.0.113.77\r\nPort: 22\r\n--b--\r\n";
  auto first = Call("POST", "/api/v1/reports?name=r1.eml", analyst_, mail);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_NE(first.body.find("\"format\":\"x-arf\""), std::string::npos) << first.body;
  // A summary, not an echo of every row: outcomes counted, incidents listed.
  EXPECT_NE(first.body.find("\"outcomes\":{\"opened\":1}"), std::string::npos) << first.body;
  EXPECT_NE(first.body.find("\"incidents_total\":1"), std::string::npos) << first.body;
  std::string resent = mail;
  resent.replace(resent.find("<r1@"), 4, "<r2@");
  auto again = Call("POST", "/api/v1/reports", analyst_, resent);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_NE(again.body.find("\"outcomes\":{\"sighting\":1}"), std::string::npos) << again.body;
  auto same = Call("POST", "/api/v1/reports", analyst_, mail);
  ASSERT_EQ(same.status, 200) << same.body;
  EXPECT_NE(same.body.find("\"duplicate\":true"), std::string::npos) << same.body;
  EXPECT_NE(same.body.find("\"outcomes\":{}"), std::string::npos) << same.body;
  size_t at = first.body.find("\"sha256\":\"");
  ASSERT_NE(at, std::string::npos);
  std::string sha = first.body.substr(at + 10, 64);
  auto original = Call("GET", "/api/v1/reports/" + sha, analyst_);
  EXPECT_EQ(original.status, 200);
  EXPECT_EQ(original.body, mail);
  EXPECT_EQ(original.content_type, "message/rfc822");
  EXPECT_EQ(Call("GET", "/api/v1/reports/" + std::string(64, '0'), analyst_).status, 404);
  // Customers do not see reports; an unreadable report is refused with the reason.
  EXPECT_EQ(Call("POST", "/api/v1/reports", globex_, mail).status, 403);
  EXPECT_EQ(Call("GET", "/api/v1/reports/" + sha, globex_).status, 403);
  auto bad = Call("POST", "/api/v1/reports", analyst_, "just,a,csv\n1,2,3\n");
  EXPECT_EQ(bad.status, 422);
  EXPECT_NE(bad.body.find("no mapping recognises the columns"), std::string::npos) << bad.body;
  auto metrics = Call("GET", "/metrics", "");
  EXPECT_NE(metrics.body.find("bulwark_reports_total{source=\"api\",result=\"read\"} 2"),
            std::string::npos)
      << metrics.body;
}

TEST_F(ApiTest, BodiesHaveALimit) {
  std::string big(100 * 1024, ' ');
  auto reply = Call("POST", "/api/v1/findings", analyst_, big);
  EXPECT_EQ(reply.status, 413);
  EXPECT_EQ(reply.content_type, "application/problem+json");
  EXPECT_EQ(Call("POST", "/api/v1/incidents/1/transition", analyst_, "not json").status, 400);
  auto unknown = Call("POST", "/api/v1/incidents/1/transition", analyst_,
                      R"({"state": "notified", "reason": "x", "sate": "typo"})");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(unknown.body.find("unknown field 'sate'"), std::string::npos);
}

// HTTP as clients expect it (RFC 9110): 405 names the methods a resource takes, HEAD works where
// GET does, the auth scheme is case-insensitive, and requests that leave it open what they mean
// are refused.
TEST_F(ApiTest, HttpAsClientsExpectIt) {
  auto post_health = Call("POST", "/healthz", "");
  EXPECT_EQ(post_health.status, 405);
  EXPECT_NE(post_health.headers.find("Allow: GET, HEAD"), std::string::npos) << post_health.headers;
  EXPECT_EQ(Call("DELETE", "/metrics", "").status, 405);
  EXPECT_EQ(Call("PUT", "/api/v1/openapi.json", "").status, 405);
  auto put_incident = Call("PUT", "/api/v1/incidents/1", analyst_);
  EXPECT_EQ(put_incident.status, 405);
  EXPECT_NE(put_incident.headers.find("Allow: GET, HEAD"), std::string::npos);
  auto get_findings = Call("GET", "/api/v1/findings", analyst_);
  EXPECT_EQ(get_findings.status, 405);
  EXPECT_NE(get_findings.headers.find("Allow: POST"), std::string::npos);
  auto head = Call("HEAD", "/api/v1/incidents", analyst_);
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(Call("HEAD", "/healthz", "").status, 200);
  EXPECT_EQ(Call("GET", "/api/v1/incidents", analyst_, "", {}, "bearer").status, 200);
  EXPECT_EQ(Call("GET", "/api/v1/incidents", analyst_, "", {}, "BEARER").status, 200);
  EXPECT_EQ(Call("GET", "/api/v1/incidents", analyst_, "", {}, "Basic").status, 401);
  auto twice = Call("GET", "/api/v1/incidents", analyst_, "", {"Authorization: Bearer " + globex_});
  EXPECT_EQ(twice.status, 400);
  EXPECT_EQ(Call("GET", "/api/v1/incidents%00x", analyst_).status, 400);
  // One JSON object and nothing after it.
  auto garbage = Call("POST", "/api/v1/incidents/1/comments", analyst_,
                      R"({"text": "checked"} {"text": "smuggled"})");
  EXPECT_EQ(garbage.status, 400) << garbage.body;
  EXPECT_EQ(Call("POST", "/api/v1/incidents/1/comments", analyst_, "{\"text\": \"ok\"} \n").status,
            201);
}

// Every response is valid JSON, also when it repeats bytes that are not UTF-8.
TEST_F(ApiTest, ResponsesAreValidJsonWhateverTheBytes) {
  auto reply = Call("GET", "/api/v1/no%FFsuch%C3thing", analyst_);
  EXPECT_EQ(reply.status, 404);
  EXPECT_TRUE(IsValidUtf8(reply.body)) << reply.body;
  EXPECT_NE(reply.body.find("no resource at"), std::string::npos);
}

// A reload is all or nothing: when its rules are rejected, its new mail settings (and policy,
// templates, inventory) do not go live either.
TEST_F(ApiTest, AReloadWithRejectedRulesChangesNothing) {
  std::string other = (dir_ / "other-mails.txt").string();
  std::string rules = (dir_ / "bad.yml").string();
  std::ofstream(rules) << "title: t\nid: bad\ndetection:\n  s: {f|nope: x}\n  condition: s\n";
  std::ofstream(config_path_) << "data_dir: " << dir_.string() << "\nlisten: 127.0.0.1:0\n"
                              << "mail: {print: " << other << "}\nrules: [" << rules << "]\n"
                              << "inputs: [{path: " << (dir_ / "auth.log").string() << "}]\n";
  auto reloaded = service_->Reload();
  ASSERT_FALSE(reloaded);
  EXPECT_NE(reloaded.error().ToString().find("rules rejected"), std::string::npos);
  service_->Tick();  // delivers the mails of SetUp's incidents
  EXPECT_TRUE(std::filesystem::exists(config_.mail.print));
  EXPECT_FALSE(std::filesystem::exists(other));
}

TEST_F(ApiTest, ABrokenReloadKeepsTheRunningConfiguration) {
  std::ofstream(config_path_) << "mail: {digest_hour: 25}\n";
  auto broken = service_->Reload();
  ASSERT_FALSE(broken);
  EXPECT_NE(broken.error().ToString().find("bulwark.yml:1:"), std::string::npos);
  EXPECT_EQ(Call("GET", "/api/v1/incidents", analyst_).status, 200);
  std::ofstream(config_path_) << "data_dir: " << dir_.string() << "\nmail: {from: x@y.example}\n";
  EXPECT_TRUE(service_->Reload());
  EXPECT_EQ(Call("GET", "/api/v1/incidents", analyst_).status, 200);
}

// The check every reply goes through can fail: a body that does not match its schema, a status
// the document does not list, a media type it does not name.
TEST(OpenApiCheck, CatchesWhatTheDocumentDoesNotSay) {
  testing_support::OpenApiCheck check;
  EXPECT_NONFATAL_FAILURE(check.Check("GET", "/api/v1/incidents", 200, "application/json",
                                      R"({"incidents": 5, "next_after": null})"),
                          "incidents");
  EXPECT_NONFATAL_FAILURE(check.Check("GET", "/api/v1/incidents", 409, "application/json", "{}"),
                          "the status is not in the document");
  EXPECT_NONFATAL_FAILURE(check.Check("GET", "/api/v1/incidents/1", 404, "text/html", "<p>"),
                          "media type");
  check.Check("GET", "/api/v1/incidents?limit=1", 200, "application/json",
              R"({"incidents": [], "next_after": null})");
}

// Countermeasures over the API, in dry run (tests/countermeasure has the real enforcement):
// responders propose and act, analysts read, customers see only their own.
class CountermeasureApiTest : public ApiTest {
 protected:
  void Configure(config::Config& config) override {
    config.countermeasures.dry_run = true;
    config.countermeasures.nftables.configured = true;
    auto store = store::OpenSqliteStore(config.data_dir);
    ASSERT_TRUE(store);
    responder_ = *CreateToken(**store, model::Role::kResponder, "", "test", 0);
  }
  std::string responder_;
};

TEST_F(CountermeasureApiTest, RespondersActCustomersSeeTheirOwn) {
  const std::string shop =
      R"({"system_id": "s-shop", "reason": "spam from the shop", "kind": "egress_block", "ports": ["tcp/25", "tcp/587"], "expires_in": "2h"})";
  EXPECT_EQ(Call("POST", "/api/v1/countermeasures", analyst_, shop).status, 403);
  EXPECT_EQ(Call("POST", "/api/v1/countermeasures", globex_, shop).status, 403);
  auto proposed = Call("POST", "/api/v1/countermeasures", responder_, shop);
  ASSERT_EQ(proposed.status, 201) << proposed.body;
  EXPECT_NE(proposed.body.find(R"("ports":["tcp/25","tcp/587"])"), std::string::npos);
  auto acme = Call("POST", "/api/v1/countermeasures", responder_,
                   R"({"incident_id": 1, "reason": "brute force"})");
  ASSERT_EQ(acme.status, 201) << acme.body;
  EXPECT_NE(acme.body.find(R"("system_id":"s-web1")"), std::string::npos);
  // Tenant isolation: Globex sees its own, not ACME's, and cannot act.
  auto theirs = Call("GET", "/api/v1/countermeasures", globex_);
  ASSERT_EQ(theirs.status, 200);
  EXPECT_NE(theirs.body.find("s-shop"), std::string::npos);
  EXPECT_EQ(theirs.body.find("s-web1"), std::string::npos);
  EXPECT_EQ(Call("GET", "/api/v1/countermeasures/1", globex_).status, 200);
  EXPECT_EQ(Call("GET", "/api/v1/countermeasures/2", globex_).status, 404);
  EXPECT_EQ(Call("POST", "/api/v1/countermeasures/1/lift", globex_, R"({"reason": "no"})").status,
            403);
  EXPECT_EQ(Call("GET", "/api/v1/countermeasures?state=proposed", analyst_).status, 200);
  auto metrics = Call("GET", "/metrics", "");
  EXPECT_NE(metrics.body.find("bulwark_countermeasures{state=\"proposed\"} 2"), std::string::npos)
      << metrics.body;
  // The lifecycle through the API.
  auto approved =
      Call("POST", "/api/v1/countermeasures/1/approve", responder_, R"({"reason": "ok"})");
  ASSERT_EQ(approved.status, 200) << approved.body;
  EXPECT_NE(approved.body.find(R"("state":"approved")"), std::string::npos);
  EXPECT_EQ(Call("POST", "/api/v1/countermeasures/1/approve", responder_, "{}").status, 409);
  auto applied = Call("POST", "/api/v1/countermeasures/1/apply", responder_, "{}");
  EXPECT_EQ(applied.status, 200) << applied.body;  // dry run: still approved
  auto lifted =
      Call("POST", "/api/v1/countermeasures/1/lift", responder_, R"({"reason": "fixed"})");
  ASSERT_EQ(lifted.status, 200);
  EXPECT_NE(lifted.body.find(R"("state":"removed")"), std::string::npos);
  // Bad requests.
  EXPECT_EQ(Call("POST", "/api/v1/countermeasures", responder_,
                 R"({"system_id": "s-shop", "reason": "x", "kind": "nuke"})")
                .status,
            400);
  EXPECT_EQ(Call("POST", "/api/v1/countermeasures", responder_,
                 R"({"system_id": "s-none", "reason": "x"})")
                .status,
            422);
  EXPECT_EQ(
      Call("POST", "/api/v1/countermeasures", responder_, R"({"system_id": "s-shop"})").status,
      400);
  EXPECT_EQ(Call("POST", "/api/v1/countermeasures/1/explode", responder_, "{}").status, 404);
  EXPECT_EQ(Call("DELETE", "/api/v1/countermeasures/1", responder_).status, 405);
}

}  // namespace
}  // namespace bulwark::server
