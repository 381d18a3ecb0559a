#!/usr/bin/env python3
"""From the log line that crosses the policy's threshold to packets dropped (issue 14).

A lab of network namespaces this script creates (a switch with a bridge, an "internet" host and
N VMs) and `bulwark serve` following an sshd log, with a policy that quarantines a system as soon
as an incident about it opens. For each VM in turn: it pings the internet host every 5 ms
(ping -D prints each reply's time); the script appends the VM's brute force to the log; the
latency is the time of the last reply minus the time the last line was written (the cut happened
between that reply and the next request, 5 ms later). Prints p50, p99 and max.

Needs root, iproute2, nftables; run from the repository with build/bulwark built.
Usage: sudo python3 bench/quarantine_latency.py [--vms 20]
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

PREFIX = f"bwq{os.getpid()}"


def sh(command, check=True):
    return subprocess.run(command, shell=True, check=check, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)


def ns(name):
    return PREFIX + name


def build_lab(vms):
    sh(f"ip netns add {ns('sw')}")
    sh(f"ip netns exec {ns('sw')} ip link add br0 type bridge")
    sh(f"ip netns exec {ns('sw')} ip link set br0 up")
    hosts = [("inet", "10.77.0.100")] + [(f"v{k}", f"10.77.1.{k}") for k in range(1, vms + 1)]
    for host, address in hosts:
        sh(f"ip netns add {ns(host)}")
        sh(f"ip link add {host}p netns {ns('sw')} type veth peer name eth0 netns {ns(host)}")
        sh(f"ip netns exec {ns('sw')} ip link set {host}p master br0 up")
        sh(f"ip netns exec {ns(host)} ip link set lo up")
        sh(f"ip netns exec {ns(host)} ip link set eth0 up")
        sh(f"ip netns exec {ns(host)} ip addr add {address}/16 dev eth0")
    return hosts


def remove_lab(hosts):
    for host, _ in hosts:
        sh(f"ip netns del {ns(host)}", check=False)
    sh(f"ip netns del {ns('sw')}", check=False)


def inventory(vms):
    lines = ["customers:", "  - {id: c-lab, name: Lab, contacts: [{email: sec@lab.example}]}",
             "projects:", "  - {id: p-lab, customer: c-lab}", "systems:"]
    for k in range(1, vms + 1):
        lines += [f"  - id: s-v{k}", "    project: p-lab", "    interfaces:",
                  f"      - port: v{k}p", f"        addresses: [{{ip: 10.77.1.{k}}}]"]
    return "\n".join(lines) + "\n"


def brute_force(address, tries=12):
    now = time.time()
    out = []
    for i in range(tries):
        stamp = time.strftime("%b %e %H:%M:%S", time.gmtime(now - tries + i))
        out.append(f"{stamp} web1 sshd[{100 + i}]: Failed password for invalid user admin{i} "
                   f"from {address} port {40000 + i} ssh2\n")
    return "".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=20)
    parser.add_argument("--bulwark", default="build/bulwark")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="bwq-")
    hosts = build_lab(args.vms)
    serve = None
    try:
        data = os.path.join(work, "data")
        with open(os.path.join(work, "inventory.yml"), "w") as f:
            f.write(inventory(args.vms))
        subprocess.run([args.bulwark, "inventory", "import", "--data-dir", data,
                        os.path.join(work, "inventory.yml")], check=True, stdout=subprocess.DEVNULL)
        log = os.path.join(work, "auth.log")
        open(log, "w").close()
        config = os.path.join(work, "bulwark.yml")
        with open(config, "w") as f:
            f.write(f"data_dir: {data}\nlisten: 127.0.0.1:0\nmail: {{print: {work}/mails.txt}}\n"
                    f"inputs: [{{path: {log}}}]\n"
                    "countermeasures:\n  max_automatic_per_hour: 10000\n"
                    "  automatic: [{on: opened, min_severity: low, kind: quarantine}]\n"
                    f"  nftables: {{netns: {ns('sw')}}}\n")
        serve = subprocess.Popen([args.bulwark, "serve", "--config", config],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        while "listening" not in serve.stderr.readline():
            if serve.poll() is not None:
                sys.exit("serve did not start")
        latencies = []
        for k in range(1, args.vms + 1):
            ping = subprocess.Popen(["ip", "netns", "exec", ns(f"v{k}"), "ping", "-n", "-D",
                                     "-i", "0.005", "10.77.0.100"], stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, text=True)
            time.sleep(0.5)
            lines = brute_force(f"10.77.1.{k}")
            with open(log, "a") as f:
                f.write(lines)
                f.flush()
                written = time.time()
            time.sleep(2.0)
            ping.send_signal(signal.SIGINT)
            out, _ = ping.communicate()
            replies = [float(m.group(1)) for m in
                       re.finditer(r"^\[(\d+\.\d+)\] \d+ bytes from", out, re.M)]
            if not replies or replies[-1] > written + 1.9:
                print(f"v{k}: not cut within 2 s", file=sys.stderr)
                continue
            latencies.append(max(0.0, replies[-1] - written) * 1000)
        latencies.sort()
        if not latencies:
            sys.exit("no VM was cut")
        p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
        print(f"log line to packets dropped, {len(latencies)} of {args.vms} VMs cut: "
              f"p50 {p(0.5):.0f} ms, p99 {p(0.99):.0f} ms, max {latencies[-1]:.0f} ms")
    finally:
        if serve and serve.poll() is None:
            serve.send_signal(signal.SIGTERM)
            serve.wait(timeout=30)
        remove_lab(hosts)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
