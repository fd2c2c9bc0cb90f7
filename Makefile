# deskfs - desktops as files.
#
#   make demo           install what is missing, build, mount, drive a session, clean up
#   make check          the same set-up, then every test (unit + end to end)
#   make template-desktop   the desktop template (build/template-desktop; make templates: all)
#   make bench          screenshots and input against scrot / import / xdotool
#   make fuzz           libFuzzer on the parsers, FUZZ_SECONDS (60) per target
#   make stress         the FUSE-surface fuzzer on an ASan mount, STRESS_SECONDS (600)
#   make SANITIZE=1 check   the same under ASan + UBSan
#   make install PREFIX=/usr/local DESTDIR=...   binaries, man pages, systemd units, guest recipe
#   make deb            a Debian package in build/deb/ (dpkg-buildpackage, lintian)

VERSION    := 0.1.0
PKG_CONFIG ?= pkg-config
CC         ?= cc
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
DATADIR    ?= $(PREFIX)/share/deskfs
SYSCONFDIR ?= /etc
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
CFLAGS     ?= -O2 -g

WARN := -std=c11 -Wall -Wextra -Wstrict-prototypes -Wmissing-declarations \
	-Wwrite-strings -Wno-unused-parameter -Wno-format-truncation
DEFS := -D_GNU_SOURCE -DDESKFS_VERSION=\"$(VERSION)\"

ifeq ($(SANITIZE),1)
override SANITIZE := address,undefined
endif
ifneq ($(SANITIZE),)
SANFLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
endif

# Flags of our own, kept apart from the user's CFLAGS/LDFLAGS.
ALL_CFLAGS  = $(WARN) $(DEFS) -MMD -MP -I. $(SANFLAGS) $(CPPFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(SANFLAGS) $(LDFLAGS)

DAEMON_PKGS := fuse3 libcurl libcjson libsystemd
AGENT_PKGS  := x11 xext xtst xdamage xfixes libmicrohttpd libcjson libpng libisal
VIEW_PKGS   := libmicrohttpd

DEPS_STAMP := .deps-installed

# Rebuild everything when the flags change (e.g. SANITIZE=1 after a plain build).
FLAGS_STAMP := build/.flags
$(shell mkdir -p build; echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)' | cmp -s - $(FLAGS_STAMP) || \
	echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)' > $(FLAGS_STAMP))

# common/ is linked into both binaries: neither FUSE nor X in it.
COMMON_SRC := $(wildcard common/*.c)
DAEMON_SRC := $(wildcard fs/*.c core/*.c providers/*.c)
AGENT_SRC  := $(wildcard agent/*.c)
# What unit tests and fuzzers link of the agent: the pure parts.
AGENT_LIB_SRC := $(COMMON_SRC) agent/keys.c
VIEW_SRC   := $(wildcard view/*.c)
VIEW_OBJ   := $(VIEW_SRC:%.c=build/%.o)
COMMON_OBJ := $(COMMON_SRC:%.c=build/%.o)
DAEMON_OBJ := $(DAEMON_SRC:%.c=build/%.o) $(COMMON_OBJ)
AGENT_OBJ  := $(AGENT_SRC:%.c=build/%.o) $(COMMON_OBJ)

UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=build/tests/%)
TOOL_SRC   := $(wildcard tests/tools/*.c)
TOOL_BIN   := $(TOOL_SRC:tests/tools/%.c=build/tests/%)
STRESS_BIN := build/tests/stress

BINS := bin/deskfs bin/deskfs-agent bin/deskfs-view

.PHONY: all deps demo check unit e2e bench install install-guest uninstall clean guest deb stress \
	templates template-desktop

all: $(DEPS_STAMP) $(BINS) $(UNIT_BIN) $(TOOL_BIN) $(STRESS_BIN)

# One idempotent script installs what is missing (apt-get); the stamp keeps
# a second make from asking dpkg again.
$(DEPS_STAMP): contrib/install-deps.sh
	@contrib/install-deps.sh
	@touch $@

deps:
	@contrib/install-deps.sh

bin/deskfs: $(DAEMON_OBJ) | $(DEPS_STAMP)
	@mkdir -p bin
	$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o,$^) $(shell $(PKG_CONFIG) --libs $(DAEMON_PKGS)) -lpthread

bin/deskfs-agent: $(AGENT_OBJ) | $(DEPS_STAMP)
	@mkdir -p bin
	$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o,$^) $(shell $(PKG_CONFIG) --libs $(AGENT_PKGS)) -lpthread -lm

# deskfs-view: the live web view, a pure client of the mount (libmicrohttpd)
bin/deskfs-view: $(VIEW_OBJ) | $(DEPS_STAMP)
	@mkdir -p bin
	$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o,$^) $(shell $(PKG_CONFIG) --libs $(VIEW_PKGS)) -lpthread
build/view/%.o: view/%.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(shell $(PKG_CONFIG) --cflags $(VIEW_PKGS)) -c -o $@ $<

$(DAEMON_OBJ) $(AGENT_OBJ) $(VIEW_OBJ) $(UNIT_BIN) $(TOOL_BIN) $(STRESS_BIN) $(BINS): $(FLAGS_STAMP)
build/fs/%.o: fs/%.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(shell $(PKG_CONFIG) --cflags $(DAEMON_PKGS)) -c -o $@ $<
build/core/%.o: core/%.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(shell $(PKG_CONFIG) --cflags $(DAEMON_PKGS)) -c -o $@ $<
build/providers/%.o: providers/%.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(shell $(PKG_CONFIG) --cflags $(DAEMON_PKGS)) -c -o $@ $<
build/common/%.o: common/%.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(shell $(PKG_CONFIG) --cflags libcjson) -c -o $@ $<
build/agent/%.o: agent/%.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(shell $(PKG_CONFIG) --cflags $(AGENT_PKGS)) -c -o $@ $<

# Unit tests link the pure parts they test.
build/tests/test_%: tests/unit/test_%.c $(AGENT_LIB_SRC:%.c=build/%.o) build/core/util.o | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(shell $(PKG_CONFIG) --cflags $(AGENT_PKGS) $(DAEMON_PKGS)) -o $@ $(filter %.c %.o,$^) \
		$(ALL_LDFLAGS) $(shell $(PKG_CONFIG) --libs $(AGENT_PKGS) $(DAEMON_PKGS)) -lpthread -lm

# test_qmp drives the QMP client against a fake QEMU; test_evq and test_fh
# link the event queues and the file-handle table as the daemon does.
build/tests/test_qmp: build/providers/qmp.o build/common/derr.o
build/tests/test_evq: build/core/evq.o
build/tests/test_fh: build/fs/fh.o
build/tests/test_inode: build/fs/inode.o
build/tests/test_ring: build/agent/ring.o
# test_sess: the session core and the settings table against a fake provider
# (its own prov_find: providers/ is not linked).
build/tests/test_sess: $(filter build/core/% build/common/%,$(DAEMON_OBJ))

build/tests/%: tests/tools/%.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(shell $(PKG_CONFIG) --cflags libpng x11) -o $@ $< \
		$(ALL_LDFLAGS) $(shell $(PKG_CONFIG) --libs libpng x11 xtst)

# The stress tool: the workers (stress.c) and the watcher (watch.c).
$(STRESS_BIN): tests/stress/stress.c tests/stress/watch.c tests/stress/stress.h | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $(filter %.c,$^) $(ALL_LDFLAGS) -lpthread

# The VM guest of provider=qemu (contrib/build-guest.sh: kernel + initramfs
# from Debian packages). Built only when missing, keyed by a hash of what goes
# into it, and cached outside the work tree so that a fresh clone (CI) reuses
# it; build/guest links to it, which is where the daemon looks.
GUEST_CACHE ?= $(if $(filter 0,$(shell id -u)),/var/cache/deskfs,$(HOME)/.cache/deskfs)
GUEST_HASH  := $(shell { cat contrib/build-guest.sh contrib/guest/* $(AGENT_SRC) \
	$(wildcard agent/*.h) $(COMMON_SRC) $(wildcard common/*.h); echo '$(CC) $(CFLAGS) $(SANITIZE)'; } 2>/dev/null | \
	sha256sum | cut -c1-16)
GUEST_DIR   := $(GUEST_CACHE)/guest-$(GUEST_HASH)
# Templates with a root filesystem (contrib/templates/T.list): the same
# kernel and agent, a base image; build/template-T links to the cached one.
TMPL_HASH   := $(shell { echo $(GUEST_HASH); cat contrib/templates/*; } 2>/dev/null | sha256sum | cut -c1-16)
TEMPLATES   := $(patsubst contrib/templates/%.list,%,$(wildcard contrib/templates/*.list))

$(TEMPLATES:%=template-%): template-%: bin/deskfs-agent
	@test -s $(GUEST_CACHE)/template-$*-$(TMPL_HASH)/base.img || \
		DESKFS_CACHE=$(GUEST_CACHE) contrib/build-guest.sh --recipe $* \
			$(GUEST_CACHE)/template-$*-$(TMPL_HASH) bin/deskfs-agent
	@touch $(GUEST_CACHE)/template-$*-$(TMPL_HASH)
	@ln -sfn $(GUEST_CACHE)/template-$*-$(TMPL_HASH) build/template-$*

templates: guest $(TEMPLATES:%=template-%)

guest: bin/deskfs-agent
	@test -s $(GUEST_DIR)/initramfs.cpio || \
		DESKFS_CACHE=$(GUEST_CACHE) contrib/build-guest.sh $(GUEST_DIR) bin/deskfs-agent
	@touch $(GUEST_DIR)
	@ln -sfn $(GUEST_DIR) build/guest

unit: all
	@tests/run.sh unit

e2e: all guest template-desktop
	@tests/run.sh e2e

check: all guest template-desktop
	@tests/run.sh all

demo: all guest
	@contrib/demo.sh

bench: all guest
	@contrib/install-deps.sh bench
	@tests/bench.sh
	@tests/bench-view.sh
	@tests/bench-core.sh
	@tests/bench-procs.sh
	@tests/bench-vm.sh

# make stress: tests/stress/run.sh on an ASan + UBSan build (it stays in
# bin/ afterwards, as after make SANITIZE=1 check): STRESS_SECONDS (600),
# STRESS_THREADS (8), and STRESS_QEMU=1 to add VM sessions. CI does not run it.
STRESS_SECONDS ?= 600
STRESS_THREADS ?= 8
.PHONY: stress
stress:
	@$(MAKE) --no-print-directory SANITIZE=1 all
	@STRESS_SECONDS=$(STRESS_SECONDS) STRESS_THREADS=$(STRESS_THREADS) tests/stress/run.sh

# make fuzz: libFuzzer targets (clang, ASan + UBSan) for the parsers, each run
# FUZZ_SECONDS on a copy of tests/fuzz/corpus; see tests/fuzz/README.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS  ?= -O1 -g
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_BIN     := build/fuzz/fuzz_actions build/fuzz/fuzz_ctl build/fuzz/fuzz_gctl
FUZZ_AOBJ    := $(AGENT_LIB_SRC:%.c=build/fuzz/obj/%.o)
FUZZ_DOBJ    := $(patsubst %.c,build/fuzz/obj/%.o,$(filter-out fs/main.c,$(DAEMON_SRC)) $(COMMON_SRC))
FUZZ_CC_ALL   = $(FUZZ_CC) $(WARN) -Wno-unknown-warning-option $(DEFS) -MMD -MP -I. $(FUZZ_SAN) $(FUZZ_CFLAGS)

.PHONY: fuzz
fuzz: $(DEPS_STAMP)
	@contrib/install-deps.sh fuzz
	@$(MAKE) --no-print-directory $(FUZZ_BIN)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh $(FUZZ_BIN)

build/fuzz/obj/agent/%.o: agent/%.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(FUZZ_CC_ALL) -fsanitize=fuzzer-no-link $(shell $(PKG_CONFIG) --cflags $(AGENT_PKGS)) -c -o $@ $<
build/fuzz/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(FUZZ_CC_ALL) -fsanitize=fuzzer-no-link $(shell $(PKG_CONFIG) --cflags $(DAEMON_PKGS)) -c -o $@ $<
build/fuzz/fuzz_actions: tests/fuzz/fuzz_actions.c $(FUZZ_AOBJ)
	$(FUZZ_CC_ALL) -fsanitize=fuzzer -o $@ $(filter %.c %.o,$^) $(shell $(PKG_CONFIG) --libs libcjson x11) -lm
build/fuzz/fuzz_ctl build/fuzz/fuzz_gctl: build/fuzz/%: tests/fuzz/%.c $(FUZZ_DOBJ)
	$(FUZZ_CC_ALL) -fsanitize=fuzzer -o $@ $(filter %.c %.o,$^) $(shell $(PKG_CONFIG) --libs $(DAEMON_PKGS)) -lpthread
-include $(FUZZ_AOBJ:.o=.d) $(FUZZ_DOBJ:.o=.d) $(FUZZ_BIN:=.d)

MANPAGES := $(wildcard man/*.1)
UNITS    := contrib/systemd/deskfs@.service
GUEST_RECIPE := contrib/build-guest.sh $(wildcard contrib/guest/*)

build/systemd/%: contrib/systemd/%.in
	@mkdir -p $(@D)
	sed 's|@BINDIR@|$(BINDIR)|g' $< > $@

install: $(BINS) $(UNITS:contrib/%=build/%)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(SYSTEMDUNITDIR) \
		$(DESTDIR)$(DATADIR)/contrib/guest $(DESTDIR)$(SYSCONFDIR)/default
	install -m 0755 $(BINS) $(DESTDIR)$(BINDIR)/
	install -m 0644 $(MANPAGES) $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(UNITS:contrib/%=build/%) $(DESTDIR)$(SYSTEMDUNITDIR)/
	install -m 0755 contrib/build-guest.sh $(DESTDIR)$(DATADIR)/contrib/
	install -m 0755 $(wildcard contrib/guest/*) $(DESTDIR)$(DATADIR)/contrib/guest/
	install -d $(DESTDIR)$(DATADIR)/contrib/templates
	install -m 0644 $(wildcard contrib/templates/*) $(DESTDIR)$(DATADIR)/contrib/templates/
	@# never overwrite a configured /etc/default/deskfs
	test -e $(DESTDIR)$(SYSCONFDIR)/default/deskfs || \
		install -m 0644 contrib/systemd/deskfs.default $(DESTDIR)$(SYSCONFDIR)/default/deskfs

install-guest: templates
	install -d $(DESTDIR)$(PREFIX)/share/deskfs/guest
	install -m 0644 build/guest/vmlinux build/guest/initramfs.cpio build/guest/manifest.txt \
		$(DESTDIR)$(PREFIX)/share/deskfs/guest/
	for t in $(TEMPLATES); do \
		install -d $(DESTDIR)$(PREFIX)/share/deskfs/templates/$$t && \
		install -m 0644 build/template-$$t/* $(DESTDIR)$(PREFIX)/share/deskfs/templates/$$t/ || exit 1; \
	done

uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(BINS)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MANPAGES)))
	rm -f $(addprefix $(DESTDIR)$(SYSTEMDUNITDIR)/,$(notdir $(UNITS)))
	rm -rf $(DESTDIR)$(DATADIR)/contrib

# make deb: a clean copy of the tree (what git tracks, plus new files not
# ignored) is built by dpkg-buildpackage in build/deb/, and checked by lintian.
DEB_DIR := build/deb
deb:
	@contrib/install-deps.sh
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/deskfs-$(VERSION)
	{ git ls-files -co --exclude-standard 2>/dev/null || \
	  find . -path ./build -prune -o -path ./bin -prune -o -path ./.git -prune -o -type f -print; } | \
		grep -v '^\.deps-installed$$' | tar -cf - -T - | tar -xf - -C $(DEB_DIR)/deskfs-$(VERSION)
	@# the package is built with Debian's flags only: nothing of this make (SANITIZE=...)
	cd $(DEB_DIR)/deskfs-$(VERSION) && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SANITIZE \
		dpkg-buildpackage -us -uc -b
	lintian --fail-on error $(DEB_DIR)/deskfs_$(VERSION)*.changes
	@ls -1 $(DEB_DIR)/*.deb

clean:
	rm -rf build bin

-include $(sort $(DAEMON_OBJ:.o=.d) $(AGENT_OBJ:.o=.d)) $(VIEW_OBJ:.o=.d) $(UNIT_BIN:=.d) $(TOOL_BIN:=.d) $(STRESS_BIN:=.d)
