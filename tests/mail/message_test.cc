// Mail parsing (GMime) and OpenPGP signature checks against a real GnuPG: keys are made in a
// temporary GnuPG home that the test removes (and whose agent it stops) at the end.

#include "bulwark/mail/message.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "../support/files.h"
#include "bulwark/core/strings.h"

namespace bulwark::mail {
namespace {

namespace fs = std::filesystem;

TEST(Mail, HeadersPartsAndCharsets) {
  std::string raw =
      "From: \"Abuse Team\" <Abuse@Example.NET>\r\n"
      "Subject: =?iso-8859-1?Q?Missbrauch_gemeldet_f=FCr_192.0.2.1?=\r\n"
      "Message-ID: <m1@example.net>\r\n"
      "Date: Fri, 31 Jan 2014 07:19:02 +0100\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"xx\"\r\n"
      "\r\n"
      "--xx\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n\r\nGr=FC=DFe\r\n"
      "--xx\r\nContent-Type: text/csv; name=\"events.csv\"\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n" +
      Base64Encode("ip,timestamp\n192.0.2.1,2026-11-20\n") + "\r\n--xx--\r\n";
  auto message = Parse(raw);
  ASSERT_TRUE(message) << message.error().ToString();
  EXPECT_EQ(message->subject, "Missbrauch gemeldet f\xc3\xbcr 192.0.2.1");
  EXPECT_EQ(message->from, "abuse@example.net");
  EXPECT_EQ(message->message_id, "m1@example.net");
  ASSERT_TRUE(message->date);
  EXPECT_EQ(FormatTimestamp(*message->date), "2014-01-31T06:19:02.000Z");
  ASSERT_EQ(message->parts.size(), 2u);
  EXPECT_EQ(message->parts[0].text,
            "Gr\xc3\xbc\xc3\x9f"
            "e");  // the CRLF before a boundary is the boundary's
  EXPECT_EQ(message->parts[1].filename, "events.csv");
  EXPECT_EQ(message->parts[1].data, "ip,timestamp\n192.0.2.1,2026-11-20\n");
  EXPECT_TRUE(message->problems.empty());
}

TEST(Mail, BrokenMailIsReadWithProblemsNotFailures) {
  // A truncated multipart, an unknown charset, a text claiming UTF-8 that is not.
  std::string raw =
      "From: a@b.example\r\nSubject: cut\r\n"
      "Content-Type: multipart/mixed; boundary=\"q\"\r\n\r\n"
      "--q\r\nContent-Type: text/plain; charset=x-klingon\r\n\r\nabc\r\n"
      "--q\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\xff\xfe broken\r\n";
  auto message = Parse(raw);
  ASSERT_TRUE(message) << message.error().ToString();
  ASSERT_EQ(message->parts.size(), 2u);
  EXPECT_EQ(message->parts[0].text, "abc");
  EXPECT_TRUE(IsValidUtf8(message->parts[1].text));
  std::string problems;
  for (const auto& problem : message->problems) problems += problem + "\n";
  EXPECT_NE(problems.find("truncated"), std::string::npos) << problems;
  EXPECT_NE(problems.find("x-klingon"), std::string::npos) << problems;
  EXPECT_NE(problems.find("not UTF-8"), std::string::npos) << problems;

  // A multipart whose boundary parameter is garbled: reported, not invented (inventing one made
  // gmime re-encode the header and ask for 2 GiB; the input fuzz_mail found is in its corpus).
  auto garbled = Parse(
      "From: a@b.example\r\nContent-Type: multipart/mixed; bounda\xff\xffry=x\r\n\r\nbody\r\n");
  ASSERT_TRUE(garbled) << garbled.error().ToString();
  problems.clear();
  for (const auto& problem : garbled->problems) problems += problem + "\n";
  EXPECT_NE(problems.find("multipart without boundary parameter"), std::string::npos) << problems;

  EXPECT_FALSE(Parse("just some text\nwithout headers\n"));
  EXPECT_FALSE(Parse(""));
  // X-ARF YAML has "Name: value" lines but no mail header.
  EXPECT_FALSE(LooksLikeMail("Date: Feb  3 2014\nSource: 192.0.2.1\nReport-Type: spam\n"));
  EXPECT_TRUE(LooksLikeMail("Received: from x\r\n\tby y\r\nSubject: s\r\n\r\nbody"));
}

TEST(Mail, AttachedMessagesAndZipArchives) {
  auto message = Parse(testing_support::ReadAll(BULWARK_SHARED_DIR
                                                "/abuse/AbuseIO/feedback-loop/Cox_example_1.eml"));
  ASSERT_TRUE(message);
  ASSERT_EQ(message->attached_headers.size(), 1u);
  EXPECT_NE(message->attached_headers[0].find("Received:"), std::string::npos);
  bool attached_leaf = false;
  for (const auto& part : message->parts) attached_leaf = attached_leaf || part.in_attached_message;
  EXPECT_TRUE(attached_leaf);

  auto zipped = Parse(testing_support::ReadAll(
      BULWARK_SHARED_DIR "/abuse/AbuseIO/shadowserver/2019-10-15-scan_ftp-sample-asn.csv.zip.eml"));
  ASSERT_TRUE(zipped);
  const Part* archive = nullptr;
  for (const auto& part : zipped->parts) {
    if (part.filename.ends_with(".zip")) archive = &part;
  }
  ASSERT_NE(archive, nullptr);
  auto entries = Unzip(archive->data);
  ASSERT_TRUE(entries) << entries.error().ToString();
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].name, "2019-10-15-scan_ftp-sample-asn.csv");
  EXPECT_TRUE((*entries)[0].data.starts_with("\"timestamp\""));
  EXPECT_FALSE(Unzip("PK not really a zip"));
  EXPECT_FALSE(Unzip(archive->data, 10));  // more than allowed unpacked: refused
  // The same entry read as a stream, twice, a small chunk at a time.
  auto streamed = ZipArchive::Open(archive->data, 1 << 20, 1000);
  ASSERT_TRUE(streamed) << streamed.error().ToString();
  ASSERT_EQ((*streamed)->entries().size(), 1u);
  EXPECT_EQ((*streamed)->entries()[0].size, (*entries)[0].data.size());
  for (int pass = 0; pass < 2; ++pass) {
    ChunkSource read = (*streamed)->Read(0);
    std::string text;
    char buffer[100];
    while (true) {
      auto got = read(buffer, sizeof buffer);
      ASSERT_TRUE(got) << got.error().ToString();
      if (*got == 0) break;
      text.append(buffer, *got);
    }
    EXPECT_EQ(text, (*entries)[0].data) << "pass " << pass;
  }
  EXPECT_FALSE(ZipArchive::Open(archive->data, 10, 1000));
}

TEST(Mail, Dates) {
  EXPECT_EQ(FormatTimestamp(*ParseDate("Fri, 31 Jan 2014 07:19:02 +0100")),
            "2014-01-31T06:19:02.000Z");
  EXPECT_EQ(FormatTimestamp(*ParseDate("Tue, 19 Jan 2016 14:32:40 -0500 (EST)")),
            "2016-01-19T19:32:40.000Z");
  EXPECT_FALSE(ParseDate(""));
  EXPECT_FALSE(ParseDate("not a date at all"));
}

// A GnuPG home with one signing key, removed at the end.
class OpenPgp : public ::testing::Test {
 protected:
  void SetUp() override {
    char home[] = "/tmp/bwgpgXXXXXX";
    ASSERT_NE(mkdtemp(home), nullptr);
    home_ = home;
    char other[] = "/tmp/bwgpgXXXXXX";
    ASSERT_NE(mkdtemp(other), nullptr);
    other_home_ = other;
    ASSERT_EQ(Gpg(home_,
                  "--quick-gen-key 'CERT-Bund Test <reports@cert-bund.example>' ed25519 "
                  "sign never"),
              0);
  }
  void TearDown() override {
    for (const std::string& dir : {home_, other_home_}) {
      std::system(("gpgconf --homedir " + dir + " --kill all >/dev/null 2>&1").c_str());
      EXPECT_TRUE(testing_support::RemoveTree(dir)) << dir;
    }
  }
  static int Gpg(const std::string& home, const std::string& args) {
    return std::system(("gpg --homedir " + home +
                        " --batch --yes --quiet --pinentry-mode loopback --passphrase '' " + args +
                        " >/dev/null 2>&1")
                           .c_str());
  }
  // A PGP/MIME (RFC 3156) signed mail around `body`.
  std::string SignedMail(const std::string& body) {
    std::string content = "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body;
    std::ofstream(home_ + "/content.txt", std::ios::binary) << content;
    EXPECT_EQ(
        Gpg(home_, "--armor --detach-sign -o " + home_ + "/content.asc " + home_ + "/content.txt"),
        0);
    return "From: reports@cert-bund.example\r\nSubject: [CB-Report#1] test\r\n"
           "MIME-Version: 1.0\r\n"
           "Content-Type: multipart/signed; micalg=pgp-sha256; "
           "protocol=\"application/pgp-signature\"; boundary=\"sig\"\r\n\r\n"
           "--sig\r\n" +
           content +
           "\r\n--sig\r\nContent-Type: application/pgp-signature; name=\"signature.asc\"\r\n\r\n" +
           testing_support::ReadAll(home_ + "/content.asc") + "\r\n--sig--\r\n";
  }
  std::string home_, other_home_;
};

TEST_F(OpenPgp, GoodBadAndUnknownSignatures) {
  std::string mail = SignedMail("asn,ip,timestamp,malware\r\n64500,192.0.2.1,2020-08-11,x\r\n");
  auto good = Parse(mail, {home_});
  ASSERT_TRUE(good);
  EXPECT_EQ(good->signature.verdict, SignatureCheck::Verdict::kGood) << good->signature.detail;
  EXPECT_EQ(good->signature.fingerprint.size(), 40u);

  std::string changed = mail;
  changed.replace(changed.find("192.0.2.1"), 9, "192.0.2.9");
  auto bad = Parse(changed, {home_});
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->signature.verdict, SignatureCheck::Verdict::kBad) << bad->signature.detail;

  auto unknown = Parse(mail, {other_home_});
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->signature.verdict, SignatureCheck::Verdict::kUnknownKey)
      << unknown->signature.detail;

  auto unchecked = Parse(mail, {});
  ASSERT_TRUE(unchecked);
  EXPECT_EQ(unchecked->signature.verdict, SignatureCheck::Verdict::kNotChecked);
}

TEST_F(OpenPgp, ClearSignedText) {
  std::ofstream(home_ + "/body.txt") << "asn,ip,timestamp,malware\n64500,192.0.2.1,2020-08-11,x\n";
  ASSERT_EQ(Gpg(home_, "--clearsign -o " + home_ + "/body.asc " + home_ + "/body.txt"), 0);
  std::string mail = "From: reports@cert-bund.example\r\nSubject: [CB-Report#2] inline\r\n\r\n" +
                     testing_support::ReadAll(home_ + "/body.asc");
  auto good = Parse(mail, {home_});
  ASSERT_TRUE(good);
  EXPECT_EQ(good->signature.verdict, SignatureCheck::Verdict::kGood) << good->signature.detail;
  std::string changed = mail;
  changed.replace(changed.find("192.0.2.1"), 9, "192.0.2.9");
  auto bad = Parse(changed, {home_});
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->signature.verdict, SignatureCheck::Verdict::kBad) << bad->signature.detail;
}

}  // namespace
}  // namespace bulwark::mail
