#!/usr/bin/env python3
"""Writes a deterministic sshd auth log for the replay benchmark.

Usage: gen_sshd_log.py OUT.log TRUTH.tsv [--lines N] [--distinct-sources N]

The log spans one day (2026-11-25, Debian syslog format) and holds known attackers and benign
noise; TRUTH.tsv lists each attacker address with its class:
  fast       50 failures within 2 minutes
  slow       40 failures, one every 6 minutes (under fail2ban's 5 in 10 minutes)
  veryslow   30 failures, one every 45 minutes
  spray      one failure each for 30 different users within 30 minutes
Benign: an office NAT address whose 200 users log in all day with a few typos, monitoring probes
that connect and disconnect every 30 seconds, and normal session noise up to N lines.
With --distinct-sources N the log instead holds N failures from N distinct addresses within ten
minutes (memory run).
"""
import argparse
import random

START = 0  # seconds since 2026-11-25T00:00:00
MONTH = "Nov"
DAY = 25


def stamp(sec):
    sec = int(sec) % 86400
    return f"{MONTH} {DAY} {sec // 3600:02d}:{sec % 3600 // 60:02d}:{sec % 60:02d}"


def ip_of(prefix, n):
    return f"{prefix}.{n // 256 % 256}.{n % 256}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("truth")
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--distinct-sources", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(20261126)
    events = []  # (second, text)
    truth = []

    if args.distinct_sources:
        # All within ten minutes, so that every correlation window of an hour or more holds them.
        n = args.distinct_sources
        with open(args.out, "w") as out:
            for i in range(n):
                a, b = divmod(i, 65536)
                addr = f"10.{a % 256}.{b // 256}.{b % 256}"
                out.write(f"{stamp(36000 + i * 600 // n)} bastion sshd[{1000 + i % 60000}]: "
                          f"Failed password for root from {addr} port {1024 + i % 60000} ssh2\n")
        open(args.truth, "w").close()
        return

    def fail(sec, addr, user, invalid):
        pid = rng.randint(1000, 65000)
        port = rng.randint(1024, 65535)
        inv = "invalid user " if invalid else ""
        events.append((sec, f"bastion sshd[{pid}]: Failed password for {inv}{user} from {addr} port {port} ssh2"))

    users = ["root", "admin", "test", "oracle", "ubuntu", "git", "postgres", "user", "guest", "pi"]
    for i in range(20):
        addr = f"203.0.113.{10 + i}"
        truth.append((addr, "fast"))
        t0 = rng.randint(0, 86400 - 200)
        for k in range(50):
            fail(t0 + k * 2.2, addr, users[k % len(users)], k % len(users) != 0)
    for i in range(20):
        addr = f"198.51.100.{10 + i}"
        truth.append((addr, "slow"))
        t0 = rng.randint(0, 86400 - 40 * 360)
        for k in range(40):
            fail(t0 + k * 360 + rng.randint(0, 30), addr, "root", False)
    for i in range(10):
        addr = f"192.0.2.{10 + i}"
        truth.append((addr, "veryslow"))
        t0 = rng.randint(0, 3600)
        for k in range(30):
            fail(t0 + k * 2700, addr, "admin", True)
    for i in range(5):
        addr = f"2001:db8:bad::{i + 1:x}"
        truth.append((addr, "spray"))
        t0 = rng.randint(0, 86400 - 1800)
        for k in range(30):
            fail(t0 + k * 60, addr, f"user{k:02d}", False)

    office = "198.51.100.200"
    staff = [f"staff{k:03d}" for k in range(200)]
    for k, user in enumerate(staff):
        for day_login in range(3):
            t = rng.randint(7 * 3600, 19 * 3600)
            if rng.random() < 0.05:  # now and then a typo first
                fail(t - 20, office, user, False)
            pid = rng.randint(1000, 65000)
            events.append((t, f"bastion sshd[{pid}]: Accepted password for {user} from {office} port {rng.randint(1024, 65535)} ssh2"))
            events.append((t, f"bastion sshd[{pid}]: pam_unix(sshd:session): session opened for user {user}(uid={1000 + k}) by (uid=0)"))
            events.append((t + 1800, f"bastion sshd[{pid}]: pam_unix(sshd:session): session closed for user {user}"))

    for probe in ("192.0.2.250", "192.0.2.251"):
        for t in range(0, 86400, 30):
            pid = rng.randint(1000, 65000)
            events.append((t, f"bastion sshd[{pid}]: Connection closed by {probe} port {rng.randint(1024, 65535)} [preauth]"))

    noise_templates = [
        "bastion sshd[{pid}]: Accepted publickey for deploy from 10.20.{a}.{b} port {port} ssh2: ED25519 SHA256:Ab3dEf{pid}",
        "bastion sshd[{pid}]: pam_unix(sshd:session): session opened for user deploy(uid=1001) by (uid=0)",
        "bastion sshd[{pid}]: Received disconnect from 10.20.{a}.{b} port {port}:11: disconnected by user",
        "bastion sshd[{pid}]: Disconnected from user deploy 10.20.{a}.{b} port {port}",
        "bastion sshd[{pid}]: pam_unix(sshd:session): session closed for user deploy",
        "bastion CRON[{pid}]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)",
        "bastion CRON[{pid}]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)",
        "bastion systemd[1]: Started session-{pid}.scope - Session {pid} of User deploy.",
        "bastion systemd-logind[612]: New session {pid} of user deploy.",
        "bastion sshd[{pid}]: Connection from 10.20.{a}.{b} port {port} on 10.0.0.1 port 22 rdomain \"\"",
    ]
    remaining = max(0, args.lines - len(events))
    for k in range(remaining):
        t = k * 86400 / max(remaining, 1)
        text = noise_templates[k % len(noise_templates)].format(
            pid=rng.randint(1000, 65000), a=rng.randint(0, 255), b=rng.randint(1, 254),
            port=rng.randint(1024, 65535))
        events.append((t, text))
    events.sort(key=lambda e: e[0])
    with open(args.out, "w") as out:
        for sec, text in events[: args.lines]:
            out.write(f"{stamp(sec)} {text}\n")
    with open(args.truth, "w") as out:
        for addr, cls in truth:
            out.write(f"{addr}\t{cls}\n")


if __name__ == "__main__":
    main()
