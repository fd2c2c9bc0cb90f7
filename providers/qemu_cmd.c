/*
 * qemu_cmd.c - provider "qemu", the static half: where the binary and the
 * guest are, KVM or TCG, and the exact command line (see qemu.h).
 *
 *	$ deskfs --dry-run -o provider=qemu,width=1024,height=768
 *	qemu: /usr/bin/qemu-system-x86_64 -name deskfs:NAME -M q35 ...
 *	kernel: console=ttyS0 quiet ... deskfs.size=1024x768 deskfs.port=7070
 *	accel: tcg
 *	...
 *
 * The guest is the session's template's (setting template=, core/tmpl.h:
 * "" is minimal, contrib/build-guest.sh's guest, looked for in $DESKFS_GUEST,
 * next to the daemon (BINDIR/../build/guest in a work tree, where make
 * links it; BINDIR/../share/deskfs/guest when installed), then in
 * /usr/local/share/deskfs/guest and /usr/share/deskfs/guest). A template
 * with a root filesystem adds its base.img as a read-only virtio disk and
 * deskfs.root=vda to the kernel command line: the guest's init mounts it
 * under an overlay with a tmpfs upper (contrib/guest/init), so the image is
 * never written and every session of a template shares it.
 *
 * Why the command line looks as it does (medians on a 2-core TCG host):
 * q35 with qboot and a PVH-booted uncompressed vmlinux is the fastest
 * firmware path (SeaBIOS costs ~0.3 s, a compressed bzImage ~3 s); the
 * initramfs is uncompressed for the same reason. -nodefaults leaves only
 * what is asked for: a VGA framebuffer (QMP screendump), virtio-tablet (an
 * absolute pointer; the PS/2 keyboard is q35's own), virtio-net with
 * user-mode networking restricted to the hostfwd of the agent's port (the
 * guest reaches neither the host nor the outside; net=user lifts that, and
 * forwards are added live: qemu_net.c), and the serial console
 * in a file. No balloon: its free page reporting (~20 MB less RSS) punches
 * holes in the memory *file* on QEMU 7.2 even where it is mapped privately
 * (fixed in 8.1), so a fork would write its checkpoint's ram under every
 * other fork (tests/e2e/63-forks.sh caught it); and a device whose features
 * the guest negotiated cannot be left out of a fork alone. The token
 * travels by fw_cfg from the session's 0600 token file, never in argv,
 * which every user can read in ps.
 * -sandbox denies QEMU new privileges and child processes.
 *
 * $DESKFS_QEMU_APPEND adds words to the kernel command line, for debugging
 * and tests (deskfs.agent=0: a guest whose agent never starts;
 * deskfs.xev=1: an X client that prints its input events on the console).
 */
#include "common/exe.h"
#include "providers/prov.h"
#include "providers/qemu.h"
#include "providers/qemu_net.h"
#include "core/host.h"
#include "core/bulk.h"
#include "core/sess.h"
#include "core/tmpl.h"
#include "core/util.h"

#include <cjson/cJSON.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define QEMU_BIOS "/usr/share/qemu/qboot.rom"
#define KVM_PROBE_MS 2000

/* The guest of template name: its kernel, initramfs and base disk. A saved
 * template (a checkpoint) boots from the template it was saved from. */
static int find_guest(struct prov_qemu_assets *a, const char *name, char *why, size_t len)
{
	struct tmpl t;
	struct derr e = DERR_INIT;
	if (tmpl_find(name, &t, &e) < 0) {
		snprintf(why, len, "%s", e.msg);
		return -ENOENT;
	}
	snprintf(a->tmpl, sizeof a->tmpl, "%s", t.name);
	a->memory_mb = t.memory_mb;
	if (t.kind == TMPL_CHECKPOINT) {
		char info[PATH_MAX + 16], from[TMPL_NAME_MAX] = "";
		char *txt = NULL;
		size_t n;
		snprintf(info, sizeof info, "%s/info.json", t.dir);
		if (util_read_file(info, &txt, &n) == 0) {
			cJSON *j = cJSON_ParseWithLength(txt, n);
			const cJSON *it = cJSON_GetObjectItemCaseSensitive(j, "template");
			if (cJSON_IsString(it))
				snprintf(from, sizeof from, "%s", it->valuestring);
			cJSON_Delete(j);
			free(txt);
		}
		if (tmpl_find(from, &t, &e) < 0 || t.kind != TMPL_RECIPE) {
			snprintf(why, len, "saved template '%s' was made from template '%s': %s",
				 name, from[0] ? from : TMPL_DEFAULT,
				 e.msg[0] ? e.msg : "itself a saved one");
			return -ENOENT;
		}
	}
	snprintf(a->guest, sizeof a->guest, "%s", t.dir);
	snprintf(a->kernel, sizeof a->kernel, "%s/vmlinux", t.dir);
	snprintf(a->initrd, sizeof a->initrd, "%s/initramfs.cpio", t.dir);
	if (t.has_base)
		snprintf(a->base, sizeof a->base, "%s/base.img", t.dir);
	return 0;
}

int prov_qemu_find_template(struct prov_qemu_assets *a, const char *tmpl, char *why, size_t len)
{
	memset(a, 0, sizeof *a);
	if (exe_find("qemu-system-x86_64", a->qemu, sizeof a->qemu) < 0) {
		snprintf(why, len,
		         "qemu-system-x86_64 not found in PATH "
		         "(apt-get install qemu-system-x86)");
		return -ENOENT;
	}
	if (access(QEMU_BIOS, R_OK) == 0)
		snprintf(a->bios, sizeof a->bios, "%s", QEMU_BIOS);
	return find_guest(a, tmpl, why, len);
}

int prov_qemu_find_assets(struct prov_qemu_assets *a, char *why, size_t len)
{
	return prov_qemu_find_template(a, "", why, len);
}

int prov_qemu_sess_assets(struct sess *s, struct prov_qemu_assets *a, char *why, size_t len)
{
	struct sess_conf conf;
	host_conf(s, &conf);
	return prov_qemu_find_template(a, conf.template, why, len);
}

/* ---- KVM: only where a vCPU really runs ---- */

/* In a child: a VM with one page holding `hlt`, one vCPU in real mode. */
static int kvm_probe_child(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return 10;
	if (ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		return 11;
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return 12;
	unsigned char *mem =
	    mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 13;
	mem[0] = 0xf4; /* hlt */
	struct kvm_userspace_memory_region reg = {.slot = 0,
	                                          .guest_phys_addr = 0x1000,
	                                          .memory_size = 0x1000,
	                                          .userspace_addr = (uintptr_t)mem};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &reg) < 0)
		return 14;
	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	int sz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vcpu < 0 || sz <= 0)
		return 15;
	struct kvm_run *run = mmap(NULL, (size_t)sz, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	struct kvm_sregs sregs;
	if (run == MAP_FAILED || ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return 16;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	struct kvm_regs regs = {.rip = 0x1000, .rflags = 2};
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0 || ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return 17;
	if (ioctl(vcpu, KVM_RUN, 0) < 0)
		return 18;
	return run->exit_reason == KVM_EXIT_HLT ? 0 : 19;
}

static const char *kvm_probe_words(int code)
{
	switch (code) {
	case 0:
		return "a vCPU ran to its hlt";
	case 10:
		return "/dev/kvm cannot be opened read-write";
	case 11:
		return "KVM API version mismatch";
	case 12:
		return "KVM_CREATE_VM failed";
	case 14:
		return "KVM_SET_USER_MEMORY_REGION failed";
	case 15:
		return "KVM_CREATE_VCPU failed";
	case 18:
		return "KVM_RUN failed";
	case 19:
		return "the vCPU did not stop at hlt (emulation failure)";
	default:
		return "the probe failed";
	}
}

/* Run the probe in a child, so a vCPU that hangs cannot hang the daemon. */
static int kvm_probe(char *words, size_t len)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(kvm_probe_child());
	if (pid < 0) {
		snprintf(words, len, "cannot fork the probe: %s", strerror(errno));
		return -errno;
	}
	uint64_t end = util_mono_ms() + KVM_PROBE_MS;
	int st = 0;
	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (util_mono_ms() >= end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			snprintf(words, len, "the vCPU probe hung for %d ms", KVM_PROBE_MS);
			return -ETIMEDOUT;
		}
		util_sleep_ms(5);
	}
	int code = WIFEXITED(st) ? WEXITSTATUS(st) : 99;
	snprintf(words, len, "%s", kvm_probe_words(code));
	return code == 0 ? 0 : -EIO;
}

static int cpu_has_virt(void)
{
	char *txt = NULL;
	size_t n;
	int found = 0;
	if (util_read_file("/proc/cpuinfo", &txt, &n) < 0)
		return 0;
	for (char *l = txt; l && !found; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, "flags", 5) == 0) {
			char *end = strchr(l, '\n');
			if (end)
				*end = '\0';
			found = strstr(l, " vmx") || strstr(l, " svm");
			if (end)
				*end = '\n';
		}
	free(txt);
	return found;
}

void prov_qemu_accel(struct prov_qemu_accel *out)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static struct prov_qemu_accel cached; /* protected by lock */
	static int done;                      /* protected by lock */
	pthread_mutex_lock(&lock);
	if (!done) {
		char words[200];
		int virt = cpu_has_virt();
		if (access("/dev/kvm", F_OK) < 0) {
			snprintf(cached.why, sizeof cached.why, "tcg: there is no /dev/kvm");
		} else {
			int ran = kvm_probe(words, sizeof words) == 0;
			cached.kvm = virt && ran;
			if (cached.kvm)
				snprintf(cached.why, sizeof cached.why,
				         "kvm: the CPU has vmx/svm and a vCPU probe ran (%s)",
				         words);
			else if (!virt)
				snprintf(
				    cached.why, sizeof cached.why,
				    "tcg: /dev/kvm exists but /proc/cpuinfo shows no vmx/svm, so "
				    "this is a nested or paravirtualised KVM that cannot boot the "
				    "guest (vCPU probe: %s)",
				    words);
			else
				snprintf(cached.why, sizeof cached.why,
				         "tcg: the CPU has vmx/svm but the vCPU probe failed: %s",
				         words);
		}
		done = 1;
	}
	*out = cached;
	pthread_mutex_unlock(&lock);
}

int prov_qemu_boot_timeout_ms(const struct sess_conf *conf, const struct prov_qemu_accel *acc)
{
	if (conf->boot_timeout_ms > 0)
		return conf->boot_timeout_ms;
	return acc->kvm ? 20000 : 60000;
}

/* ---- the command line ---- */

static void add(struct prov_qemu_cmd *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The VM's memory in MiB: the session's, or its template's default, or 256. */
int prov_qemu_memory(const struct sess_conf *conf, const struct prov_qemu_assets *a)
{
	return conf->memory > 0 ? conf->memory : a->memory_mb > 0 ? a->memory_mb : 256;
}

/*
 * Guest RAM as a file (qemu_snap.c says which): a cold boot's is the
 * session's RAMFILE on tmpfs, share=on, so a checkpoint copies it instead of
 * streaming it; a fork's is a checkpoint's ram, share=off (MAP_PRIVATE):
 * every fork shares the pages it has not written, and the file is never
 * written. Part of the command line, which stays a pure function of conf.
 */
static void add_memory_backend(struct prov_qemu_cmd *c, int memory_mb,
                               const struct prov_qemu_paths *p)
{
	if (!p->ram[0])
		return;
	add(c, "-object");
	add(c, "memory-backend-file,id=ram,size=%dM,mem-path=%s,share=%s", memory_mb, p->ram,
	    p->ram_shared ? "on" : "off");
	add(c, "-machine");
	add(c, "memory-backend=ram");
}

/* A fork or restore: QEMU waits for its state (migrate-incoming over QMP). */
static void add_incoming(struct prov_qemu_cmd *c, const struct prov_qemu_paths *p)
{
	if (!p->incoming)
		return;
	add(c, "-incoming");
	add(c, "defer");
}

static void add(struct prov_qemu_cmd *c, const char *fmt, ...)
{
	if (c->argc >= QEMU_MAX_ARGS - 1)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->strs[c->argc], sizeof c->strs[0], fmt, ap);
	va_end(ap);
	c->argv[c->argc] = c->strs[c->argc];
	c->argv[++c->argc] = NULL;
}

/* A template's root disk: read-only (QEMU opens it O_RDONLY, every session
 * shares it); the guest's init puts an overlay with a tmpfs upper on it. */
static void add_base_drive(struct prov_qemu_cmd *c, const struct prov_qemu_assets *a)
{
	if (!a->base[0])
		return;
	add(c, "-drive");
	add(c, "file=%s,format=raw,if=none,id=base,readonly=on", a->base);
	add(c, "-device");
	add(c, "virtio-blk-pci,drive=base");
}

/* The bulk channel of files/ (core/bulk.c): a virtio-serial port named
 * deskfs.bulk whose host end is a unix socket QEMU listens on, bulk.sock in
 * the session's directory, beside its token (the daemon connects, and again
 * after QEMU is replaced; a pool's claim renames the directory, socket and all),
 * and a shared memory window, bulk.shm, for the bytes. The agent
 * finds both (agent/bulk.c). */
static void add_bulk_channel(struct prov_qemu_cmd *c, const struct prov_qemu_paths *p)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", p->token);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	add(c, "-chardev");
	add(c, "socket,id=bulk,path=%s/" BULK_SOCK_NAME ",server=on,wait=off", slash ? dir : ".");
	add(c, "-device");
	add(c, "virtio-serial-pci,id=bulkser,max_ports=2");
	add(c, "-device");
	add(c, "virtserialport,bus=bulkser.0,chardev=bulk,name=" QEMU_BULK_PORT);
	/* No shared window (ivshmem-plain, bulk.shm) for writes: its BAR is a
	 * shared RAM block, which x-ignore-shared leaves out of a checkpoint, and
	 * QEMU 7.2 refuses to load one whose BAR the guest has not mapped yet
	 * ("Mismatched GPAs for block .../bulkmem"): every restore and fork failed.
	 * Writes go by HTTP; reads cross the port. */
}

void prov_qemu_build_cmd(struct prov_qemu_cmd *c, const struct prov_qemu_assets *a,
                         const struct prov_qemu_accel *acc, const struct sess_conf *conf,
                         const struct prov_qemu_paths *p)
{
	const char *extra = getenv("DESKFS_QEMU_APPEND"); /* debugging and tests */
	memset(c, 0, sizeof *c);
	/* quiet: every console byte costs time under TCG; panic=-1 with
	 * -no-reboot turns a guest panic into a QEMU exit (a failed session);
	 * cryptomgr.notests (-0.25 s) skips the crypto self-tests and
	 * init_on_alloc=0 (-0.15 s) the zeroing of every allocation: hardening
	 * that buys little inside a single-purpose, RAM-only guest */
	snprintf(c->append, sizeof c->append,
	         "console=ttyS0 quiet panic=-1 cryptomgr.notests init_on_alloc=0 "
	         "deskfs.size=%dx%d deskfs.port=%d%s%s%s%s",
	         conf->width, conf->height, QEMU_GUEST_PORT, qemu_net_kernel_word(conf),
	         a->base[0] ? " deskfs.root=vda" : "", extra && *extra ? " " : "",
	         extra ? extra : "");
	add(c, "%s", a->qemu);
	add(c, "-name");
	add(c, "deskfs:%s", p->name);
	add(c, "-M");
	add(c, "q35");
	if (a->bios[0]) {
		add(c, "-bios");
		add(c, "%s", a->bios);
	}
	add(c, "-accel");
	if (acc->kvm) {
		add(c, "kvm");
		add(c, "-cpu");
		add(c, "host");
	} else {
		/* the translation cache is resident: 48 MB boots as fast as
		 * 64 (within noise) and keeps an idle VM's RSS under 300 MB */
		add(c, "tcg,tb-size=48");
	}
	add(c, "-m");
	add(c, "%d", prov_qemu_memory(conf, a));
	add_memory_backend(c, prov_qemu_memory(conf, a), p);
	add(c, "-smp");
	add(c, "%d", conf->cpus);
	add(c, "-nodefaults");
	add(c, "-no-user-config");
	add(c, "-no-reboot");
	add(c, "-display");
	add(c, "none");
	add(c, "-sandbox");
	add(c, "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
	add(c, "-kernel");
	add(c, "%s", a->kernel);
	add(c, "-initrd");
	add(c, "%s", a->initrd);
	add(c, "-append");
	add(c, "%s", c->append);
	/* QEMU is the client of the daemon's socket; reconnect=1 lets a
	 * restarted daemon take the monitor back */
	add(c, "-chardev");
	add(c, "socket,id=qmp,path=%s,reconnect=1", p->qmp);
	add(c, "-mon");
	add(c, "chardev=qmp,mode=control");
	add(c, "-chardev");
	add(c, "file,id=console,path=%s,append=on", p->console);
	add(c, "-serial");
	add(c, "chardev:console");
	char netdev[256]; /* qemu_net.c: restrict=on unless net=user, the agent's hostfwd */
	qemu_net_netdev(conf, QEMU_GUEST_PORT, netdev, sizeof netdev);
	add(c, "-netdev");
	add(c, "%s", netdev);
	add(c, "-device");
	add(c, "virtio-net-pci,netdev=net0,romfile=");
	add(c, "-device");
	add(c, "VGA");
	add(c, "-device");
	add(c, "virtio-tablet-pci");
	add(c, "-fw_cfg");
	add(c, "name=opt/deskfs/token,file=%s", p->token);
	add_incoming(c, p);
	add_base_drive(c, a);
	add_bulk_channel(c, p);
}

/* ---- --dry-run ---- */

static void print_quoted(FILE *out, const char *arg)
{
	if (arg[strcspn(arg, " \t'\"$\\;&|<>()*?")] == '\0' && *arg) {
		fputs(arg, out);
		return;
	}
	fputc('\'', out);
	for (const char *p = arg; *p; p++)
		if (*p == '\'')
			fputs("'\\''", out);
		else
			fputc(*p, out);
	fputc('\'', out);
}

int prov_qemu_dry_run(const struct sess_conf *conf, const char *statedir, FILE *out)
{
	struct prov_qemu_assets a;
	struct prov_qemu_accel acc;
	struct prov_qemu_paths p;
	struct prov_qemu_cmd *c = calloc(1, sizeof *c);
	char why[400] = "";
	if (!c)
		return -ENOMEM;
	int r = prov_qemu_find_template(&a, conf->template, why, sizeof why);
	if (r < 0 && !a.qemu[0])
		snprintf(a.qemu, sizeof a.qemu, "qemu-system-x86_64");
	if (r < 0 && !a.guest[0]) {
		snprintf(a.kernel, sizeof a.kernel, "GUEST/vmlinux");
		snprintf(a.initrd, sizeof a.initrd, "GUEST/initramfs.cpio");
	}
	prov_qemu_accel(&acc);
	snprintf(p.name, sizeof p.name, "NAME");
	snprintf(p.qmp, sizeof p.qmp, "%s/.qmp-ID.sock", statedir);
	snprintf(p.console, sizeof p.console, "%s/NAME/artifacts/console.log", statedir);
	snprintf(p.token, sizeof p.token, "%s/NAME/token", statedir);
	snprintf(p.ram, sizeof p.ram, "/dev/shm/deskfs-HASH/NAME.ram");
	p.ram_shared = 1;
	p.incoming = 0;
	prov_qemu_build_cmd(c, &a, &acc, conf, &p);

	fprintf(out, "qemu:");
	for (int i = 0; i < c->argc; i++) {
		fputc(' ', out);
		print_quoted(out, c->argv[i]);
	}
	fprintf(out, "\nkernel: %s\n", c->append);
	fprintf(out, "accel: %s\n", acc.kvm ? "kvm" : "tcg");
	fprintf(out, "accel_why: %s\n", acc.why);
	fprintf(out, "template: %s\n", conf->template[0] ? conf->template : TMPL_DEFAULT);
	fprintf(out, "guest: %s\n", a.guest[0] ? a.guest : "missing");
	fprintf(out, "base: %s\n", a.base[0] ? a.base : "none (everything in the initramfs)");
	fprintf(out, "agent: tcp 127.0.0.1:<ephemeral> -> guest port %d (hostfwd)\n",
	        QEMU_GUEST_PORT);
	fprintf(out, "boot_timeout: %d s\n", prov_qemu_boot_timeout_ms(conf, &acc) / 1000);
	if (r < 0)
		fprintf(out, "missing: %s\n", why);
	free(c);
	return r;
}
