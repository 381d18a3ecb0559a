#include "bulwark/inventory/import.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace bulwark::inventory {
namespace {

// The shape the issue names, verbatim.
constexpr const char* kIssueExample = R"(customers:
  - {id: c-acme, name: ACME GmbH, language: de, contacts: [{email: security@acme.example, role: security}]}
projects:
  - {id: p-acme-prod, customer: c-acme}
systems:
  - id: s-web1
    project: p-acme-prod
    name: web1
    internet_exposed: true
    interfaces:
      - mac: "fa:16:3e:00:00:01"
        port: 6f1c2d3e-0000-4000-8000-000000000001
        addresses:
          - {ip: 203.0.113.7, from: "2026-01-01T00:00:00Z", until: "2026-06-01T00:00:00Z"}
)";

class ImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("bulwark-import-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto opened = store::OpenSqliteStore(dir_.string());
    ASSERT_TRUE(opened) << opened.error().ToString();
    store_ = std::move(*opened);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  ImportReport MustImport(std::string_view text, const std::string& name,
                          FileFormat format = FileFormat::kAuto) {
    auto parsed = ParseInventory(text, name, format);
    EXPECT_TRUE(parsed) << parsed.error().ToString();
    if (!parsed) return {};
    auto report = Import(*store_, std::move(*parsed));
    EXPECT_TRUE(report) << report.error().ToString();
    return report ? *report : ImportReport{};
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(ImportTest, IssueExampleYaml) {
  auto report = MustImport(kIssueExample, "inv.yml");
  EXPECT_TRUE(report.clean());
  EXPECT_EQ(report.written.customers, 1u);
  EXPECT_EQ(report.written.systems, 1u);
  EXPECT_EQ(report.written.assignments_added, 1u);
  auto inv = store_->ReadInventory();
  ASSERT_TRUE(inv);
  ASSERT_EQ(inv->assignments.size(), 1u);
  EXPECT_EQ(inv->assignments[0].interface_key, "6f1c2d3e-0000-4000-8000-000000000001");
  EXPECT_EQ(inv->assignments[0].origin, "inv.yml:14:13");
  EXPECT_EQ(inv->customers[0].name, "ACME GmbH");
}

TEST_F(ImportTest, JsonHasTheSameShape) {
  auto report = MustImport(R"({"customers": [{"id": "c1", "name": "One", "language": "en"}],
 "projects": [{"id": "p1", "customer": "c1"}],
 "systems": [{"id": "s1", "project": "p1", "interfaces": [{"mac": "FA-16-3E-00-00-09",
   "addresses": [{"ip": "2001:db8::/64"}]}]}]})",
                           "inv.json");
  EXPECT_TRUE(report.clean());
  auto inv = store_->ReadInventory();
  ASSERT_TRUE(inv);
  ASSERT_EQ(inv->interfaces.size(), 1u);
  EXPECT_EQ(inv->interfaces[0].mac, "fa:16:3e:00:00:09");
  ASSERT_EQ(inv->assignments.size(), 1u);
  EXPECT_EQ(inv->assignments[0].prefix.ToString(), "2001:db8::/64");
}

TEST_F(ImportTest, CsvRowsPerAddress) {
  auto report = MustImport(
      "customer_id,customer_name,language,contact_email,project_id,system_id,internet_exposed,"
      "mac,ip,from,until\n"
      "c1,\"One, Inc.\",de,sec@one.example,p1,s1,yes,fa:16:3e:00:00:01,203.0.113.1,"
      "2026-01-01T00:00:00Z,\n"
      "c1,\"One, Inc.\",de,ops@one.example,p1,s1,yes,fa:16:3e:00:00:01,203.0.113.2,,\n"
      "c1,One,de,,p1,s2,maybe,fa:16:3e:00:00:02,203.0.113.3,,\n"
      "c1,One,de,,p1,s3,no,fa:16:3e:00:00:03,203.0.113.300,,\n",
      "inv.csv");
  ASSERT_EQ(report.rejected.size(), 2u);
  EXPECT_EQ(report.rejected[0].where, "inv.csv:4");
  EXPECT_NE(report.rejected[0].message.find("internet_exposed"), std::string::npos);
  EXPECT_EQ(report.rejected[1].where, "inv.csv:5");
  auto inv = store_->ReadInventory();
  ASSERT_TRUE(inv);
  ASSERT_EQ(inv->customers.size(), 1u);
  EXPECT_EQ(inv->customers[0].name, "One, Inc.");
  EXPECT_EQ(inv->customers[0].contacts.size(), 2u);
  EXPECT_EQ(inv->systems.size(), 1u);
  EXPECT_EQ(inv->assignments.size(), 2u);
}

TEST_F(ImportTest, BadRecordsAreRejectedWithTheirLineOthersKept) {
  auto report = MustImport(R"(customers:
  - {id: c1, language: fr}
  - {id: c2, contacts: [{email: not-an-address}]}
  - {id: c3}
projects:
  - {id: p1, customer: c3}
  - {id: p2, customer: c-unknown}
systems:
  - {id: s1, project: p1, interfaces: [{mac: zz, addresses: [{ip: 192.0.2.1}]}]}
  - id: s2
    project: p1
    interfaces:
      - mac: "fa:16:3e:00:00:02"
        addresses: [{ip: 192.0.2.2, from: "2026-05-01T00:00:00Z", until: "2026-01-01T00:00:00Z"}, {ip: 192.0.2.3}]
unknown: 1
)",
                           "bad.yml");
  std::vector<std::string> where;
  for (const auto& e : report.rejected) where.push_back(e.where + " " + e.message);
  ASSERT_EQ(report.rejected.size(), 6u) << ::testing::PrintToString(where);
  EXPECT_EQ(report.rejected[0].where, "bad.yml:2:24");  // at the language
  EXPECT_NE(report.rejected[0].message.find("de or en"), std::string::npos);
  EXPECT_EQ(report.rejected[1].where, "bad.yml:3:25");  // at the e-mail
  auto inv = store_->ReadInventory();
  ASSERT_TRUE(inv);
  EXPECT_EQ(inv->customers.size(), 1u);    // c3
  EXPECT_EQ(inv->projects.size(), 1u);     // p1; p2 names an unknown customer
  EXPECT_EQ(inv->systems.size(), 1u);      // s2; s1 has a bad MAC
  EXPECT_EQ(inv->assignments.size(), 1u);  // 192.0.2.3; 192.0.2.2 ends before it starts
  bool saw_unknown_customer = false, saw_section = false;
  for (const auto& e : report.rejected) {
    saw_unknown_customer |= e.message.find("unknown customer 'c-unknown'") != std::string::npos;
    saw_section |= e.message.find("unknown section 'unknown'") != std::string::npos;
  }
  EXPECT_TRUE(saw_unknown_customer);
  EXPECT_TRUE(saw_section);
}

TEST_F(ImportTest, UnknownFieldsAreReportedNotIgnored) {
  auto report = MustImport("customers:\n  - {id: c1, langauge: de}\n", "typo.yml");
  ASSERT_EQ(report.rejected.size(), 1u);
  EXPECT_EQ(report.rejected[0].where, "typo.yml:2:14");
  EXPECT_NE(report.rejected[0].message.find("unknown customer field 'langauge'"),
            std::string::npos);
}

TEST_F(ImportTest, OverlappingClaimsAreReportedWithBothRecords) {
  ASSERT_TRUE(MustImport(kIssueExample, "first.yml").clean());
  auto report = MustImport(R"(customers: [{id: c2}]
projects: [{id: p2, customer: c2}]
systems:
  - id: s-other
    project: p2
    interfaces:
      - mac: "fa:16:3e:00:00:99"
        addresses:
          - {ip: 203.0.113.7, from: "2026-05-01T00:00:00Z"}
          - {ip: 203.0.113.7, from: "2026-06-01T00:00:00Z"}
)",
                           "second.yml");
  ASSERT_EQ(report.conflicts.size(), 1u);
  std::string text = report.conflicts[0].ToString();
  EXPECT_NE(text.find("second.yml:9:13"), std::string::npos) << text;
  EXPECT_NE(text.find("first.yml:14:13"), std::string::npos) << text;
  EXPECT_NE(text.find("s-web1"), std::string::npos) << text;
  // The claim that starts when the first one ends is no conflict.
  EXPECT_EQ(report.written.assignments_added, 1u);
}

TEST_F(ImportTest, UnreadableDocumentsFailWithTheirLocation) {
  auto parsed = ParseInventory("customers: [unclosed", "broken.yml", FileFormat::kYaml);
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().where.find("broken.yml:"), std::string::npos);
  auto list = ParseInventory("- a\n- b\n", "list.yml", FileFormat::kYaml);
  ASSERT_FALSE(list);
  auto csv = ParseInventory("ip,mac\n1.2.3.4,x\n", "x.csv", FileFormat::kCsv);
  ASSERT_FALSE(csv);
  EXPECT_NE(csv.error().message.find("customer_id"), std::string::npos);
}

}  // namespace
}  // namespace bulwark::inventory
