#!/usr/bin/env python3
"""latency.py - how long a command takes, N times in a row, each bounded.

    latency.py N BOUND_SECONDS CMD [ARG...]

Runs CMD N times, one after the other, and prints one line:
"p50 P99 max FAILS TIMEOUTS" in milliseconds (then counts). A run that
exceeds BOUND_SECONDS counts as BOUND_SECONDS*1000 ms and as a timeout: it is
SIGKILLed and never waited for (on a hung FUSE mount it may sit in D state).
After three timeouts the remaining runs count as timeouts without starting.
Exits 0.
"""
import subprocess
import sys
import time


def main():
    n, bound, cmd = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
    times, fails, timeouts = [], 0, 0
    for _ in range(n):
        if timeouts >= 3:
            times.append(bound * 1000)
            timeouts += 1
            continue
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while p.poll() is None and time.monotonic() - t0 < bound:
            time.sleep(0.0005)
        if p.returncode is None:
            p.kill()
            times.append(bound * 1000)
            timeouts += 1
            continue
        times.append((time.monotonic() - t0) * 1000)
        fails += p.returncode != 0
    times.sort()
    pick = lambda q: times[min(len(times) - 1, int(q * len(times)))]
    print("%.1f %.1f %.1f %d %d" % (pick(0.50), pick(0.99), times[-1], fails, timeouts))


if __name__ == "__main__":
    main()
