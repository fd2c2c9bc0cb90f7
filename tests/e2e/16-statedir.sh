#!/usr/bin/env bash
# 16-statedir.sh - regression tests of issue 8, defects 3 and 8: the state
# directory is the daemon's alone.
#
#	bash tests/e2e/16-statedir.sh      (as root)
#
# - defect 3: a statedir= that already holds a user's files: start, make and
#   destroy a session, unmount: the files and the directory's mode are as
#   they were. A statedir that is a symlink, or a directory owned by another
#   uid, is refused (non-zero exit, a message naming the problem, nothing
#   mounted, the target untouched). The default of a non-root daemon
#   (/tmp/deskfs-UID/<hash>) pre-created by another user as a symlink to the
#   victim's files is refused, not followed.
# - defect 8: a second daemon on the same statedir exits non-zero at once,
#   saying the state directory is in use, and the first's sessions are
#   untouched.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/tools/regress.sh"
need_fuse
need_xvfb
need_cmd setpriv "apt-get install util-linux"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (a statedir owned by another uid, setpriv)"

# tree_sum DIR: names, modes, owners and contents of everything under DIR
tree_sum() { (cd "$1" && find . -printf '%p %m %u\n' | sort && find . -type f -exec sha1sum {} + | sort) | sha1sum; }
# user_sum DIR: the same, of the user's notes.txt and projects/ in DIR only (the daemon
# may leave things of its own beside them, such as a lock file)
user_sum() { (cd "$1" && find notes.txt projects -printf '%p %m %u\n' | sort && find notes.txt projects -type f -exec sha1sum {} + | sort) | sha1sum; }
mounted() { grep -q " $1 fuse" /proc/mounts; }

# ---- defect 3: a statedir with a user's files in it ----
mkdir -p "$TMP/state/projects"
echo "my notes" >"$TMP/state/notes.txt"
echo "the plan" >"$TMP/state/projects/plan.txt"
chmod 0755 "$TMP/state"
MODE0=$(stat -c %a "$TMP/state")
SUM0=$(user_sum "$TMP/state")
mount_deskfs -o width=320,height=200
check "defect 3: start-up leaves the user's notes.txt and projects/ alone" bash -c \
	"[ \"\$(cat '$STATE/notes.txt' 2>/dev/null)\" = 'my notes' ] && [ \"\$(cat '$STATE/projects/plan.txt' 2>/dev/null)\" = 'the plan' ]"
check "a session works in that statedir" bash -c "mkdir '$MNT/s1' && timeout -s KILL 10 cat '$MNT/s1/screenshot.png' | head -c 8 | grep -q PNG"
check "  and rmdir destroys it" tk rmdir "$MNT/s1"
unmount_deskfs
check "defect 3: after a session and an unmount, the user's files are unchanged" \
	test "$(user_sum "$STATE" 2>/dev/null)" = "$SUM0"
check_eq "defect 3: and the directory's mode is unchanged" "$MODE0" "$(stat -c %a "$STATE" 2>/dev/null)"

# ---- defect 3: a statedir that is a symlink is refused ----
mkdir -p "$TMP/target" "$TMP/m2"
echo "keep me" >"$TMP/target/victim.txt"
ln -s "$TMP/target" "$TMP/link"
TSUM=$(tree_sum "$TMP/target")
another_daemon "$TMP/link" "$TMP/m2" -o width=320,height=200
echo "# statedir=symlink: $AD_RC: $(tr '\n' ' ' <"$AD_LOG")"
check "defect 3: a symlink statedir is refused (non-zero exit, nothing mounted)" \
	bash -c "[ '$AD_RC' != mounted ] && [ '$AD_RC' != running ] && [ '$AD_RC' != 0 ] && ! grep -q ' $TMP/m2 fuse' /proc/mounts"
check "  with a message naming the problem (a symbolic link)" grep -qiE 'symlink|symbolic link' "$AD_LOG"
check "  and the link's target is untouched" test "$(tree_sum "$TMP/target")" = "$TSUM"
drop_other_daemons

# ---- defect 3: a statedir owned by another uid is refused ----
mkdir -p "$TMP/theirs/sub"
echo "theirs" >"$TMP/theirs/sub/file"
chown -R 65534:65534 "$TMP/theirs"
chmod 0750 "$TMP/theirs"
TSUM=$(tree_sum "$TMP/theirs")
another_daemon "$TMP/theirs" "$TMP/m2" -o width=320,height=200
echo "# statedir owned by 65534: $AD_RC: $(tr '\n' ' ' <"$AD_LOG")"
check "defect 3: a statedir owned by another uid is refused (non-zero exit, nothing mounted)" \
	bash -c "[ '$AD_RC' != mounted ] && [ '$AD_RC' != running ] && [ '$AD_RC' != 0 ] && ! grep -q ' $TMP/m2 fuse' /proc/mounts"
check "  with a message naming the problem (its owner)" grep -qiE 'own|uid' "$AD_LOG"
check "  and it is untouched (contents and mode)" test "$(tree_sum "$TMP/theirs")" = "$TSUM"
drop_other_daemons

# ---- defect 3: a non-root daemon's default statedir, pre-created by another user ----
# As uid 65534 with no XDG_RUNTIME_DIR, deskfs uses /tmp/deskfs-65534/<hash of the
# mountpoint>. uid 65533 makes /tmp/deskfs-65534 first (mode 0777, so the link in it
# is followed even under fs.protected_symlinks) with <hash> a symlink to a directory
# of 65534's own files. The daemon does its state work before it opens /dev/fuse, so
# this runs even though 65534 may not mount here: it must refuse, not follow.
VD=/tmp/deskfs-65534
if [ -e "$VD" ] || [ -L "$VD" ]; then
	echo "# $VD exists already (not ours): skipping the non-root default statedir check"
else
	mkdir -p "$TMP/u/mnt" "$TMP/u/victim/work"
	echo "65534's own file" >"$TMP/u/victim/work/report.txt"
	echo "65534's notes" >"$TMP/u/victim/notes.txt"
	chown -R 65534:65534 "$TMP/u"
	chmod 0755 "$TMP" "$TMP/u"
	H=$($PY -c "
import os,sys
h=5381
for c in os.path.realpath(sys.argv[1]).encode(): h=(h*33+c)&0xffffffffffffffff
print('%08x' % (h & 0xffffffff))" "$TMP/u/mnt")
	as_c mkdir -m 0777 "$VD"
	as_c chmod 0777 "$VD"
	as_c ln -s "$TMP/u/victim" "$VD/$H"
	local_cleanup() { rm -rf "$VD"; } # the tree holds a symlink: rm -rf does not follow it
	VSUM=$(tree_sum "$TMP/u/victim")
	bounded 10 "$TMP/u/run" "${AS_B[@]}" env -u XDG_RUNTIME_DIR "$BIN/deskfs" -f -o width=320,height=200 "$TMP/u/mnt"
	echo "# non-root default statedir through another user's link: rc $RC: $(tr '\n' ' ' <"$TMP/u/run.err")"
	check "defect 3: the non-root daemon does not follow another user's link (victim untouched)" \
		test "$(tree_sum "$TMP/u/victim")" = "$VSUM"
	check "  it refuses, saying why (a link, or a directory it does not own)" bash -c \
		"[ '$RC' != 0 ] && grep -qiE 'symlink|symbolic link|own' '$TMP/u/run.err'"
	mounted "$TMP/u/mnt" && fusermount3 -u "$TMP/u/mnt"
	chmod 0700 "$TMP"
fi

# ---- defect 8: one daemon per state directory ----
rm -rf "$TMP/state"
mount_deskfs -o width=320,height=200
tk mkdir "$MNT/a1"
check "the first daemon's session is ready" until_ok 10 status_is a1 ready
PIDS0=$(jget "$MNT/a1/session.json" "' '.join(str(v) for v in j['pids'].values())")
SHOT0=$(timeout -s KILL 5 cat "$MNT/a1/screenshot.png" | sha1sum)
t0=$(now_ms)
another_daemon "$STATE" "$TMP/m3" -o width=320,height=200
echo "# a second daemon on the same statedir: $AD_RC after $(($(now_ms) - t0)) ms: $(tr '\n' ' ' <"$AD_LOG")"
check "defect 8: a second daemon on the same statedir exits non-zero, nothing mounted" \
	bash -c "[ '$AD_RC' != mounted ] && [ '$AD_RC' != running ] && [ '$AD_RC' != 0 ] && ! grep -q ' $TMP/m3 fuse' /proc/mounts"
check "  at once (within 5 s)" test "$(($(now_ms) - t0))" -lt 5000
check "  saying the state directory is in use" grep -qiE 'in use|lock|already' "$AD_LOG"
check "  it did not adopt the first's session" bash -c "! ls '$TMP/m3' 2>/dev/null | grep -q a1"
drop_other_daemons # kill -9: a clean unmount of a second daemon that adopted a1 would destroy it
check "the first's session is untouched: ready" status_is a1 ready
check_eq "  the same processes" "$PIDS0" "$(jget "$MNT/a1/session.json" "' '.join(str(v) for v in j['pids'].values())")"
check "  and they run" all_alive $PIDS0
check "  its record is still there" test -s "$STATE/a1/record.json"
check "  its screen is the same, and it takes actions" bash -c \
	"[ \"\$(timeout -s KILL 5 cat '$MNT/a1/screenshot.png' | sha1sum)\" = '$SHOT0' ] && echo 'click 1 1' > '$MNT/a1/actions'"
tk rmdir "$MNT/a1"
finish
