#!/usr/bin/env bash
# files/ of an xvfb session (its owner's home): POSIX operations with the
# errnos of where the files live, renames that open files and working
# directories follow, links, a guest that changes underneath, never walked
# by ls -lR/find/grep -r, and a 256 MB random file copied in and out whole
# (tests/procs.sh's files_suite and files_bigcopy, which 46-procs-qemu runs
# in a VM too). A screenshot taken during the copy stays quick.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/procs.sh"
need_fuse
need_xvfb

mount_deskfs -o width=320,height=200
mkdir "$MNT/s1" "$MNT/s2"
cat "$MNT/s1/screenshot.png" "$MNT/s2/screenshot.png" >/dev/null # both ready
check_eq "s1 is ready" ready "$(cat "$MNT/s1/status")"
check_eq "files/ is the owner's home, 0700" "0 700" "$(stat -c '%u %a' "$MNT/s1/files")"

files_suite "$MNT/s1" "$MNT/s2"

# a screenshot during a big copy stays within bounds of its quiet time
t0=$(ms_now); cat "$MNT/s1/screenshot.png" >/dev/null; quiet=$(($(ms_now) - t0))
head -c $((256 * 1048576)) /dev/urandom >"$TMP/copy.bin"
cp "$TMP/copy.bin" "$MNT/s1/files/copy.bin" &
cpid=$!
T_PIDS="$T_PIDS $cpid"
until_true 10 test -s "$MNT/s1/files/copy.bin"
t0=$(ms_now); cat "$MNT/s1/screenshot.png" >/dev/null; busy=$(($(ms_now) - t0))
wait "$cpid"
echo "# screenshot: ${quiet} ms quiet, ${busy} ms during a 256 MB copy"
check "a screenshot during a 256 MB copy takes less than 2 s" test "$busy" -lt 2000
rm -f "$TMP/copy.bin" "$MNT/s1/files/copy.bin"

files_bigcopy "$MNT/s1" 256
finish
