#!/usr/bin/env python3
"""Key press to next frame, measured on the release binary in a pseudo-terminal.

The console runs in a pty of the given size while `--workers` `cutover run` processes copy
batches on the same workspace. Each sample writes `?` (the help overlay) to the pty and times
until the overlay's title has been written back; then Esc closes it and the output is drained
for a random pause, so samples do not line up with the poll. Only the console's own bytes are
read, so a redraw caused by a poll does not count as the answer to a key.

    python3 bench/keys.py --bin target/release/cutover --config /tmp/k100/cutover.toml \
        --workers 4 --presses 300

Prints p50, p95, p99 and max in ms, how many customers the workers migrated meanwhile, and
the console's peak resident memory. Needs nothing outside Python's standard library.
"""

import argparse
import fcntl
import json
import os
import random
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time

# Spaces removed: a diffed frame skips cells that already hold a blank, moving the cursor instead.
MARKER = b"Keys(anykeycloses)"
CSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]")


def migrated(binary, config):
    out = subprocess.run(
        [binary, "--config", config, "status", "--json"],
        capture_output=True,
        check=True,
    ).stdout
    counts = json.loads(out)["customers"]
    return counts.get("migrated", 0)


def drain(fd, seconds):
    end = time.monotonic() + seconds
    got = b""
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return got
        r, _, _ = select.select([fd], [], [], left)
        if r:
            try:
                got += os.read(fd, 65536)
            except OSError:
                time.sleep(left)
                return got


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default="target/release/cutover")
    ap.add_argument("--config", required=True)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--presses", type=int, default=300)
    ap.add_argument("--cols", type=int, default=200)
    ap.add_argument("--rows", type=int, default=50)
    ap.add_argument("--nice", type=int, default=0, help="the workers' niceness (0: as the console)")
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds before a press counts as lost")
    a = ap.parse_args()
    binary = os.path.abspath(a.bin)

    before = migrated(binary, a.config)
    workers = [
        subprocess.Popen(
            ["nice", "-n", str(a.nice), binary, "--config", a.config, "run"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(a.workers)
    ]
    pid, fd = os.forkpty()
    if pid == 0:
        # The size is set before the console starts: a 0x0 terminal is not one it can draw.
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", a.rows, a.cols, 0, 0))
        os.environ["TERM"] = "xterm-256color"
        os.execv(binary, [binary, "--config", a.config])
    drain(fd, 4.0)

    samples = []
    lost = 0
    try:
        for _ in range(a.presses):
            drain(fd, random.uniform(0.05, 0.25))
            os.write(fd, b"?")
            t0 = time.monotonic()
            seen = b""
            while True:
                left = t0 + a.timeout - time.monotonic()
                if left <= 0:
                    lost += 1
                    print(
                        f"press {len(samples) + lost}: no frame within {a.timeout} s; it wrote "
                        f"{CSI.sub(b'', seen)[:300]!r}",
                        file=sys.stderr,
                    )
                    break
                r, _, _ = select.select([fd], [], [], left)
                if r:
                    seen += os.read(fd, 65536)
                    if MARKER in CSI.sub(b"", seen).replace(b" ", b""):
                        samples.append((time.monotonic() - t0) * 1000.0)
                        break
            os.write(fd, b"\x1b")
        hwm = 0
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM"):
                    hwm = int(line.split()[1]) // 1024
    finally:
        os.kill(pid, signal.SIGTERM)
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait()
        # Read while it exits: a console blocked writing to a full pty never gets there.
        while os.waitpid(pid, os.WNOHANG) == (0, 0):
            try:
                drain(fd, 0.1)
            except OSError:
                pass
    after = migrated(binary, a.config)

    samples.sort()

    def pct(p):
        return samples[min(len(samples) - 1, int(len(samples) * p))] if samples else float("nan")

    print(
        f"key to frame, {len(samples)} presses ({lost} lost), {a.workers} workers, "
        f"{a.cols}x{a.rows}: p50 {pct(0.50):.1f} ms, p95 {pct(0.95):.1f} ms, "
        f"p99 {pct(0.99):.1f} ms, max {samples[-1] if samples else float('nan'):.1f} ms; "
        f"workers migrated {after - before} customers meanwhile; console peak RSS {hwm} MB"
    )
    return 0 if samples and not lost else 1


if __name__ == "__main__":
    sys.exit(main())
