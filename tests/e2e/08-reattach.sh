#!/usr/bin/env bash
# Crash re-attach: kill -9 the daemon with 5 live sessions (4 on Xvfb, one
# a VM), start it again with the same command: all 5 are back with the same
# pixels and working actions, no process duplicated or orphaned. A session that died while the
# daemon was down comes back failed and says so. -o keep does the same
# across a clean unmount.
. "$(dirname "$0")/../lib.sh"
need_fuse
need_xvfb
need_cmd xsetroot "apt-get install x11-xserver-utils"

pids_all() { for s in "$@"; do python3 -c "import json; p=json.load(open('$MNT/$s/session.json'))['pids']; print(' '.join(str(v) for v in p.values()))"; done; }
# processes whose argv names this test's state directory (the agents)
ours() { pgrep -f -- "$STATE/" | wc -l; }

need_cmd qemu-system-x86_64 "apt-get install qemu-system-x86"
[ -s "$TOP/build/guest/vmlinux" ] || skip_all "no VM guest in build/guest (make guest)"

mount_deskfs -o width=320,height=200
echo "create r5 provider=qemu width=320 height=200" >"$MNT/.ctl" # boots meanwhile
S="r1 r2 r3 r4"
i=0
for s in $S; do
	i=$((i + 1))
	mkdir "$MNT/$s"
	echo "wait 1" >"$MNT/$s/actions"
	DISPLAY=$(sess_display "$MNT/$s") xsetroot -solid "#10$(printf %02x $((i * 40)))30"
	cat "$MNT/$s/screenshot.png" >"$TMP/$s.before.png"
done
S="r1 r2 r3 r4 r5"
check "the VM session is ready" wait_for ready bash -c "for i in \$(seq 1 12); do [ \"\$(cat '$MNT/r5/status')\" = ready ] && echo ready && break; sleep 5; done"
echo "click 1 1" >"$MNT/r5/actions"
cat "$MNT/r5/screenshot.png" >"$TMP/r5.before.png"
BEFORE=$(pids_all $S)
check_eq "5 sessions run 9 processes (4 Xvfb + 4 agents + 1 qemu)" "9" "$(echo $BEFORE | wc -w)"
OURS0=$(ours)

kill -9 "$DPID"
wait "$DPID" 2>/dev/null
DPID=""
check "after kill -9 of the daemon its sessions keep running" all_alive $BEFORE
fusermount3 -u "$MNT"
mount_deskfs -o width=320,height=200
check_eq "the same command brings all 5 back" "r1 r2 r3 r4 r5" "$(ls "$MNT" | tr '\n' ' ' | sed 's/ $//')"
for s in $S; do wait_for ready cat "$MNT/$s/status"; done
ready=0 same=0 acts=0
for s in $S; do
	[ "$(cat "$MNT/$s/status")" = ready ] && ready=$((ready + 1))
	cat "$MNT/$s/screenshot.png" >"$TMP/$s.after.png"
	cmp -s "$TMP/$s.before.png" "$TMP/$s.after.png" && same=$((same + 1))
	echo "click 3 3" >"$MNT/$s/actions" && acts=$((acts + 1))
done
check_eq "all 5 are ready" "5" "$ready"
check_eq "their screenshots show the same content as before the crash" "5" "$same"
check_eq "actions work on all 5" "5" "$acts"
check_eq "the very same processes serve them (none duplicated)" "$(echo $BEFORE | tr ' ' '\n' | sort | tr '\n' ' ')" "$(pids_all $S | tr ' ' '\n' | sort | tr '\n' ' ')"
check_eq "and no other process of ours runs" "$OURS0" "$(ours)"

# a session whose display died while the daemon was down
XV=$(python3 -c "import json; print(json.load(open('$MNT/r3/session.json'))['pids']['xvfb'])")
AG=$(python3 -c "import json; print(json.load(open('$MNT/r3/session.json'))['pids']['agent'])")
kill -9 "$DPID"
wait "$DPID" 2>/dev/null
DPID=""
kill -9 "$XV"
fusermount3 -u "$MNT"
mount_deskfs -o width=320,height=200
check_eq "a session that died while the daemon was down is listed" "r1 r2 r3 r4 r5" "$(ls "$MNT" | tr '\n' ' ' | sed 's/ $//')"
check_eq "as failed" "failed" "$(cat "$MNT/r3/status")"
check "its error says what happened" python3 -c "
import json,sys; e=json.load(open('$MNT/r3/error')); print(e['message'], file=sys.stderr)
sys.exit(0 if e['code']=='lost_while_down' and 'xvfb' in e['message'] else 1)"
check "its surviving agent was stopped (no orphan)" all_dead "$AG"
for s in r1 r2 r4 r5; do wait_for ready cat "$MNT/$s/status"; done
check "restart gives it a fresh desktop" bash -c "echo restart > '$MNT/r3/ctl' && cat '$MNT/r3/screenshot.png' >/dev/null"
check_eq "the others are untouched (the VM too)" "ready ready ready ready" "$(for s in r1 r2 r4 r5; do cat "$MNT/$s/status"; done | tr '\n' ' ' | sed 's/ $//')"

# a clean unmount still destroys everything
ALL=$(pids_all $S)
unmount_deskfs
check "a clean unmount still destroys every session" all_dead $ALL
check_eq "and leaves no state behind" "" "$(ls "$STATE")"

# -o keep: sessions survive a clean unmount and come back
mount_deskfs -o width=320,height=200,keep
mkdir "$MNT/k"
echo "wait 1" >"$MNT/k/actions"
K=$(pids_all k)
unmount_deskfs
check_eq "-o keep: the daemon exits 0" "0" "$DMN_STATUS"
check "and leaves the session running" all_alive $K
mount_deskfs -o width=320,height=200
check "the next daemon re-attaches it" bash -c "[ \"\$(cat '$MNT/k/status')\" = ready ] && echo 'click 1 1' > '$MNT/k/actions'"
rmdir "$MNT/k"
check "rmdir then ends it" all_dead $K
unmount_deskfs

# -o auto_unmount: after a crash FUSE clears the dead mount by itself
mount_deskfs -o width=320,height=200,auto_unmount
mkdir "$MNT/u"
echo "wait 1" >"$MNT/u/actions"
kill -9 "$DPID"
wait "$DPID" 2>/dev/null
DPID=""
check "auto_unmount: the dead mount is gone without fusermount3" wait_for gone bash -c "grep -q ' $MNT fuse' /proc/mounts || echo gone"
mount_deskfs -o width=320,height=200,auto_unmount
check "and the same command re-attaches the session" bash -c "[ \"\$(cat '$MNT/u/status')\" = ready ] && echo 'click 1 1' > '$MNT/u/actions'"
finish
