#!/usr/bin/env python3
"""Syslog over TCP, end to end, beside rsyslog: how many messages a second does `bulwark serve`
receive, queue durably, decode and match with the built-in pack, and rsyslog write to a file?

For each tool it starts the receiver on a free loopback port, sends --messages RFC 3164 sshd
lines (failed logins from many addresses) over --connections TCP connections with
build/bench/syslog_load, and measures from the first byte sent until the last message was
processed: for bulwark until /metrics shows every message processed by detection (its findings
stored), for rsyslog until its output file holds every line. Prints messages/s, the ratio, lost
messages and bulwark's peak memory (VmHWM). The machine's two cores are shared by sender and
receiver, as in a real single-box test.
With --kind loggen the sender is syslog-ng's loggen itself (256-byte messages no rule matches,
the load the issue names): syslog-ng cannot be installed beside rsyslog, so its package is
fetched with `apt-get download` into build/peers/ and loggen runs from there (when that fails,
build/bench/syslog_load sends messages of loggen's shape).
Usage: python3 bench/receive_bench.py [--bulwark build/bulwark] [--messages N] [--connections C]
       [--repeat R] [--kind sshd|loggen]
"""
import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from serve_metrics import free_port, metric, wait_for_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def peak_memory_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0


def loggen():
    """The path of loggen from syslog-ng-core, unpacked into build/peers/ (fetched once), and the
    environment it runs in; None when it cannot be had."""
    peers = os.path.join(ROOT, "build", "peers")
    root = os.path.join(peers, "syslog-ng")
    binary = os.path.join(root, "usr", "bin", "loggen")
    if not os.path.exists(binary):
        os.makedirs(peers, exist_ok=True)
        fetched = subprocess.run(["apt-get", "download", "syslog-ng-core"], cwd=peers,
                                 capture_output=True)
        debs = [f for f in os.listdir(peers) if f.startswith("syslog-ng-core") and
                f.endswith(".deb")]
        if fetched.returncode != 0 or not debs:
            return None
        subprocess.run(["dpkg", "-x", os.path.join(peers, debs[0]), root], check=True)
    env = dict(os.environ, SYSLOGNG_PREFIX=os.path.join(root, "usr"),
               LD_LIBRARY_PATH=os.path.join(root, "usr", "lib", "syslog-ng"))
    return binary, env


def send_load(args, port):
    """Sends the load to 127.0.0.1:`port`; returns the sender's seconds."""
    if args.kind == "loggen" and args.loggen:
        binary, env = args.loggen
        start = time.time()
        subprocess.run([binary, "-i", "-S", "-Q", "-r", "100000000", "-s", "256", "-n",
                        str(args.messages // args.connections), "--active-connections",
                        str(args.connections), "127.0.0.1", str(port)], env=env,
                       capture_output=True, check=True)
        return time.time() - start
    sent = subprocess.run([args.load, "127.0.0.1", str(port), str(args.messages),
                           str(args.connections), args.kind], capture_output=True, text=True,
                          check=True)
    return float(sent.stdout.split()[1])


def run_bulwark(args, work):
    data = os.path.join(work, "data")
    port, api = free_port(), free_port()
    config = os.path.join(work, "bulwark.yml")
    with open(config, "w") as f:
        f.write(f"data_dir: {data}\nlisten: 127.0.0.1:{api}\nrules: [builtin]\n"
                f"mail: {{print: {os.path.join(work, 'mails.txt')}}}\n"
                f"receivers:\n  - {{name: bench, protocol: tcp, listen: 127.0.0.1:{port}}}\n")
    serve = subprocess.Popen([args.bulwark, "serve", "--config", config],
                             stderr=open(os.path.join(work, "serve.log"), "w"))
    try:
        if not wait_for_port(port) or not wait_for_port(api):
            sys.exit("bulwark serve did not start: see " + os.path.join(work, "serve.log"))
        start = time.time()
        send_seconds = send_load(args, port)
        processed = 0
        queued_seconds = None
        deadline = time.time() + 600
        while time.time() < deadline:
            if queued_seconds is None and metric(
                    api, "bulwark_receiver_messages_total",
                    'receiver="bench",result="queued"') >= args.messages:
                queued_seconds = time.time() - start
            processed = metric(api, "bulwark_receiver_messages_total",
                               'receiver="bench",result="processed"')
            if processed >= args.messages:
                break
            time.sleep(0.02)
        seconds = time.time() - start
        queued = metric(api, "bulwark_receiver_messages_total", 'receiver="bench",result="queued"')
        if queued_seconds is None:
            queued_seconds = seconds
        memory = peak_memory_mib(serve.pid)
    finally:
        serve.terminate()
        serve.wait(timeout=60)
    return {"seconds": seconds, "send_seconds": send_seconds, "processed": processed,
            "queued": queued, "queued_rate": args.messages / queued_seconds, "memory": memory}


def run_rsyslog(args, work):
    port = free_port()
    out = os.path.join(work, "rsyslog-out.log")
    os.makedirs(os.path.join(work, "rsyslog"), exist_ok=True)
    config = os.path.join(work, "rsyslog.conf")
    with open(config, "w") as f:
        f.write(f'global(workDirectory="{os.path.join(work, "rsyslog")}")\n'
                'module(load="imtcp")\n'
                f'input(type="imtcp" address="127.0.0.1" port="{port}")\n'
                f'action(type="omfile" file="{out}")\n')
    rsyslog = subprocess.Popen(["/usr/sbin/rsyslogd", "-n", "-f", config, "-i",
                                os.path.join(work, "rsyslogd.pid")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not wait_for_port(port):
            sys.exit("rsyslogd did not start")
        start = time.time()
        send_load(args, port)
        lines = 0
        deadline = time.time() + 600
        while time.time() < deadline:
            try:
                with open(out, "rb") as f:
                    lines = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
            except FileNotFoundError:
                lines = 0
            if lines >= args.messages:
                break
            time.sleep(0.05)
        seconds = time.time() - start
    finally:
        rsyslog.terminate()
        rsyslog.wait(timeout=60)
    return {"seconds": seconds, "processed": lines}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bulwark", default=os.path.join(ROOT, "build", "bulwark"))
    parser.add_argument("--load", default=os.path.join(ROOT, "build", "bench", "syslog_load"))
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--kind", choices=["sshd", "loggen"], default="sshd",
                        help="sshd: failed logins, each from its own address (the worst case "
                             "for detection); loggen: syslog-ng loggen's 256-byte messages")
    args = parser.parse_args()
    args.messages -= args.messages % args.connections  # loggen sends a number per connection
    args.loggen = loggen() if args.kind == "loggen" else None
    if args.kind == "loggen":
        print("sender: " + ("syslog-ng's loggen" if args.loggen else
                            "syslog_load with loggen's messages (loggen could not be fetched)"))
    if not os.path.exists("/usr/sbin/rsyslogd"):
        sys.exit("rsyslogd is missing: apt-get install rsyslog")
    bulwark, rsyslog = [], []
    for round_ in range(args.repeat):
        for name, run, results in (("bulwark", run_bulwark, bulwark),
                                   ("rsyslog", run_rsyslog, rsyslog)):
            work = tempfile.mkdtemp(prefix=f"bulwark-receive-bench-{name}-")
            try:
                result = run(args, work)
            finally:
                shutil.rmtree(work, ignore_errors=True)
            result["rate"] = args.messages / result["seconds"]
            results.append(result)
            print(f"round {round_ + 1} {name}: {result['rate']:,.0f} messages/s, "
                  f"{result['processed']:,} of {args.messages:,} processed", flush=True)
    b = statistics.median(r["rate"] for r in bulwark)
    r = statistics.median(r["rate"] for r in rsyslog)
    print(f"\n{args.messages:,} {args.kind} messages over {args.connections} TCP connections, "
          f"median of {args.repeat} rounds")
    print(f"bulwark serve (received, queued durably, decoded, matched with the built-in pack, "
          f"findings stored): {b:,.0f} messages/s (runs {min(x['rate'] for x in bulwark):,.0f}-"
          f"{max(x['rate'] for x in bulwark):,.0f}); lost "
          f"{max(args.messages - x['processed'] for x in bulwark):,}; peak memory "
          f"{statistics.median(x['memory'] for x in bulwark):.0f} MiB; the sender alone took "
          f"{statistics.median(x['send_seconds'] for x in bulwark):.2f} s")
    print(f"  of which received and on disk in the queue: "
          f"{statistics.median(x['queued_rate'] for x in bulwark):,.0f} messages/s")
    print(f"rsyslog (imtcp into a file): {r:,.0f} messages/s (runs "
          f"{min(x['rate'] for x in rsyslog):,.0f}-{max(x['rate'] for x in rsyslog):,.0f}); lost "
          f"{max(args.messages - x['processed'] for x in rsyslog):,}")
    print(f"bulwark / rsyslog: {b / r:.2f}x (goal: bulwark >= 500,000 messages/s)")


if __name__ == "__main__":
    main()
