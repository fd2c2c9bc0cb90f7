#!/usr/bin/env python3
"""dupclose.py - race FLUSH against WRITE on one open file (issue 8, defect 2).

    python3 dupclose.py PATH [SECONDS] [CHUNK_BYTES]

Opens PATH for writing once. One thread writes CHUNK_BYTES (default 200 KB)
of 'x' with no newline, over and over, while two threads loop
os.close(os.dup(fd)): each close of a duplicate sends FLUSH for the same
open file, and the kernel does not serialise FLUSH with WRITE. Write errors
(E2BIG past the line cap, EINVAL at a flush of the partial line, ...) are
expected and counted. Runs SECONDS (default 3), prints one line of counts,
exits 0 unless it could not open PATH. Whether the daemon survived is for
the caller to check.
"""
import os
import sys
import threading
import time


def main():
    path = sys.argv[1]
    secs = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
    chunk = b"x" * (int(sys.argv[3]) if len(sys.argv) > 3 else 200 * 1024)
    fd = os.open(path, os.O_WRONLY)
    stop = time.monotonic() + secs
    counts = {"writes": 0, "write_errors": 0, "dups": 0, "dup_errors": 0}
    errnos = set()
    lock = threading.Lock()

    def writer():
        while time.monotonic() < stop:
            try:
                os.write(fd, chunk)
                k = "writes"
            except OSError as e:
                errnos.add(e.errno)
                k = "write_errors"
                if e.errno in (107, 9):  # ENOTCONN, EBADF: the mount is gone
                    time.sleep(0.01)
            with lock:
                counts[k] += 1

    def duper():
        while time.monotonic() < stop:
            try:
                os.close(os.dup(fd))
                k = "dups"
            except OSError as e:
                errnos.add(e.errno)
                k = "dup_errors"
            with lock:
                counts[k] += 1

    threads = [threading.Thread(target=f) for f in (writer, duper, duper)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        os.close(fd)
    except OSError as e:
        errnos.add(e.errno)
    print("dupclose %s: %s errnos=%s" % (path, counts, sorted(errnos)))


if __name__ == "__main__":
    main()
