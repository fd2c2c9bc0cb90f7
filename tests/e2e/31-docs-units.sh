#!/usr/bin/env bash
# Man pages and systemd units: mandoc -Tlint is clean; every option --help
# names is in the man page; systemd-analyze verify is clean on the units;
# make install puts binaries, pages, units and the guest recipe in place.
. "$(dirname "$0")/../lib.sh"
need_cmd mandoc "apt-get install mandoc"
need_cmd systemd-analyze "apt-get install systemd"
need_cmd man "apt-get install man-db"

for page in "$TOP"/man/*.1; do
	out=$(mandoc -Tlint -W warning "$page" 2>&1)
	check "mandoc -Tlint: $(basename "$page") has no warnings or errors" test -z "$out"
	[ -z "$out" ] || echo "$out" | sed 's/^/# /'
done
check "the man pages are mdoc" bash -c "grep -l '^\.Dt ' '$TOP'/man/*.1 | wc -l | grep -qx \$(ls '$TOP'/man/*.1 | wc -l)"

# Names of the options a --help text lists: "-o NAME[=...][,NAME2=...]" words
# and "-x"/"--long" flags, from its own part (for deskfs, before libfuse's).
help_options() {
	python3 -c '
import re, sys
text = sys.stdin.read()
if "deskfs options:" in text:    # deskfs: its own section only, not libfuse'"'"'s
    text = text.split("deskfs options:", 1)[1].split("\n\n", 1)[0]
names = set()
for line in text.splitlines():
    for m in re.finditer(r"(?:^|\s)-o\s+(\S+)", line):
        for part in m.group(1).split(","):
            names.add(part.split("=")[0].split("|")[0])
    for m in re.finditer(r"(?:^|[\s\[,])(--?[a-zA-Z][a-zA-Z-]*)", line):
        if m.group(1) != "-o":
            names.add(m.group(1))
print("\n".join(sorted(n for n in names if n)))'
}
# in_page PAGE NAME: the rendered page has NAME as a word (an option or a key)
in_page() {
	MANWIDTH=200 mandoc -Tutf8 "$1" | col -b | grep -qE -- "(^|[^A-Za-z0-9_-])$(printf %s "$2" | sed 's/[.]/\\./g')([^A-Za-z0-9_]|$)"
}
check_help() { # BINARY PAGE
	local names n missing=""
	names=$("$BIN/$1" --help 2>&1 | help_options)
	[ "$(echo "$names" | wc -w)" -ge 3 ] || { not_ok "$1 --help lists options (got: $names)"; return; }
	for n in $names; do in_page "$TOP/man/$2" "$n" || missing="$missing $n"; done
	check_eq "every option of '$1 --help' ($(echo $names | wc -w)) is in $2" "" "${missing# }"
}
check_help deskfs deskfs.1
check_help deskfs-agent deskfs-agent.1
check_help deskfs-view deskfs-view.1
# and the other way round for deskfs's -o options, so a page cannot keep a removed one
check "deskfs.1 documents no -o option that --help does not know (but libfuse's)" bash -c "
	page=\$(MANWIDTH=200 mandoc -Tutf8 '$TOP/man/deskfs.1' | col -b | sed -n '/^OPTIONS/,/^THE TREE/p' |
		grep -oE -- '^ +-o [a-z_]+' | awk '{print \$2}' | sort -u)
	help=\$('$BIN/deskfs' --help 2>&1)
	for n in \$page; do grep -q -- \"\$n\" <<<\"\$help\" || { echo \"# not in --help: \$n\"; exit 1; }; done"

# ---- make install ----
inst=$TMP/inst
check "make install DESTDIR=... PREFIX=/usr/local" bash -c "make -s -C '$TOP' install DESTDIR='$inst' PREFIX=/usr/local >'$TMP/install.log' 2>&1"
for f in bin/deskfs bin/deskfs-agent bin/deskfs-view share/man/man1/deskfs.1 share/man/man1/deskfs-agent.1 \
	share/man/man1/deskfs-view.1 lib/systemd/system/deskfs@.service share/deskfs/contrib/build-guest.sh \
	share/deskfs/contrib/guest/init; do
	check "installs /usr/local/$f" test -s "$inst/usr/local/$f"
done
check "installs /etc/default/deskfs" test -s "$inst/etc/default/deskfs"
check "man finds the installed page" bash -c "MANPATH='$inst/usr/local/share/man' man -w deskfs | grep -q 'man1/deskfs.1'"
check "the installed unit runs the installed binary" grep -qx 'ExecStart=/usr/local/bin/deskfs -f -o auto_unmount,${DESKFS_OPTIONS} deskfs %f' \
	"$inst/usr/local/lib/systemd/system/deskfs@.service"

# ---- systemd-analyze verify: the units as installed, with this tree's binaries ----
units=$TMP/units
mkdir -p "$units" "$TMP/man/man1"
cp "$TOP"/man/*.1 "$TMP/man/man1/"
sed "s|@BINDIR@|$BIN|g" "$TOP/contrib/systemd/deskfs@.service.in" >"$units/deskfs@.service"
cp "$TOP/contrib/systemd/mnt-desk.mount" "$units/"
for u in "deskfs@mnt-desk.service" mnt-desk.mount; do
	out=$(cd "$units" && MANPATH=$TMP/man SYSTEMD_LOG_LEVEL=notice systemd-analyze verify "$units/$u" 2>&1)
	rc=$?
	check "systemd-analyze verify $u is clean" test "$rc" -eq 0 -a -z "$out"
	[ -z "$out" ] || echo "$out" | sed 's/^/# /'
done
check "the service is Type=notify (deskfs sends READY=1)" grep -qx 'Type=notify' "$units/deskfs@.service"
check "and stops by unmounting" grep -qx 'ExecStop=/bin/fusermount3 -u %f' "$units/deskfs@.service"
sed 's|@BINDIR@|/nonexistent|g' "$TOP/contrib/systemd/deskfs@.service.in" >"$units/deskfs@.service"
check "verify would catch a unit whose binary is missing" bash -c "
	cd '$units' && ! MANPATH='$TMP/man' systemd-analyze verify '$units/deskfs@mnt-desk.service' >/dev/null 2>&1"
finish
