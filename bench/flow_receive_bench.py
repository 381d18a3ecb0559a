#!/usr/bin/env python3
"""NetFlow v9 over UDP beside nfcapd: the same datagrams to `bulwark serve`'s netflow receiver
(received, decoded, each record queued durably as a JSON line) and to nfdump's nfcapd (received,
decoded, stored in its flow file).

The datagrams are softflowd's NetFlow v9 export of ../shared/perimeter/softflowd-nfv9.pcap (41
datagrams, 1,286 records, templates included), sent --rounds times with their sequence numbers
renumbered, at --rate datagrams/s (0: as fast as the sender goes). For each
receiver it prints records/s from the first datagram sent until the last record was taken, and
the records lost (UDP drops when a receiver falls behind). The sender, a Python loop, shares the
machine's two cores with the receiver.
With --latency SECONDS it measures instead how long a flow takes from its datagram to its
alert, at --rate datagrams/s of the same background load: every 10 ms an IPFIX datagram carries
one flow, stamped with the time it is sent (flowEndMilliseconds), from its own source to an
address on the configured Feodo list; its finding's store time minus that stamp is its latency.
Prints p50, p99 and the maximum.
Usage: python3 bench/flow_receive_bench.py [--bulwark build/bulwark] [--rounds N] [--rate R]
       [--latency SECONDS]
"""
import argparse
import os
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time

from serve_metrics import free_port, metric

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CAPTURE = os.path.join(os.path.dirname(ROOT), "shared", "perimeter", "softflowd-nfv9.pcap")


def udp_payloads(path):
    """UDP payloads of an Ethernet or Linux-cooked pcap (IPv4)."""
    data = open(path, "rb").read()
    linktype = struct.unpack("<I", data[20:24])[0]
    offset, out = 24, []
    while offset + 16 <= len(data):
        length = struct.unpack("<I", data[offset + 8:offset + 12])[0]
        packet = data[offset + 16:offset + 16 + length]
        offset += 16 + length
        link = {1: 14, 113: 16, 0: 4}.get(linktype, 14)
        ip = packet[link:]
        if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        header = (ip[0] & 15) * 4
        out.append(ip[header + 8:])
    return out


def stream(rounds):
    """The capture's datagrams (templates and data, as the exporter sent them) `rounds` times,
    renumbered; returns (datagrams, records): 1,286 records per round, as nfdump reads the
    capture (../shared/perimeter/softflowd-nfv9-run1.nfdump.csv)."""
    out, sequence = [], 0
    captured = udp_payloads(CAPTURE)
    for _ in range(rounds):
        for d in captured:
            out.append(d[:12] + struct.pack(">I", sequence) + d[16:])
            sequence += 1
    return out, 1286 * rounds


def send(port, datagrams, rate):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    start = time.time()
    for i, d in enumerate(datagrams):
        s.sendto(d, ("127.0.0.1", port))
        if rate and i % 100 == 99:
            ahead = (i + 1) / rate - (time.time() - start)
            if ahead > 0:
                time.sleep(ahead)
    s.close()
    return start


def wait_until_stable(read, seconds=600):
    """Polls `read()` until it stops changing for 1.5 s; returns (value, time of last change)."""
    last, changed, deadline = -1, time.time(), time.time() + seconds
    while time.time() < deadline:
        value = read()
        if value != last:
            last, changed = value, time.time()
        elif time.time() - changed > 1.5:
            break
        time.sleep(0.05)
    return last, changed


QUEUED = ("bulwark_receiver_messages_total", 'receiver="flows",result="queued"')


def start_serve(args, work, extra_config=""):
    """`bulwark serve` in `work` with a netflow receiver named flows, once its API answers;
    returns (process, receiver port, API port)."""
    port, api = free_port(socket.SOCK_DGRAM), free_port()
    config = os.path.join(work, "bulwark.yml")
    with open(config, "w") as f:
        f.write(f"data_dir: {os.path.join(work, 'data')}\nlisten: 127.0.0.1:{api}\n"
                f"rules: [builtin]\nmail: {{print: {os.path.join(work, 'mails.txt')}}}\n"
                f"{extra_config}"
                f"receivers:\n  - {{name: flows, protocol: netflow, listen: 127.0.0.1:{port}}}\n")
    serve = subprocess.Popen([args.bulwark, "serve", "--config", config],
                             stderr=open(os.path.join(work, "serve.log"), "w"))
    for _ in range(200):
        try:
            metric(api, *QUEUED)
            break
        except OSError:
            time.sleep(0.05)
    return serve, port, api


def run_bulwark(args, work, datagrams):
    serve, port, api = start_serve(args, work)
    try:
        start = send(port, datagrams, args.rate)
        queued, done = wait_until_stable(lambda: metric(api, *QUEUED))
    finally:
        serve.terminate()
        serve.wait(timeout=120)
    return queued, done - start


def run_nfcapd(args, work, datagrams):
    port = free_port(socket.SOCK_DGRAM)
    flows = os.path.join(work, "flows")
    os.makedirs(flows)
    nfcapd = subprocess.Popen(["nfcapd", "-b", "127.0.0.1", "-p", str(port), "-w", flows,
                               "-B", str(32 << 20)],  # the socket buffer bulwark takes
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    try:
        start = send(port, datagrams, args.rate)
        # nfcapd writes its file when it stops; its CPU time stops growing when it is done.
        def cpu():
            with open(f"/proc/{nfcapd.pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            return int(fields[11]) + int(fields[12])
        _, done = wait_until_stable(cpu)
    finally:
        nfcapd.send_signal(signal.SIGTERM)
        nfcapd.wait(timeout=120)
    out = subprocess.run(["nfdump", "-q", "-R", flows, "-o", "csv"], capture_output=True,
                         text=True)
    records = sum(1 for line in out.stdout.splitlines() if line and line[0].isdigit())
    return records, done - start


C2 = bytes([198, 51, 100, 66])  # on the Feodo list the latency run configures


def probe(sequence, index):
    """An IPFIX message with template 256 and one flow sent now from 10.x.y.z (unique per
    `index`) to the listed C2 address, its end stamped with the current time in milliseconds."""
    fields = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (6, 1), (2, 8), (1, 8), (152, 8),
              (153, 8)]
    template = struct.pack(">HH", 256, len(fields)) + b"".join(
        struct.pack(">HH", i, n) for i, n in fields)
    template_set = struct.pack(">HH", 2, 4 + len(template)) + template
    now_ms = int(time.time() * 1000)
    source = bytes([10, (index >> 16) & 255, (index >> 8) & 255, index & 255])
    record = (source + C2 + struct.pack(">HHBBQQQQ", 40000, 443, 6, 0x1b, 5, 400, now_ms,
                                        now_ms))
    data_set = struct.pack(">HH", 256, 4 + len(record)) + record
    body = template_set + data_set
    return struct.pack(">HHIII", 10, 16 + len(body), now_ms // 1000, sequence, 7) + body


def run_latency(args, work, datagrams):
    data = os.path.join(work, "data")
    feodo = os.path.join(work, "feodo.txt")
    with open(feodo, "w") as f:
        f.write("# Feodo Tracker (bench)\n198.51.100.66\n")
    serve, port, _ = start_serve(args, work, f"address_lists: {{feodo_c2: {feodo}}}\n")
    probes = 0
    try:
        stop = time.time() + args.latency
        background = threading.Thread(
            target=lambda: [send(port, datagrams, args.rate) for _ in iter(
                lambda: time.time() < stop, False)])
        background.start()
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        while time.time() < stop:
            s.sendto(probe(probes, probes), ("127.0.0.1", port))
            probes += 1
            time.sleep(0.01)
        background.join()
        time.sleep(3)  # the last probes through detection and into the store
    finally:
        serve.terminate()
        serve.wait(timeout=120)
    db = sqlite3.connect(os.path.join(data, "bulwark.db"))
    latencies = sorted((received - source) / 1e6 for received, source in db.execute(
        "SELECT received_at, time_source FROM findings WHERE document LIKE '%198.51.100.66%'"))
    db.close()
    return probes, latencies


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bulwark", default=os.path.join(ROOT, "build", "bulwark"))
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--rate", type=int, default=20000, help="datagrams/s; 0: unpaced")
    parser.add_argument("--latency", type=float, default=0,
                        help="seconds of the latency run (0: the throughput run)")
    args = parser.parse_args()
    if args.latency:
        datagrams, records = stream(args.rounds)
        work = tempfile.mkdtemp(prefix="bulwark-flow-latency-")
        try:
            probes, latencies = run_latency(args, work, datagrams)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if not latencies:
            sys.exit(f"none of {probes} probes made a finding")
        pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
        print(f"background {args.rate} datagrams/s ({args.rate * records / len(datagrams):,.0f} "
              f"records/s); {len(latencies)} of {probes} probes found; datagram to stored "
              f"finding: p50 {pick(0.5):.1f} ms, p99 {pick(0.99):.1f} ms, "
              f"max {latencies[-1]:.1f} ms")
        return
    if not shutil.which("nfcapd"):
        sys.exit("nfcapd is missing: apt-get install nfdump")
    datagrams, records = stream(args.rounds)
    print(f"{len(datagrams):,} NetFlow v9 datagrams, {records:,} records, "
          f"sent at {args.rate or 'full'} datagrams/s")
    results = {}
    for name, run in (("bulwark", run_bulwark), ("nfcapd", run_nfcapd)):
        work = tempfile.mkdtemp(prefix=f"bulwark-flow-bench-{name}-")
        try:
            got, seconds = run(args, work, datagrams)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        results[name] = got / seconds
        print(f"{name}: {got:,} of {records:,} records in {seconds:.2f} s: "
              f"{got / seconds:,.0f} records/s, lost {records - got:,}", flush=True)
    print(f"bulwark / nfcapd: {results['bulwark'] / results['nfcapd']:.2f}x")


if __name__ == "__main__":
    main()
