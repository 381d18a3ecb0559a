"""Helpers the benchmarks share to run `bulwark serve` on loopback: a free port, waiting for a
listener, and reading one counter of its Prometheus /metrics."""
import socket
import time
import urllib.request


def free_port(kind=socket.SOCK_STREAM):
    """A port on 127.0.0.1 that was free a moment ago (TCP, or UDP with SOCK_DGRAM)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, seconds=20):
    """Whether something accepts TCP connections on 127.0.0.1:`port` within `seconds`."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.05)
    return False


def metric(api_port, name, labels):
    """The value of `name{labels}` on the service's /metrics; 0 when it is not there."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{api_port}/metrics", timeout=5).read().decode()
    key = name + "{" + labels + "} "
    for line in text.splitlines():
        if line.startswith(key):
            return int(line[len(key):])
    return 0
