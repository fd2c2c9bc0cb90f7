#!/usr/bin/env bash
# build-guest.sh - build a guest (a template) of provider=qemu from Debian packages alone.
#
#	contrib/build-guest.sh [--recipe minimal|desktop] OUTDIR [AGENT]
#	                                      (AGENT: default bin/deskfs-agent)
#
# Recipe "minimal" (the default; make guest -> build/guest): today's guest,
# everything in the initramfs. OUTDIR receives:
#	vmlinux          the cloud kernel (linux-image-cloud-amd64), uncompressed from
#	                 its bzImage's lz4 payload: QEMU boots it directly as PVH
#	initramfs.cpio   uncompressed newc, self-contained: busybox-static as init
#	                 (contrib/guest/init) and every applet as a link (sh, cat, tty,
#	                 stty, sha256sum, sleep, ... for the session's programs), the
#	                 virtio-net and fw_cfg modules, Xvfb with its libraries and the
#	                 xkb data, deskfs-agent with its libraries; root's home /root
#	template.json    {name, kind: "recipe", memory_mb, description}
#	manifest.txt     what went in: package versions, file counts, sizes
#
# Recipe "desktop" (make template-desktop -> build/template-desktop): the same
# kernel; a small initramfs (busybox, init, the virtio-blk, ext4 and overlay
# modules) that mounts base.img read-only under an overlayfs with a tmpfs
# upper and switch_roots into it (contrib/guest/init, deskfs.root=vda);
# base.img, a raw ext4 image made with mkfs.ext4 -d (no mount) from a Debian
# bookworm root (mmdebstrap --variant=minbase, see contrib/templates/desktop.list)
# plus the agent and the same init. The list names a window manager (openbox),
# a terminal (xterm), a text editor (mousepad) and a browser, picked by
# measurement: see contrib/templates/desktop.list's header.
#
# The kernel and busybox-static are fetched with `apt-get download` and
# unpacked with `dpkg-deb -x` into a temporary directory: nothing is installed
# on the host. For minimal, Xvfb, xkbcomp, the xkb data and the agent's
# libraries are taken from the host's own Debian packages (xvfb,
# x11-xkb-utils, xkb-data and the build dependencies, which
# contrib/install-deps.sh installs; xev from x11-utils for the tests), with the
# libraries that ldd names. Nothing else of the host goes in: no /etc, /root,
# /home, keys or daemon state. For desktop, the root is made by mmdebstrap from
# the Debian archive (its .debs cached in $DESKFS_CACHE/debs too).
#
# Idempotent: a complete OUTDIR is left alone; a build happens in a temporary
# directory renamed into place at the end, so an interrupted build leaves
# nothing half-made. Downloaded .debs are kept in $DESKFS_CACHE/debs
# (default /var/cache/deskfs/debs). Of the OUTDIRs named guest-HASH (or
# template-T-HASH) beside this one, the three most recently used, and all used
# within a day, are kept.
set -euo pipefail

recipe=minimal
case "${1:-}" in
--recipe=*) recipe=${1#--recipe=}; shift ;;
--recipe) recipe=${2:?--recipe needs a name}; shift 2 ;;
esac
out=${1:?usage: build-guest.sh [--recipe minimal|desktop] OUTDIR [AGENT]}
top=$(cd "$(dirname "$0")/.." && pwd)
agent=${2:-$top/bin/deskfs-agent}
cache=${DESKFS_CACHE:-/var/cache/deskfs}
debs=$cache/debs
say() { echo "build-guest: $*" >&2; }

case "$recipe" in
minimal) ;;
desktop) list=$top/contrib/templates/$recipe.list ;;
*) say "unknown recipe '$recipe' (minimal | desktop)"; exit 2 ;;
esac
complete() {
	[ -s "$out/vmlinux" ] && [ -s "$out/initramfs.cpio" ] && [ -e "$out/manifest.txt" ] &&
		{ [ "$recipe" = minimal ] || { [ -s "$out/base.img" ] && [ -s "$out/template.json" ]; }; }
}
complete && exit 0
t0=$(date +%s)
[ -x "$agent" ] || { say "no agent at $agent (run make first)"; exit 1; }
tools="apt-get dpkg-deb lz4 ldd Xvfb xkbcomp xev"
[ "$recipe" = minimal ] || tools="$tools mmdebstrap mkfs.ext4"
for t in $tools; do
	command -v $t >/dev/null || { say "missing $t (contrib/install-deps.sh installs it)"; exit 1; }
done
[ -d /usr/share/X11/xkb ] || { say "missing /usr/share/X11/xkb (apt-get install xkb-data)"; exit 1; }

mkdir -p "$debs" "$(dirname "$out")"
work=$(mktemp -d "$(dirname "$out")/.guest-build.XXXXXX")
trap 'rm -rf "$work"' EXIT

# --- packages ------------------------------------------------------------
# The metapackage names the current kernel; resolve it to the real package.
kpkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
	awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
if [ -z "$kpkg" ]; then
	say "apt lists are empty or old: apt-get update"
	apt-get update -q >/dev/null
	kpkg=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
fi
[ -n "$kpkg" ] || { say "cannot resolve linux-image-cloud-amd64"; exit 1; }
fetch() { # fetch PKG: path of its .deb in the cache
	local f
	f=$(ls "$debs/$1"_*.deb 2>/dev/null | head -n1 || true)
	if [ -z "$f" ]; then
		say "downloading $1"
		# _apt cannot write into a root-only directory: download as root quietly
		(cd "$debs" && apt-get download -q "$1" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2 || true)
		f=$(ls "$debs/$1"_*.deb 2>/dev/null | head -n1 || true)
	fi
	[ -n "$f" ] || { say "cannot download $1"; exit 1; }
	echo "$f"
}
kdeb=$(fetch "$kpkg")
bdeb=$(fetch busybox-static)
dpkg-deb -x "$kdeb" "$work/k"
dpkg-deb -x "$bdeb" "$work/bb"

# --- kernel: the lz4 payload of the bzImage is an ELF vmlinux with a PVH note ---
vmlinuz=$(ls "$work"/k/boot/vmlinuz-* | head -n1)
kver=${vmlinuz##*/vmlinuz-}
off=$(grep -obUaP '\x02\x21\x4c\x18' "$vmlinuz" | head -n1 | cut -d: -f1)
[ -n "$off" ] || { say "no lz4 payload in $vmlinuz"; exit 1; }
# lz4 complains about the bzImage's trailer after the frame: the ELF is whole
tail -c +$((off + 1)) "$vmlinuz" | lz4 -dc >"$work/vmlinux" 2>/dev/null || true
head -c 4 "$work/vmlinux" | grep -q 'ELF' || { say "payload of $vmlinuz is not an ELF"; exit 1; }

# --- root filesystem (minimal: everything; desktop: the initramfs that mounts the base)
root=$work/root
mkdir -p "$root"/{usr/bin,usr/lib/x86_64-linux-gnu,usr/lib64,usr/share/X11,etc,proc,sys,dev,tmp,run,lib/modules,var/lib/xkb}
ln -s usr/bin "$root/bin"
ln -s usr/bin "$root/sbin"
ln -s usr/lib64 "$root/lib64"
# lib/ holds the modules; libraries resolve through lib/x86_64-linux-gnu
ln -s ../usr/lib/x86_64-linux-gnu "$root/lib/x86_64-linux-gnu"
cp "$work/bb/bin/busybox" "$root/usr/bin/busybox"
for a in $("$root/usr/bin/busybox" --list); do
	[ -e "$root/usr/bin/$a" ] || ln -s busybox "$root/usr/bin/$a"
done
install -m 0755 "$top/contrib/guest/init" "$root/init"

# Modules and their dependencies, in load order (from each module's depends=).
moddir=$(ls -d "$work"/k/lib/modules/*/kernel)
modpath() { find "$moddir" -name "$1.ko" | head -n1; }
loaded=" "
add_module() {
	local m=$1 f d
	case "$loaded" in *" $m "*) return ;; esac
	# built into the kernel (the cloud kernel has ext4): nothing to load
	grep -q "/$m.ko\$" "$moddir/../modules.builtin" 2>/dev/null && return
	f=$(modpath "$m")
	[ -n "$f" ] || { say "module $m missing from $kpkg"; exit 1; }
	for d in $(tr '\0' '\n' <"$f" | sed -n 's/^depends=//p' | tr ',' ' '); do
		add_module "$d"
	done
	cp "$f" "$root/lib/modules/$m.ko"
	echo "$m" >>"$root/etc/modules"
	loaded="$loaded$m "
}
for m in virtio_pci virtio_net qemu_fw_cfg virtio_console; do add_module "$m"; done
# desktop: the base disk (virtio-blk, ext4 read-only) under an overlay
[ "$recipe" = minimal ] || for m in virtio_blk ext4 overlay; do add_module "$m"; done
# loaded by init once the agent is up, off the boot's critical path: the
# power button, and the balloon's free page reporting
late_modules="$(modpath button) $(modpath evdev) $(modpath virtio_balloon)"
[ "$recipe" = minimal ] && cp $late_modules "$root/lib/modules/"

# Binaries with the libraries ldd names, at the same paths (/lib -> /usr/lib).
copy_file() { # copy_file HOSTPATH: into $root at its /usr path
	local p=$1
	case "$p" in /lib/* | /lib64/*) p=/usr$p ;; esac
	[ -e "$root$p" ] && return
	mkdir -p "$root$(dirname "$p")"
	cp -L "$1" "$root$p"
}
copy_with_libs() { # copy_with_libs HOSTBIN GUESTPATH
	install -D -m 0755 "$1" "$root$2"
	ldd "$1" | awk '/=> \// {print $3} /^\t\// {print $1}' | while read -r lib; do
		copy_file "$lib"
	done
}
# --- the keymap: Xvfb's default, compiled here once (see contrib/guest/xkbcomp) ---
# This is what Xvfb pipes into xkbcomp for its default rules (evdev, pc105,
# us). Should a later Xvfb word it differently, the stand-in notices and the
# guest compiles for itself: slower, never wrong.
cat >"$work/default-keymap.txt" <<'KEYMAP'
xkb_keymap "default" {
    xkb_keycodes             { include "evdev+aliases(qwerty)" };
    xkb_types                { include "complete" };
    xkb_compatibility        { include "complete" };
    xkb_symbols              { include "pc+us+inet(evdev)" };
    xkb_geometry             { include "pc(pc105)" };
};
KEYMAP
compile_keymap() { # compile_keymap XKBDIR -xkm|-xkb OUT (OUT absolute: xkbcomp chdirs)
	xkbcomp -w 0 "-R$1" "$2" - "$3" <"$work/default-keymap.txt" 2>/dev/null
}

if [ "$recipe" = minimal ]; then
copy_with_libs "$(command -v Xvfb)" /usr/bin/Xvfb
copy_with_libs "$(command -v xkbcomp)" /usr/bin/xkbcomp.real
install -m 0755 "$top/contrib/guest/xkbcomp" "$root/usr/bin/xkbcomp"
copy_with_libs "$agent" /usr/bin/deskfs-agent
# a test hook (deskfs.xev=1 on the kernel command line): an X client to type into
copy_with_libs "$(command -v xev)" /usr/bin/xev
mkdir -p "$root/usr/share/deskfs"
cp "$work/default-keymap.txt" "$root/usr/share/deskfs/"
compile_keymap /usr/share/X11/xkb -xkm "$root/usr/share/deskfs/default-keymap.xkm" ||
	{ say "xkbcomp cannot compile the default keymap"; exit 1; }
# Only the xkb files that keymap needs (0.3 MB of 4 MB: every MB of
# initramfs costs boot time), checked by compiling it again from them: the
# keymap, as text, must come out the same.
xkb=/usr/share/X11/xkb
mkdir -p "$root$xkb/rules" "$root$xkb/geometry" "$root$xkb/symbols"
cp -a "$xkb/keycodes" "$xkb/types" "$xkb/compat" "$root$xkb/"
cp -a "$xkb/rules/evdev" "$root$xkb/rules/"
cp -a "$xkb/geometry/pc" "$root$xkb/geometry/"
for f in pc us inet keypad altwin srvr_ctrl level3 level5 capslock ctrl compose group \
	shift nbsp kpdl eurosign terminate typo; do
	[ -e "$xkb/symbols/$f" ] && cp -a "$xkb/symbols/$f" "$root$xkb/symbols/"
done
compile_keymap "$xkb" -xkb "$work/full.xkb" && compile_keymap "$root$xkb" -xkb "$work/trim.xkb" &&
	cmp -s "$work/full.xkb" "$work/trim.xkb" ||
	{ say "the trimmed xkb data does not compile the default keymap: taking all of it"; rm -rf "$root$xkb"; cp -a "$xkb" "$root$xkb"; }
[ -e /usr/share/X11/XErrorDB ] && cp /usr/share/X11/XErrorDB "$root/usr/share/X11/"
mkdir -p "$root/root"
chmod 0700 "$root/root"
echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
echo "root:x:0:" >"$root/etc/group"
else
	. "$top/contrib/templates/base.sh" # builds $work/base.img from $list
fi

(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | "$root/usr/bin/busybox" cpio -o -H newc 2>/dev/null) \
	>"$work/initramfs.cpio"

{
	echo "kernel: $kpkg $(dpkg-deb -f "$kdeb" Version) ($kver)"
	echo "busybox-static: $(dpkg-deb -f "$bdeb" Version)"
	for p in xvfb x11-xkb-utils xkb-data; do
		echo "$p: $(dpkg-query -W -f='${Version}' $p 2>/dev/null || echo '?')"
	done
	[ "$recipe" = minimal ] || cat "$work/base-manifest.txt"
	echo "agent: $(sha256sum "$agent" | cut -c1-16)"
	echo "modules: $(tr '\n' ' ' <"$root/etc/modules")"
	echo "files: $(cd "$root" && find . | wc -l)"
	echo "vmlinux: $(stat -c %s "$work/vmlinux") bytes"
	echo "initramfs.cpio: $(stat -c %s "$work/initramfs.cpio") bytes"
	echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$work/manifest.txt"

mkdir "$work/out"
mv "$work/vmlinux" "$work/initramfs.cpio" "$work/manifest.txt" "$work/out/"
[ "$recipe" = minimal ] || mv "$work/base.img" "$work/out/"
case "$recipe" in
minimal) mem=256 desc="busybox, Xvfb and the agent, all in the initramfs" ;;
*) mem=$(sed -n 's/^# memory_mb: *//p' "$list") desc=$(sed -n 's/^# description: *//p' "$list") ;;
esac
printf '{"name": "%s", "kind": "recipe", "memory_mb": %d, "description": "%s"}\n' \
	"$recipe" "$mem" "$desc" >"$work/out/template.json"
chmod 0755 "$work/out"
# Another build may have won the race: keep whichever came first.
mv -T "$work/out" "$out" 2>/dev/null || complete
say "$recipe ready in $out ($(du -sh --apparent-size "$out" | cut -f1), $(($(date +%s) - t0)) s)"

# Builds keyed by a hash (the Makefile's guest-HASH) pile up as the agent
# changes: keep the three most recently used (make touches the one it uses),
# and any used within a day, which another work tree may still be booting.
case "$(basename "$out")" in
guest-* | template-*-*)
	prefix=$(basename "$out" | sed 's/-[0-9a-f]*$//')
	ls -1dt "$(dirname "$out")/$prefix"-* 2>/dev/null | grep -v "/$prefix-[a-z]*-" | tail -n +4 | while read -r old; do
		[ "$old" = "$out" ] || [ -z "$(find "$old" -maxdepth 0 -mmin +1440)" ] || rm -rf "$old"
	done
	;;
esac
