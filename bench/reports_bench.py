#!/usr/bin/env python3
"""Importing a 1,000,000-row Shadowserver report: rows/s and peak memory.

Writes a deterministic scan_ssh report (Shadowserver's file name form), then runs
`bulwark reports import --dry-run` on it under GNU time (package 'time') and prints the figures;
then imports the first --store-rows rows into a fresh data directory (findings stored, every
address unattributed: no inventory) for the rate with the store.
Usage: python3 bench/reports_bench.py [--rows N] [--store-rows N] [--bulwark build/bulwark]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCHEMA = os.path.join(os.path.dirname(ROOT), "shared", "abuse", "report_schema", "intelmq.json")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--store-rows", type=int, default=100_000)
    parser.add_argument("--bulwark", default=os.path.join(ROOT, "build", "bulwark"))
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="bulwark-reports-bench-")
    path = os.path.join(work, "2026-11-20-scan_ssh-asn-64500.csv")
    with open(path, "w") as f:
        f.write('"timestamp","ip","protocol","port","hostname","tag","asn","geo","region","city",'
                '"naics","serverid_software","severity"\n')
        for i in range(args.rows):
            ip = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
            f.write(f'"2026-11-20 {i % 24:02d}:{i % 60:02d}:{(i * 7) % 60:02d}","{ip}","tcp",22,'
                    f'"host{i}.example","ssh",64500,"DE","HESSEN","FRANKFURT",0,"OpenSSH_7.4",'
                    f'"medium"\n')
    cmd = ["/usr/bin/time", "-f", "%e %M", args.bulwark, "reports", "import", "--dry-run",
           "--output", os.devnull, "--schema", SCHEMA, path]
    proc = subprocess.run(cmd, stderr=subprocess.PIPE, text=True)
    lines = proc.stderr.strip().splitlines()
    seconds, kb = lines[-1].split()
    summary = next((l for l in lines if " items " in l), "")
    rows = int(re.search(r"items (\d+)", summary).group(1)) if summary else 0
    print(f"report rows          {rows:,}")
    print(f"wall time            {float(seconds):.2f} s")
    print(f"rows/s               {rows / float(seconds):,.0f}")
    print(f"peak memory          {int(kb) / 1024:.0f} MiB (the report is {os.path.getsize(path) / 2**20:.0f} MiB)")
    # With the store: the first --store-rows rows.
    stored_path = os.path.join(work, "stored", os.path.basename(path))
    os.makedirs(os.path.dirname(stored_path))
    with open(path) as src, open(stored_path, "w") as dst:
        for i, line in enumerate(src):
            if i > args.store_rows:
                break
            dst.write(line)
    cmd = ["/usr/bin/time", "-f", "%e %M", args.bulwark, "reports", "import", "--data-dir",
           os.path.join(work, "data"), "--schema", SCHEMA, stored_path]
    stored = subprocess.run(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    seconds, kb = stored.stderr.strip().splitlines()[-1].split()
    print(f"stored import        {args.store_rows:,} rows in {float(seconds):.2f} s = "
          f"{args.store_rows / float(seconds):,.0f} rows/s, peak {int(kb) / 1024:.0f} MiB")
    shutil.rmtree(work)
    return 0 if proc.returncode == 0 and stored.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
