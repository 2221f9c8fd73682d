#!/usr/bin/env python3
"""What live board viewers cost the daemon, and how fast an alert reaches them.

Starts a private mosquitto and `estatewatch run` (console on a free port, one
MQTT sensor with a threshold rule, no camera, so nothing but alerts and the
console uses CPU), logs a viewer in, and feeds the sensor readings that cross
the threshold and clear again (`--rate` readings a second: each crossing is a
new incident, each clearing an update of it). Then:

  1. for `--seconds` with no viewer: the daemon's CPU time (utime + stime
     from /proc/<pid>/stat);
  2. for `--seconds` with `--viewers` open board streams (`/board/events`,
     Server-Sent Events, as the board's script opens them): the same, and
     for every incident event each viewer receives, the time from the
     alert's `detected_at` (the event's `last_at`) to its receipt.

Prints both CPU figures as % of one core, the difference, and the latency
percentiles over all receipts. Issue 15's targets: 20 viewers cost < 3 % of
one core; alert to board p95 <= 1 s.

    scripts/measure-board.py [--bin target/release/estatewatch] [--viewers 20] [--seconds 60]
"""

import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime

PASSWORD = "measure-board-password"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15 of the whole line (1-based).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rfc3339(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def login(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    body = f"user=watcher&password={PASSWORD}"
    c.request("POST", "/login", body, {"Content-Type": "application/x-www-form-urlencoded"})
    r = c.getresponse()
    r.read()
    for k, v in r.getheaders():
        if k.lower() == "set-cookie" and v.startswith("ew_session="):
            return v.split(";", 1)[0]
    sys.exit(f"login failed: HTTP {r.status}")


class Viewer(threading.Thread):
    """One open board stream, recording (receipt, event) pairs."""

    def __init__(self, port, cookie):
        super().__init__(daemon=True)
        self.port, self.cookie = port, cookie
        self.received = []
        self.connected = threading.Event()
        self.stop = False

    def run(self):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        c.request("GET", "/board/events", headers={"Cookie": self.cookie, "Accept": "text/event-stream"})
        r = c.getresponse()
        if r.status != 200:
            print(f"stream refused: HTTP {r.status}", file=sys.stderr)
            return
        self.connected.set()
        event = None
        while not self.stop:
            line = r.fp.readline()
            if not line:
                return
            line = line.decode().rstrip("\n")
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "incident":
                now = time.time()
                msg = json.loads(line[5:])
                self.received.append((now, msg))
            elif line == "":
                event = None


class Feeder(threading.Thread):
    """Publishes readings alternately above and below the threshold."""

    def __init__(self, port, rate):
        super().__init__(daemon=True)
        self.port, self.rate = port, rate
        self.stop = False

    def run(self):
        hot = True
        while not self.stop:
            value = 70.0 if hot else 50.0
            subprocess.run(
                ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.port), "-q", "1",
                 "-t", "measure/shed-temp", "-m", json.dumps({"temperature": value})],
                check=False,
            )
            hot = not hot
            time.sleep(1.0 / self.rate)


def percentile(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * (len(xs) - 1)))))
    return xs[k]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    default_bin = os.path.join(root, "target/release/estatewatch")
    if not os.path.exists(default_bin):
        default_bin = os.path.join(root, "target/debug/estatewatch")
    ap.add_argument("--bin", default=default_bin)
    ap.add_argument("--viewers", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--rate", type=float, default=1.0, help="sensor readings per second")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="measure-board-")
    procs = []
    try:
        mport, hport = free_port(), free_port()
        with open(f"{tmp}/mosquitto.conf", "w") as f:
            f.write(f"listener {mport} 127.0.0.1\nallow_anonymous true\n")
        procs.append(subprocess.Popen(["mosquitto", "-c", f"{tmp}/mosquitto.conf"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        if not wait_port(mport, 10):
            sys.exit("mosquitto did not start")
        subprocess.run([args.bin, "user", "add", "watcher", "--role", "viewer",
                        "--users-file", f"{tmp}/users.toml"],
                       input=PASSWORD + "\n", text=True, check=True, capture_output=True)
        with open(f"{tmp}/estatewatch.toml", "w") as f:
            f.write(f"""[site]
id = "measure"
timezone = "Asia/Shanghai"
[gateway]
id = "gw"
[mqtt]
host = "127.0.0.1"
port = {mport}
[outbox]
path = "{tmp}/outbox.db"
[evidence]
dir = "{tmp}/evidence"
[health]
listen = "127.0.0.1:{hport}"
[console]
users_file = "{tmp}/users.toml"
[[sensors]]
name = "shed-temp"
topic = "measure/shed-temp"
value = "temperature"
unit = "°C"
[[sensors.rules]]
type = "threshold"
above = 60.0
hysteresis = 5.0
severity = "major"
""")
        log = open(f"{tmp}/daemon.log", "w")
        daemon = subprocess.Popen([args.bin, "run", "--config", f"{tmp}/estatewatch.toml"],
                                  stdout=subprocess.DEVNULL, stderr=log,
                                  env={**os.environ, "ESTATEWATCH_LOG": "warn", "NO_COLOR": "1"})
        procs.append(daemon)
        if not wait_port(hport, 30):
            sys.exit(f"the daemon's console did not start; log: {tmp}/daemon.log")
        cookie = login(hport)
        feeder = Feeder(mport, args.rate)
        feeder.start()
        time.sleep(3)  # the sensor input subscribes

        c0 = cpu_seconds(daemon.pid)
        time.sleep(args.seconds)
        c1 = cpu_seconds(daemon.pid)
        idle = (c1 - c0) / args.seconds * 100

        viewers = [Viewer(hport, cookie) for _ in range(args.viewers)]
        for v in viewers:
            v.start()
        for v in viewers:
            if not v.connected.wait(10):
                sys.exit("a board stream did not open")
        c0 = cpu_seconds(daemon.pid)
        time.sleep(args.seconds)
        c1 = cpu_seconds(daemon.pid)
        watched = (c1 - c0) / args.seconds * 100
        feeder.stop = True

        lat = [t - rfc3339(m["last_at"]) for v in viewers for (t, m) in v.received]
        per_viewer = [len(v.received) for v in viewers]
        print(f"daemon CPU, no viewer:        {idle:6.2f} % of one core over {args.seconds:.0f} s")
        print(f"daemon CPU, {args.viewers:2d} board viewers: {watched:6.2f} % of one core over {args.seconds:.0f} s")
        print(f"cost of the viewers:          {watched - idle:6.2f} % of one core")
        print(f"incident events per viewer:   min {min(per_viewer)} max {max(per_viewer)}")
        if lat:
            ms = [x * 1000 for x in lat]
            print(f"alert -> board latency (ms):  p50 {percentile(ms, 50):.0f}  p95 {percentile(ms, 95):.0f}"
                  f"  max {max(ms):.0f}  over {len(ms)} receipts")
        else:
            print("no incident event reached the viewers; see the log in " + tmp)
            return 1
        return 0
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        if os.environ.get("KEEP") != "1":
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
