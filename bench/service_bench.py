#!/usr/bin/env python3
"""The service under a big report: does it stay up, and what does the import cost?

Starts `bulwark serve` on a fresh data directory, then
  1. for --idle seconds measures /healthz latency, incident reads/s and finding writes/s (one
     finding per POST) with nothing else going on;
  2. POSTs a report mail (a zip attachment holding a Shadowserver scan_ssh CSV of --rows rows,
     1,700,000 by default: the audit's 331 MB case) to /api/v1/reports and measures the same
     while it is taken, plus the import's wall time, the response size, the service's peak
     memory (VmHWM) and how much the data directory grew.
The report's limits are raised so that it is taken (`reports.limits`); a build that does not know
them (before issue 12) is started without them.
Usage: python3 bench/service_bench.py [--bulwark build/bulwark] [--rows N] [--idle S]
"""
import argparse
import http.client
import io
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from email.message import EmailMessage

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCHEMA = os.path.join(os.path.dirname(ROOT), "shared", "abuse", "report_schema", "intelmq.json")


def report_mail(rows):
    """A Shadowserver-style report mail with the CSV zipped as its attachment."""
    csv = io.StringIO()
    csv.write('"timestamp","ip","protocol","port","hostname","tag","asn","geo","region","city",'
              '"naics","serverid_software","severity"\n')
    for i in range(rows):
        ip = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
        csv.write(f'"2026-11-20 {i % 24:02d}:{i % 60:02d}:{(i * 7) % 60:02d}","{ip}","tcp",22,'
                  f'"host{i}.example","ssh",64500,"DE","HESSEN","FRANKFURT",0,"OpenSSH_7.4",'
                  f'"medium"\n')
    text = csv.getvalue().encode()
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("2026-11-20-scan_ssh-asn-64500.csv", text)
    mail = EmailMessage()
    mail["From"] = "Shadowserver <autoreports@shadowserver.org>"
    mail["To"] = "abuse@provider.example"
    mail["Subject"] = "[Shadowserver] 2026-11-20 scan_ssh report"
    mail["Message-ID"] = "<bench-scan-ssh@shadowserver.org>"
    mail.set_content("Attached is the scan_ssh report.\n")
    mail.add_attachment(packed.getvalue(), maintype="application", subtype="zip",
                        filename="2026-11-20-scan_ssh-asn-64500.csv.zip")
    return mail.as_bytes(), len(text)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(path, data_dir, port, rows, unpacked, with_limits):
    lines = [f"data_dir: {data_dir}", f"listen: 127.0.0.1:{port}", "api:",
             "  max_body_bytes: 1073741824"]
    if with_limits:
        lines += ["  comments_per_minute: 1000000"]
    lines += ["reports:", f"  shadowserver_schema: {SCHEMA}"]
    if with_limits:
        lines += ["  limits:", f"    max_unpacked_bytes: {max(unpacked * 2, 1 << 20)}",
                  "    max_ratio: 100000", f"    max_rows: {rows + 1}", "    max_duration: 3600s"]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def start(bulwark, config, port, with_limits):
    proc = subprocess.Popen([bulwark, "serve", "--config", config], stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return None, proc.stderr.read()
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return proc, ""
        except OSError:
            time.sleep(0.1)
    proc.kill()
    return None, "did not answer /healthz within 30 s"


class Load:
    """Probes /healthz, reads incidents and writes findings in threads; counts per phase."""

    def __init__(self, port, token):
        self.port = port
        self.token = token
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.health = []       # latencies in s of good answers
            self.health_bad = 0    # non-200 or no answer within 2 s
            self.reads = []
            self.writes = []
            self.errors = 0
            self.error_kinds = {}  # status code or exception name -> count
            self.since = time.monotonic()

    def call(self, method, path, body=None, timeout=2.0, content_type=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        headers = {"Authorization": f"Bearer {self.token}"}
        if content_type:
            headers["Content-Type"] = content_type
        start = time.monotonic()
        c.request(method, path, body=body, headers=headers)
        r = c.getresponse()
        r.read()
        c.close()
        return r.status, time.monotonic() - start

    def note(self, status, seconds, good):
        """Counts a read's or write's answer: its latency when 200, else its status or error."""
        with self.lock:
            if status == 200:
                good.append(seconds)
            else:
                self.errors += 1
                self.error_kinds[str(status)] = self.error_kinds.get(str(status), 0) + 1

    def healthz(self):
        while not self.stop.is_set():
            try:
                status, seconds = self.call("GET", "/healthz")
                with self.lock:
                    if status == 200:
                        self.health.append(seconds)
                    else:
                        self.health_bad += 1
            except OSError:
                with self.lock:
                    self.health_bad += 1
            time.sleep(0.05)

    def reader(self):
        while not self.stop.is_set():
            try:
                status, seconds = self.call("GET", "/api/v1/incidents?limit=10", timeout=10)
                self.note(status, seconds, self.reads)
            except OSError as e:
                self.note(type(e).__name__, 0, None)

    def writer(self):
        i = 0
        while not self.stop.is_set():
            i += 1
            body = json.dumps({"feed.name": "bench", "classification.type": "scanner",
                               "source.ip": f"192.0.2.{i % 250 + 1}",
                               "time.source": "2026-11-20T10:00:00Z"})
            try:
                status, seconds = self.call("POST", "/api/v1/findings", body, timeout=10,
                                            content_type="application/json")
                self.note(status, seconds, self.writes)
            except OSError as e:
                self.note(type(e).__name__, 0, None)

    def figures(self):
        with self.lock:
            seconds = time.monotonic() - self.since
            def pct(values, p):
                if not values:
                    return float("nan")
                values = sorted(values)
                return values[min(len(values) - 1, int(p * len(values)))] * 1000
            return {
                "seconds": seconds,
                "healthz_ok": len(self.health), "healthz_failed": self.health_bad,
                "healthz_p50_ms": pct(self.health, 0.5), "healthz_max_ms": pct(self.health, 1.0),
                "reads_per_s": len(self.reads) / seconds, "read_p99_ms": pct(self.reads, 0.99),
                "writes_per_s": len(self.writes) / seconds, "write_p99_ms": pct(self.writes, 0.99),
                "errors": self.errors, "error_kinds": dict(self.error_kinds),
            }


def vm_hwm_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def dir_mb(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs) / 2**20


def show(name, f):
    print(f"{name:8} /healthz {f['healthz_ok']} answered, {f['healthz_failed']} failed, "
          f"p50 {f['healthz_p50_ms']:.1f} ms, max {f['healthz_max_ms']:.0f} ms; "
          f"reads {f['reads_per_s']:.0f}/s (p99 {f['read_p99_ms']:.0f} ms); "
          f"writes {f['writes_per_s']:.0f}/s (p99 {f['write_p99_ms']:.0f} ms); "
          f"other errors {f['errors']} {f['error_kinds'] or ''}", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bulwark", default=os.path.join(ROOT, "build", "bulwark"))
    parser.add_argument("--rows", type=int, default=1_700_000)
    parser.add_argument("--idle", type=float, default=5.0)
    args = parser.parse_args()
    bulwark = os.path.abspath(args.bulwark)
    work = tempfile.mkdtemp(prefix="bulwark-service-bench-")
    proc = None
    try:
        mail, unpacked = report_mail(args.rows)
        print(f"report mail {len(mail) / 2**20:.1f} MiB, its CSV {unpacked / 2**20:.0f} MiB, "
              f"{args.rows:,} rows", flush=True)
        data = os.path.join(work, "data")
        token = subprocess.run([bulwark, "tokens", "create", "--data-dir", data, "--role",
                                "analyst"], capture_output=True, text=True, check=True)
        token = token.stdout.split("Keep")[0].strip()
        port = free_port()
        config = os.path.join(work, "bulwark.yml")
        for with_limits in (True, False):
            write_config(config, data, port, args.rows, unpacked, with_limits)
            proc, error = start(bulwark, config, port, with_limits)
            if proc:
                break
        if not proc:
            print(f"serve did not start: {error}", file=sys.stderr)
            return 1
        if not with_limits:
            print("(a build without reports.limits: started without them)")
        size_before = dir_mb(data)
        load = Load(port, token)
        threads = [threading.Thread(target=t) for t in (load.healthz, load.reader, load.writer)]
        for t in threads:
            t.start()
        time.sleep(args.idle)
        idle = load.figures()
        load.reset()
        start_time = time.monotonic()
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
        c.request("POST", "/api/v1/reports?name=scan_ssh.eml", body=mail,
                  headers={"Authorization": f"Bearer {token}", "Content-Type": "message/rfc822"})
        reply = c.getresponse()
        body = reply.read()
        import_seconds = time.monotonic() - start_time
        during = load.figures()
        load.stop.set()
        for t in threads:
            t.join()
        show("idle", idle)
        show("import", during)
        print(f"import   status {reply.status}, {import_seconds:.1f} s "
              f"({args.rows / import_seconds:,.0f} rows/s), response {len(body) / 1024:.1f} KiB, "
              f"peak memory of serve {vm_hwm_mb(proc.pid):.0f} MiB, data directory grew "
              f"{dir_mb(data) - size_before:.0f} MiB")
        return 0 if reply.status == 200 else 1
    finally:
        if proc and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
