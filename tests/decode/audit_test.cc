// Linux audit records: fields as auditd writes them and SigmaHQ's auditd rules read them, hex
// decoding, and the join of one event's records into a process start.

#include "bulwark/decode/audit.h"

#include <gtest/gtest.h>

#include "bulwark/input/parser.h"

namespace bulwark::decode {
namespace {

class AuditTest : public ::testing::Test {
 protected:
  // Parses `line` as a reader would and applies the joiner; returns the event.
  event::Event Read(const std::string& line) {
    event::Event event;
    input::Repairs repairs;
    parser_.Parse(line, event, repairs);
    applied_ = joiner_.Apply(event);
    return event;
  }
  static std::string Field(const event::Event& event, const char* name) {
    return std::string(event.Get(event::InternField(name)).value_or("<absent>"));
  }
  input::LineParser parser_{input::ParseOptions{}};
  AuditJoiner joiner_;
  bool applied_ = false;
};

TEST_F(AuditTest, RecordFieldsAndTime) {
  auto e = Read(
      "type=SYSCALL msg=audit(1764151200.101:4821): arch=c000003e syscall=59 success=yes exit=0 "
      "a0=55d0c6a4e2a0 a1=8 ppid=1201 pid=4420 uid=33 comm=\"bash\" exe=\"/usr/bin/bash\" "
      "key=\"exec\"");
  EXPECT_TRUE(applied_);
  EXPECT_EQ(Field(e, "type"), "SYSCALL");
  EXPECT_EQ(Field(e, "SYSCALL"), "execve");
  EXPECT_EQ(Field(e, "a0"), "55d0c6a4e2a0");  // syscall arguments stay as written (hex numbers)
  EXPECT_EQ(Field(e, "exe"), "/usr/bin/bash");
  EXPECT_EQ(Field(e, "comm"), "bash");
  EXPECT_EQ(Field(e, "key"), "exec");
  EXPECT_EQ(Field(e, "event.module"), "auditd");
  EXPECT_EQ(e.timestamp(), 1764151200101 * int64_t{1'000'000});
}

TEST_F(AuditTest, SyscallNamesByArchitectureAndEnrichedFormat) {
  auto aarch64 = Read("type=SYSCALL msg=audit(1.000:1): arch=c00000b7 syscall=198 pid=1");
  EXPECT_EQ(Field(aarch64, "SYSCALL"), "socket");
  auto enriched = Read(
      "type=SYSCALL msg=audit(1.000:2): arch=c000003e syscall=41 a0=26 pid=2 key=(null)"
      "\x1d"
      "ARCH=x86_64 SYSCALL=socket AUID=\"alice\" UID=\"www-data\"");
  EXPECT_EQ(Field(enriched, "SYSCALL"), "socket");
  EXPECT_EQ(Field(enriched, "UID"), "www-data");
  EXPECT_EQ(Field(enriched, "a0"), "26");
  auto unknown = Read("type=SYSCALL msg=audit(1.000:3): arch=40000028 syscall=11 pid=3");
  EXPECT_EQ(Field(unknown, "SYSCALL"), "<absent>");
}

TEST_F(AuditTest, HexEncodedArgumentsAndTitles) {
  auto e = Read(
      "type=EXECVE msg=audit(1.000:5): argc=3 a0=\"bash\" a1=\"-c\" "
      "a2=77686F616D69203E202F746D702F78");
  EXPECT_EQ(Field(e, "a2"), "whoami > /tmp/x");
  auto title = Read("type=PROCTITLE msg=audit(1.000:6): proctitle=62617368002D63");
  EXPECT_EQ(Field(title, "proctitle"), "bash -c");
  auto path =
      Read("type=PATH msg=audit(1.000:7): item=0 name=2F746D702F6120622063 nametype=CREATE");
  EXPECT_EQ(Field(path, "name"), "/tmp/a b c");
  EXPECT_EQ(Field(path, "nametype"), "CREATE");
}

TEST_F(AuditTest, JoinedProcessStartWithItsParent) {
  // The parent (a web server worker) started first.
  Read(
      "type=SYSCALL msg=audit(1.000:10): arch=c000003e syscall=59 ppid=1 pid=1201 uid=33 "
      "comm=\"php-fpm\" exe=\"/usr/sbin/php-fpm8.2\"");
  Read("type=EOE msg=audit(1.000:10): ");
  Read(
      "type=SYSCALL msg=audit(2.000:11): arch=c000003e syscall=59 ppid=1201 pid=4420 uid=33 "
      "comm=\"bash\" exe=\"/usr/bin/bash\"");
  auto execve = Read("type=EXECVE msg=audit(2.000:11): argc=2 a0=\"id\" a1=\"-a\"");
  EXPECT_EQ(Field(execve, "event.category"), "<absent>");
  Read("type=CWD msg=audit(2.000:11): cwd=\"/var/www/html\"");
  auto last = Read("type=PROCTITLE msg=audit(2.000:11): proctitle=6964002D61");
  EXPECT_EQ(Field(last, "event.category"), "process");
  EXPECT_EQ(Field(last, "event.type"), "start");
  EXPECT_EQ(Field(last, "process.executable"), "/usr/bin/bash");
  EXPECT_EQ(Field(last, "process.command_line"), "id -a");
  EXPECT_EQ(Field(last, "process.working_directory"), "/var/www/html");
  EXPECT_EQ(Field(last, "process.parent.executable"), "/usr/sbin/php-fpm8.2");
  EXPECT_EQ(Field(last, "process.pid"), "4420");
  EXPECT_EQ(Field(last, "user.id"), "33");
  // The end-of-event record after it starts nothing again.
  auto eoe = Read("type=EOE msg=audit(2.000:11): ");
  EXPECT_EQ(Field(eoe, "event.category"), "<absent>");
  // A record of another event does not inherit.
  auto other = Read("type=PROCTITLE msg=audit(3.000:12): proctitle=6964");
  EXPECT_EQ(Field(other, "event.category"), "<absent>");
  // After a reset, parents are forgotten.
  joiner_.Reset();
  Read(
      "type=SYSCALL msg=audit(4.000:13): arch=c000003e syscall=59 ppid=1201 pid=4500 "
      "exe=\"/usr/bin/id\"");
  auto orphan = Read("type=EOE msg=audit(4.000:13): ");
  EXPECT_EQ(Field(orphan, "process.executable"), "/usr/bin/id");
  EXPECT_EQ(Field(orphan, "process.parent.executable"), "<absent>");
}

TEST_F(AuditTest, KernelSyslogAndNodeForms) {
  auto kernel = Read("audit: type=1309 audit(1764151200.101:4821): argc=1 a0=\"ls\"");
  EXPECT_EQ(Field(kernel, "type"), "EXECVE");
  EXPECT_EQ(Field(kernel, "a0"), "ls");
  auto forwarded = Read(
      "Nov 26 10:00:00 web1 audisp-syslog: node=web1 type=CWD msg=audit(1764151200.101:4821): "
      "cwd=\"/root\"");
  EXPECT_EQ(Field(forwarded, "cwd"), "/root");
  EXPECT_EQ(Field(forwarded, "host.name"), "web1");
}

TEST_F(AuditTest, UserRecordsNameTheClientAndAccount) {
  auto e = Read(
      "type=USER_AUTH msg=audit(1.000:20): pid=4500 uid=0 auid=4294967295 ses=4294967295 "
      "msg='op=PAM:authentication grantors=? acct=\"root\" exe=\"/usr/sbin/sshd\" "
      "hostname=203.0.113.5 addr=203.0.113.5 terminal=ssh res=failed'");
  EXPECT_EQ(Field(e, "op"), "PAM:authentication");
  EXPECT_EQ(Field(e, "source.ip"), "203.0.113.5");
  EXPECT_EQ(Field(e, "user.name"), "root");
  EXPECT_EQ(Field(e, "event.outcome"), "failure");
}

TEST_F(AuditTest, OtherLinesAreLeftAlone) {
  auto e =
      Read("Nov 26 10:00:00 web1 sshd[1]: Accepted publickey for bob from 10.0.0.1 port 1 ssh2");
  EXPECT_FALSE(applied_);
  EXPECT_EQ(Field(e, "type"), "<absent>");
  Read("type=");
  EXPECT_FALSE(applied_);
  Read("type=SYSCALL without a record header");
  EXPECT_FALSE(applied_);
}

}  // namespace
}  // namespace bulwark::decode
