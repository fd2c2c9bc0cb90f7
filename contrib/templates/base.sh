# base.sh - the read-only root of a base-image template (sourced by
# contrib/build-guest.sh for every recipe but minimal; not run on its own).
#
# In:  $list (contrib/templates/RECIPE.list: packages, one a line), $work,
#      $root (the initramfs root, already holding busybox, init and modules),
#      $agent, $top, $debs, $late_modules, copy_with_libs, compile_keymap, say.
# Out: $work/base.img (raw ext4, no journal: it is only ever mounted
#      read-only), $work/base-manifest.txt. The qemu provider attaches
#      base.img read-only and says deskfs.root=vda on the kernel command line.
#
# The root comes from mmdebstrap --variant=minbase (apt resolves the list's
# dependencies, recommends left out; documentation, man pages and locales
# are not unpacked), its .debs cached in $debs/base so a rebuild downloads
# nothing. Then the agent with the libraries ldd names (from the host's own
# Debian packages: the same release), the same init as stage two, the late
# modules, and the precompiled keymap with the xkbcomp stand-in.
# $DESKFS_TEMPLATE_EXTRA adds packages (used to measure browsers side by side).

broot=$work/base
pkgs=$(sed -e 's/#.*//' "$list" | tr -s ' \t\n' '\n' | grep -v '^$' | tr '\n' ',')
pkgs=$pkgs$(echo "${DESKFS_TEMPLATE_EXTRA:-}" | tr -s ' ' ',')
mkdir -p "$debs/base"
say "mmdebstrap bookworm: ${pkgs%,}"
mmdebstrap --quiet --variant=minbase --mode=root --skip=download/empty \
	--include="${pkgs%,}" \
	--aptopt='APT::Install-Recommends "false"' --aptopt='Acquire::Languages "none"' \
	--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
	--dpkgopt='path-include=/usr/share/doc/*/copyright' \
	--dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
	--dpkgopt='path-exclude=/usr/share/info/*' \
	--setup-hook="mkdir -p \"\$1/var/cache/apt/archives\" && find '$debs/base' -name '*.deb' -exec cp {} \"\$1/var/cache/apt/archives/\" \\;" \
	--customize-hook="find \"\$1/var/cache/apt/archives\" -name '*.deb' -exec cp -n {} '$debs/base/' \\;" \
	bookworm "$broot" >&2

# The agent and its libraries (same paths: the root is merged-/usr like the host).
iroot=$root
root=$broot
copy_with_libs "$agent" /usr/bin/deskfs-agent
root=$iroot
mkdir -p "$broot/usr/lib/deskfs"
install -m 0755 "$top/contrib/guest/init" "$broot/usr/lib/deskfs/init"
cp $late_modules "$broot/usr/lib/deskfs/"
# the window manager, started by init once Xvfb is up; it touches $1 (init's
# SESSREADY) once it manages windows, and init says agent_ready only then
cat >"$broot/usr/lib/deskfs/session" <<'SESSION'
#!/bin/sh
# the desktop's session: the window manager (started by init with DISPLAY set)
exec openbox --startup "touch $1"
SESSION
chmod 0755 "$broot/usr/lib/deskfs/session"
# xkbcomp: the stand-in hands over the keymap compiled here (contrib/guest/xkbcomp)
mkdir -p "$broot/usr/share/deskfs"
cp "$work/default-keymap.txt" "$broot/usr/share/deskfs/"
compile_keymap "$broot/usr/share/X11/xkb" -xkm "$broot/usr/share/deskfs/default-keymap.xkm" ||
	{ say "xkbcomp cannot compile the default keymap"; exit 1; }
mv "$broot/usr/bin/xkbcomp" "$broot/usr/bin/xkbcomp.real"
install -m 0755 "$top/contrib/guest/xkbcomp" "$broot/usr/bin/xkbcomp"
chmod 0700 "$broot/root"
# fontconfig's caches, built here: a guest that builds them itself keeps its
# window manager busy ~30 s under TCG (windows stayed unmapped meanwhile). A
# cache is valid while its directory's mtime matches to the nanosecond, and
# mkfs.ext4 -d keeps whole seconds only: the font directories lose theirs first.
if [ -x "$broot/usr/bin/fc-cache" ]; then
	find "$broot/usr/share/fonts" "$broot/usr/local/share/fonts" -type d 2>/dev/null |
		while read -r d; do touch -d "@$(stat -c %Y "$d")" "$d"; done
	chroot "$broot" /usr/bin/fc-cache -s -f >&2
fi
# nothing of the build stays: apt's lists and caches, machine-id, logs
rm -rf "$broot"/var/lib/apt/lists/* "$broot"/var/cache/apt/* "$broot"/var/log/* \
	"$broot"/etc/machine-id "$broot"/var/cache/debconf/*-old
: >"$broot/etc/machine-id"

# ext4 without a journal, sized to the tree plus 10% and 32 MB
mb=$(du -sm "$broot" | cut -f1)
mkfs.ext4 -q -F -L deskfs-base -O ^has_journal -m 0 -d "$broot" \
	"$work/base.img" "$((mb + mb / 10 + 32))M"
{
	echo "base.img: $(stat -c %s "$work/base.img") bytes, $(find "$broot" | wc -l) files"
	echo "base packages: $(dpkg-query --admindir="$broot/var/lib/dpkg" -W -f='${Package}=${Version} ' | fold -s -w 100)"
} >"$work/base-manifest.txt"
