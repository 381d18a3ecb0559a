#!/usr/bin/env python3
"""The scanner against its peers (issue 15), in network namespaces this script creates.

1. All 65,535 TCP ports of one host with listeners on 40 random ports: bulwark scan (SYN with its
   confirmation pass, and TCP connect; no identification), nmap -sT, nmap -sS and masscan, each at
   the same rate; time and open ports found out of 40, for each rate.
2. Service names on a fleet of Debian's servers (OpenSSH, vsftpd, nginx, Apache, Dovecot, Samba,
   MariaDB, xrdp, Redis, memcached, Python's http.server, a TLS server): bulwark scan against
   nmap -sV; the names each gives and the time.
3. Many addresses: a prefix of AnyIP addresses (`ip route add local PREFIX dev lo` in the target,
   /20 by default, --anyip 16 for a /16) with listeners on 2 of the top 100 ports; bulwark scan
   (SYN and connect), nmap -sT and masscan on the top 100 ports at the highest rate: probes/s and completeness.

Needs root, iproute2, nmap, masscan, and the fleet's servers (tools/deps.sh installs them); run from the repository
with build/bulwark built. Usage: sudo python3 bench/scan_bench.py [--rates 10000,50000]
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

PREFIX = f"bws{os.getpid()}"
SCANNER, TARGET = "10.88.0.1", "10.88.0.2"


def sh(command, check=True):
    return subprocess.run(command, shell=True, check=check, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)


def ns(name):
    return PREFIX + name


def inside(name, command):
    return f"ip netns exec {ns(name)} {command}"


def build():
    sh(f"ip netns add {ns('s')}")
    sh(f"ip netns add {ns('t')}")
    sh(f"ip link add {PREFIX}a netns {ns('s')} type veth peer name {PREFIX}b netns {ns('t')}")
    for host, link, address in (("s", f"{PREFIX}a", SCANNER), ("t", f"{PREFIX}b", TARGET)):
        sh(inside(host, "ip link set lo up"))
        sh(inside(host, f"ip link set {link} up"))
        sh(inside(host, f"ip addr add {address}/24 dev {link}"))
    # masscan sends through a router: the target is the scanner's default route.
    sh(inside("s", f"ip route add default via {TARGET}"))


def teardown():
    sh(f"ip netns del {ns('s')}", check=False)
    sh(f"ip netns del {ns('t')}", check=False)


# Listens on the ports given and accepts and closes every connection, so that no accept queue
# fills up however many addresses a scan connects to.
LISTENER = """
import selectors, socket, sys
selector = selectors.DefaultSelector()
for port in map(int, sys.argv[2:]):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[1], port)); s.listen(65535); s.setblocking(False)
    selector.register(s, selectors.EVENT_READ)
while True:
    for key, _ in selector.select():
        while True:
            try:
                connection, _ = key.fileobj.accept()
            except BlockingIOError:
                break
            connection.close()
"""


def top_ports():
    """Bulwark's top 100 ports (src/scan/targets.cc), so that every tool scans the same ones."""
    text = open(os.path.join(os.path.dirname(__file__), "..", "src", "scan", "targets.cc")).read()
    body = re.search(r"kTopPorts\[\] = \{([^}]*)\}", text).group(1)
    return ",".join(p.strip() for p in body.split(",") if p.strip())


def timed(command):
    start = time.monotonic()
    out = subprocess.run(command, shell=True, capture_output=True, text=True)
    return time.monotonic() - start, out.stdout + out.stderr


def open_ports_of(tool, output):
    if tool == "bulwark":
        return {json.loads(line)["source.port"] for line in output.splitlines()
                if line.startswith("{")}
    if tool == "masscan":
        return {int(m) for m in re.findall(r"Discovered open port (\d+)/tcp", output)}
    return {int(m) for m in re.findall(r"(\d+)/open/tcp", output)}


def port_scanners(targets, ports, rate, work, nmap_syn=True):
    """The command of each tool scanning `targets` (an address or prefix) on `ports` (a comma
    list, or "all") at `rate` connection attempts or packets per second."""
    bulwark = os.path.abspath("build/bulwark")
    nmap_ports = "-p-" if ports == "all" else f"-p {ports}"
    masscan_ports = "-p1-65535" if ports == "all" else f"-p{ports}"
    def bulwark_with(method):
        return inside("s", f"{bulwark} scan --data-dir {work}/data --allow {targets} "
                           f"{targets} --ports {ports} --udp-ports none --no-identify "
                           f"--no-vulndb --rate {rate} --rate-per-network {rate} "
                           f"--discovery {method}")
    tools = {
        "bulwark syn": bulwark_with("syn"),
        "bulwark connect": bulwark_with("connect"),
        "nmap -sT": inside("s", f"nmap -n -Pn -sT {nmap_ports} --min-rate {rate} "
                                f"--max-rate {rate} -oG - {targets}"),
        "nmap -sS": inside("s", f"nmap -n -Pn -sS {nmap_ports} --min-rate {rate} "
                                f"--max-rate {rate} -oG - {targets}"),
        "masscan": inside("s", f"masscan {targets} {masscan_ports} --rate {rate} --wait 2"),
    }
    if not nmap_syn:
        del tools["nmap -sS"]
    return tools


def discovery(rates, work):
    ports = sorted(random.Random(15).sample(range(1024, 65536), 40))
    script = os.path.join(work, "listen.py")
    with open(script, "w") as f:
        f.write(LISTENER)
    listener = subprocess.Popen(inside("t", f"python3 {script} {TARGET} " +
                                       " ".join(map(str, ports))), shell=True)
    time.sleep(1)
    print("All 65,535 TCP ports of one host, 40 open")
    print(f"{'rate/s':>8} {'tool':<16} {'seconds':>8} {'found':>6}")
    try:
        for rate in rates:
            tools = port_scanners(TARGET, "all", rate, work)
            for tool, command in tools.items():
                seconds, output = timed(command)
                found = open_ports_of(tool.split()[0], output) & set(ports)
                print(f"{rate:>8} {tool:<16} {seconds:>8.1f} {len(found):>4}/40")
    finally:
        listener.terminate()
        sh(inside("t", "pkill -f listen.py"), check=False)


def services(work):
    www = os.path.join(work, "www")
    os.makedirs(www, exist_ok=True)
    sh(f"openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
       f"-subj /CN=bench.example -keyout {work}/key.pem -out {work}/cert.pem")
    os.makedirs("/run/sshd", exist_ok=True)
    sh(f"ssh-keygen -q -t ed25519 -N '' -f {work}/host")
    with open(f"{work}/sshd_config", "w") as f:
        f.write(f"ListenAddress {TARGET}\nHostKey {work}/host\nUsePAM no\nPidFile none\n")
    # Debian's web, FTP, mail, database, SMB and RDP servers, as the fleet test runs them.
    for sub in ("nginx-tmp", "vsftpd-empty", "dovecot", "mariadb", "samba"):
        os.makedirs(os.path.join(work, sub), exist_ok=True)
    with open(f"{work}/nginx.conf", "w") as f:
        f.write(f"daemon off;\nmaster_process off;\npid {work}/nginx.pid;\nerror_log stderr;\n"
                f"events {{}}\nhttp {{\n  access_log off;\n"
                + "".join(f"  {kind}_temp_path {work}/nginx-tmp;\n"
                          for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
                + f"  server {{\n    listen {TARGET}:80;\n    root {www};\n  }}\n}}\n")
    with open(f"{work}/apache.conf", "w") as f:
        f.write("ServerRoot /usr/lib/apache2\n"
                "LoadModule mpm_prefork_module modules/mod_mpm_prefork.so\n"
                "LoadModule authz_core_module modules/mod_authz_core.so\n"
                "User www-data\nGroup www-data\nServerName bench\n"
                f"Listen {TARGET}:8081\nPidFile {work}/apache.pid\nDefaultRuntimeDir {work}\n"
                f"ErrorLog {work}/apache-error.log\nDocumentRoot {www}\n"
                "<Directory />\n  Require all granted\n</Directory>\n")
    with open(f"{work}/vsftpd.conf", "w") as f:
        f.write(f"listen=YES\nlisten_ipv6=NO\nlisten_address={TARGET}\nbackground=NO\n"
                "anonymous_enable=NO\nlocal_enable=YES\npam_service_name=vsftpd\n"
                f"seccomp_sandbox=NO\nsecure_chroot_dir={work}/vsftpd-empty\n")
    with open(f"{work}/dovecot.conf", "w") as f:
        f.write(f"protocols = imap\nlisten = {TARGET}\nbase_dir = {work}/dovecot\n"
                f"state_dir = {work}/dovecot\nlog_path = {work}/dovecot.log\n"
                f"instance_name = bench{os.getpid()}\nssl = no\n"
                "passdb {\n  driver = static\n  args = password=not-for-login\n}\n"
                "userdb {\n  driver = static\n  args = uid=nobody gid=nogroup home=/nonexistent\n}\n"
                "service imap-login {\n  chroot =\n}\nservice anvil {\n  chroot =\n}\n")
    with open(f"{work}/smb.conf", "w") as f:
        f.write(f"[global]\n  server role = standalone server\n  interfaces = {TARGET}\n"
                "  bind interfaces only = yes\n  smb ports = 445\n  disable netbios = yes\n"
                + "".join(f"  {key} = {work}/samba\n" for key in (
                    "pid directory", "lock directory", "state directory", "cache directory",
                    "private dir", "ncalrpc dir")))
    sh(f"sed -e 's|^port=3389|port=tcp://{TARGET}:3389|' -e 's|^EnableSyslog=.*|EnableSyslog=false|'"
       f" -e 's|^LogFile=.*|LogFile={work}/xrdp-own.log|' /etc/xrdp/xrdp.ini > {work}/xrdp.ini")
    sh(f"mariadb-install-db --no-defaults --datadir={work}/mariadb --tmpdir={work} --user=root "
       f"--skip-test-db > /dev/null 2>&1")
    fleet = [
        (21, f"/usr/sbin/vsftpd {work}/vsftpd.conf"),
        (80, f"/usr/sbin/nginx -c {work}/nginx.conf -e {work}/nginx-error.log"),
        (143, f"/usr/sbin/dovecot -F -c {work}/dovecot.conf"),
        (445, f"/usr/sbin/smbd --foreground -s {work}/smb.conf"),
        (3306, f"/usr/sbin/mariadbd --no-defaults --datadir={work}/mariadb --user=root "
               f"--bind-address={TARGET} --port=3306 --socket={work}/mariadb.sock "
               f"--pid-file={work}/mariadb.pid --tmpdir={work} --skip-log-bin"),
        (3389, f"/usr/sbin/xrdp --nodaemon --config {work}/xrdp.ini"),
        (8081, f"/usr/sbin/apache2 -X -f {work}/apache.conf"),
        (22, f"/usr/sbin/sshd -D -f {work}/sshd_config"),
        (6379, f"redis-server --port 6379 --bind {TARGET} --protected-mode no --save ''"),
        (11211, f"memcached -p 11211 -U 0 -l {TARGET} -u root"),
        (8080, f"python3 -m http.server 8080 --bind {TARGET} --directory {www}"),
        (8443, f"openssl s_server -quiet -www -accept {TARGET}:8443 -cert {work}/cert.pem "
               f"-key {work}/key.pem"),
    ]
    # Each server in a session of its own, so that stopping it stops its children too.
    processes = [subprocess.Popen(inside("t", command), shell=True, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)
                 for _, command in fleet]
    time.sleep(3)
    ports = ",".join(str(p) for p, _ in fleet)
    bulwark = os.path.abspath("build/bulwark")
    try:
        seconds_b, out_b = timed(inside("s", f"{bulwark} scan --data-dir {work}/data --allow "
                                             f"{TARGET} {TARGET} --ports {ports} --udp-ports none "
                                             f"--no-vulndb"))
        seconds_n, out_n = timed(inside("s", f"nmap -n -Pn -sV -p {ports} -oG - {TARGET}"))
    finally:
        for p in processes:
            os.killpg(p.pid, signal.SIGTERM)
        for p in processes:
            p.wait()
    names_b = {}
    for line in out_b.splitlines():
        if line.startswith("{"):
            f = json.loads(line)
            if f.get("classification.taxonomy") == "other" or f["source.port"] not in names_b:
                name = f.get("protocol.application", "?")
                if f.get("extra.tls_version"):
                    name = "tls/" + name
                names_b[f["source.port"]] = " ".join(
                    x for x in (name, f.get("extra.product", ""), f.get("extra.version", "")) if x)
    names_n = {int(m[0]): f"{m[1]} {m[2]}".strip()
               for m in re.findall(r"(\d+)/open/tcp//([^/]*)//([^/]*)/", out_n)}
    print("\nService names on a fleet (bulwark scan against nmap -sV)")
    # nmap's service names for what Bulwark calls by the protocol's name.
    same = {"ms-wbt-server": "rdp", "netbios-ssn": "smb", "microsoft-ds": "smb",
            "ssl|http": "tls/http"}
    print(f"{'port':>6} {'agree':<6} {'bulwark':<34} {'nmap -sV':<40}")
    agreed = 0
    for port, _ in fleet:
        ours, theirs = names_b.get(port, "-"), names_n.get(port, "-")
        service = theirs.split(" ")[0]
        agree = ours.split(" ")[0] == same.get(service, service)
        agreed += agree
        print(f"{port:>6} {'yes' if agree else 'NO':<6} {ours:<34} {theirs[:60]:<40}")
    print(f"services named alike: {agreed}/{len(fleet)}; "
          f"time: bulwark {seconds_b:.1f} s, nmap -sV {seconds_n:.1f} s")


TOP_PORTS = None


def anyip(bits, rate, work):
    prefix = f"10.99.0.0/{bits}"
    sh(inside("t", f"ip route add local {prefix} dev lo"))
    sh(inside("t", "sysctl -qw net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535"))
    sh(inside("s", f"ip route add {prefix} via {TARGET}"))
    script = os.path.join(work, "listen.py")
    listener = subprocess.Popen(inside("t", f"python3 {script} 0.0.0.0 22 80"), shell=True)
    time.sleep(1)
    addresses = 1 << (32 - bits)
    expected = 2 * addresses
    print(f"\nA /{bits} of AnyIP addresses ({addresses} addresses), top 100 ports, "
          f"{expected} open at {rate}/s")
    print(f"{'tool':<16} {'seconds':>8} {'probes/s':>9} {'found':>14}")
    try:
        tools = port_scanners(prefix, TOP_PORTS, rate, work, nmap_syn=False)
        for tool, command in tools.items():
            seconds, output = timed(command)
            if tool.startswith("bulwark"):
                found = sum(1 for line in output.splitlines() if line.startswith("{"))
            elif tool == "masscan":
                found = len(re.findall(r"Discovered open port", output))
            else:
                found = len(re.findall(r"\d+/open/tcp", output))
            probes = addresses * 100
            print(f"{tool:<16} {seconds:>8.1f} {probes / seconds:>9.0f} {found:>7}/{expected}")
    finally:
        listener.terminate()
        sh(inside("t", "pkill -f listen.py"), check=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="10000,50000")
    parser.add_argument("--anyip", type=int, default=20, help="prefix length of the AnyIP range")
    parser.add_argument("--skip", default="", help="sections to skip: ports,services,anyip")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root (network namespaces)")
    for tool in ("nmap", "masscan"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: apt-get install {tool}")
    work = tempfile.mkdtemp(prefix="bulwark-scan-bench-")
    try:
        build()
        global TOP_PORTS
        TOP_PORTS = top_ports()
        rates = [int(r) for r in args.rates.split(",")]
        if "ports" not in args.skip:
            discovery(rates, work)
        if "services" not in args.skip:
            services(work)
        if "anyip" not in args.skip:
            if "ports" in args.skip:
                with open(os.path.join(work, "listen.py"), "w") as f:
                    f.write(LISTENER)
            anyip(args.anyip, max(rates), work)
    finally:
        teardown()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
