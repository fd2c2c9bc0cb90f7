/*
 * watch.c - the main process of the stress tool (operations: stress.c).
 *
 *	build/tests/stress -m MNT -d DAEMON_PID [-s SECONDS] [-t THREADS] [-u UID]
 *	                   [-c CHILDREN_FILE] [-k STUCK_FILE] [-q] [-o OPS]
 *
 * -o "dup+close race,read": only those operations (names as in the report).
 *
 * Starts a worker process as root and one as UID (65534), THREADS/2
 * threads each, for SECONDS. Meanwhile a watcher thread, every 100 ms:
 * - notes every child of the daemon (pid, start time, name);
 * - kill -9s a random Xvfb or deskfs-agent child (-q: qemu too) every 1-4 s;
 * - times zombie children of the daemon (older than 5 s: they linger);
 * - times the workers' threads in D state (over 30 s: stuck);
 * - sees the daemon die, and then stops the run.
 * At the end the workers must end within 30 s, or they are killed, and
 * those the kernel holds are written to STUCK_FILE. The children seen go
 * to CHILDREN_FILE ("pid starttime comm"), for run.sh's leak check.
 */
#include "tests/stress/stress.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define D_LIMIT_MS 30000.0     /* a thread in D state longer than this is stuck */
#define ZOMBIE_LIMIT_MS 5000.0 /* a zombie child of the daemon older than this lingers */
#define DRAIN_MS 30000.0       /* the workers end within this after the stop */

static int dpid, kill_qemu;
static atomic_int watch_stop;
static pid_t workers[2];
static int worker_alive[2];

/* The watcher's findings; written by the watcher thread only, read by main
 * after joining it (and crashed_at, kills: also for progress lines). */
struct seen {
	int pid;
	unsigned long long start;
	char comm[32];
};
static struct seen seen[8192];
static int nseen;
struct age {
	int id, gen, reported;
	double since;
};
static struct age zombies[512], dthreads[1024];
static double max_zombie_ms, max_d_ms, crashed_at = -1, t0, ran_ms;
static int lingering, stuck_d;
static atomic_int kills[3]; /* Xvfb, deskfs-agent, qemu */

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* /proc/.../stat: state, parent, start time, name. 0 or -1. */
static int parse_stat(const char *path, char *state, int *ppid, unsigned long long *start,
		      char *comm, size_t clen)
{
	char buf[1024];
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	char *l = strchr(buf, '('), *r = strrchr(buf, ')');
	if (!l || !r || r[1] != ' ')
		return -1;
	if (comm)
		snprintf(comm, clen, "%.*s", (int)(r - l - 1), l + 1);
	return sscanf(r + 2, "%c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
		      state, ppid, start) == 3 ? 0 : -1;
}

/* How long has id been in the table (added now if new)? */
static struct age *track(struct age *a, int n, int id, double now, int gen)
{
	struct age *fr = NULL;
	for (int i = 0; i < n; i++) {
		if (a[i].id == id) {
			a[i].gen = gen;
			return &a[i];
		}
		if (!a[i].id && !fr)
			fr = &a[i];
	}
	if (fr)
		*fr = (struct age){.id = id, .gen = gen, .since = now};
	return fr;
}

static void untrack_old(struct age *a, int n, int gen)
{
	for (int i = 0; i < n; i++)
		if (a[i].id && a[i].gen != gen)
			a[i].id = 0;
}

static void remember(int pid, unsigned long long start, const char *comm)
{
	for (int i = nseen - 1; i >= 0; i--)
		if (seen[i].pid == pid && seen[i].start == start)
			return;
	if (nseen < (int)(sizeof seen / sizeof *seen)) {
		seen[nseen].pid = pid;
		seen[nseen].start = start;
		snprintf(seen[nseen].comm, sizeof seen[nseen].comm, "%s", comm);
		nseen++;
	}
}

static int kill_kind(const char *comm)
{
	if (strcmp(comm, "Xvfb") == 0)
		return 0;
	if (strcmp(comm, "deskfs-agent") == 0)
		return 1;
	if (kill_qemu && strncmp(comm, "qemu-system", 11) == 0)
		return 2;
	return -1;
}

/* One pass over /proc: the daemon's children (zombies timed, the live
 * ones that may be killed into cand[]). */
static int scan_children(double now, int gen, int *cand, int *cand_kind, int max)
{
	int n = 0;
	DIR *d = opendir("/proc");
	struct dirent *de;
	char path[300], comm[64], st;
	int ppid;
	unsigned long long start;
	while (d && (de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
		if (parse_stat(path, &st, &ppid, &start, comm, sizeof comm) < 0 || ppid != dpid)
			continue;
		int pid = atoi(de->d_name), k;
		remember(pid, start, comm);
		if (st == 'Z') {
			struct age *a = track(zombies, 512, pid, now, gen);
			double age = a ? now - a->since : 0;
			if (age > max_zombie_ms)
				max_zombie_ms = age;
			if (a && age > ZOMBIE_LIMIT_MS && !a->reported) {
				a->reported = 1;
				lingering++;
				printf("# zombie child of the daemon for over %.0f s: %d (%s)\n",
				       ZOMBIE_LIMIT_MS / 1000, pid, comm);
			}
		} else if ((k = kill_kind(comm)) >= 0 && n < max) {
			cand[n] = pid;
			cand_kind[n++] = k;
		}
	}
	if (d)
		closedir(d);
	untrack_old(zombies, 512, gen);
	return n;
}

/* The workers' threads: how long has each been in D state? */
static void scan_dstate(double now, int gen)
{
	char path[300], st, comm[64], wchan[128];
	int ppid;
	unsigned long long start;
	for (int w = 0; w < 2; w++) {
		if (!worker_alive[w])
			continue;
		snprintf(path, sizeof path, "/proc/%d/task", workers[w]);
		DIR *d = opendir(path);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			if (!isdigit((unsigned char)de->d_name[0]))
				continue;
			snprintf(path, sizeof path, "/proc/%d/task/%s/stat", workers[w], de->d_name);
			if (parse_stat(path, &st, &ppid, &start, comm, sizeof comm) < 0 || st != 'D')
				continue;
			struct age *a = track(dthreads, 1024, atoi(de->d_name), now, gen);
			double age = a ? now - a->since : 0;
			if (age > max_d_ms)
				max_d_ms = age;
			if (a && age > D_LIMIT_MS && !a->reported) {
				a->reported = 1;
				stuck_d++;
				snprintf(path, sizeof path, "/proc/%d/task/%s/wchan", workers[w], de->d_name);
				FILE *f = fopen(path, "r");
				if (!f || !fgets(wchan, sizeof wchan, f))
					snprintf(wchan, sizeof wchan, "?");
				if (f)
					fclose(f);
				printf("# worker thread %s (uid %s) in D state for over %.0f s, in %s\n",
				       de->d_name, w ? "other" : "root", D_LIMIT_MS / 1000, wchan);
			}
		}
		if (d)
			closedir(d);
	}
	untrack_old(dthreads, 1024, gen);
}

static int daemon_alive(void)
{
	char path[64], st;
	int ppid;
	unsigned long long start;
	snprintf(path, sizeof path, "/proc/%d/stat", dpid);
	return parse_stat(path, &st, &ppid, &start, NULL, 0) == 0 && st != 'Z' && st != 'X';
}

static void *watch_thread(void *arg)
{
	unsigned seed = (unsigned)time(NULL);
	double next_kill = now_ms() + 1000 + rand_r(&seed) % 3000;
	int cand[256], cand_kind[256];
	for (int gen = 1; !atomic_load(&watch_stop); gen++) {
		double now = now_ms();
		int n = scan_children(now, gen, cand, cand_kind, 256);
		scan_dstate(now, gen);
		if (crashed_at < 0 && !daemon_alive()) {
			crashed_at = (now - t0) / 1000;
			printf("# the daemon is gone, %.1f s into the run\n", crashed_at);
			atomic_store(&stress_sh->stop, 1);
		}
		if (now >= next_kill && n > 0 && !atomic_load(&stress_sh->stop)) {
			int i = rand_r(&seed) % n;
			if (kill(cand[i], SIGKILL) == 0)
				atomic_fetch_add(&kills[cand_kind[i]], 1);
			next_kill = now + 1000 + rand_r(&seed) % 3000;
		}
		usleep(100000);
	}
	return arg;
}

/* What the workers' threads that did not end are doing. */
static void show_threads(void)
{
	char path[300], buf[256], st, comm[64];
	int ppid;
	unsigned long long start;
	for (int w = 0; w < 2; w++) {
		if (!worker_alive[w])
			continue;
		snprintf(path, sizeof path, "/proc/%d/task", workers[w]);
		DIR *d = opendir(path);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			if (!isdigit((unsigned char)de->d_name[0]) || atoi(de->d_name) == workers[w])
				continue;
			snprintf(path, sizeof path, "/proc/%d/task/%s/stat", workers[w], de->d_name);
			if (parse_stat(path, &st, &ppid, &start, comm, sizeof comm) < 0)
				continue;
			printf("# worker %d thread %s still running: state %c", workers[w], de->d_name, st);
			const char *what[] = {"wchan", "syscall"};
			for (int i = 0; i < 2; i++) {
				snprintf(path, sizeof path, "/proc/%d/task/%s/%s", workers[w], de->d_name, what[i]);
				FILE *f = fopen(path, "r");
				if (f && fgets(buf, sizeof buf, f))
					printf(", %s %.*s", what[i], (int)strcspn(buf, "\n"), buf);
				if (f)
					fclose(f);
			}
			printf("\n");
		}
		if (d)
			closedir(d);
	}
}

static unsigned long total_ops(void)
{
	return atomic_load(&stress_sh->by_user[0]) + atomic_load(&stress_sh->by_user[1]);
}

static void reap_workers(void)
{
	for (int w = 0; w < 2; w++)
		if (worker_alive[w] && waitpid(workers[w], NULL, WNOHANG) == workers[w])
			worker_alive[w] = 0;
}

static void errno_list(char *out, size_t len, const atomic_ulong *err)
{
	size_t n = 0;
	out[0] = '\0';
	for (int e = 0; e < STRESS_NERR && n < len; e++) {
		unsigned long c = atomic_load(&err[e]);
		if (c) {
			const char *name = e ? strerrorname_np(e) : NULL;
			n += (size_t)snprintf(out + n, len - n, "%s%s %lu", n ? ", " : "",
					      name ? name : "other", c);
		}
	}
}

static int failures;
static void check(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(int cond, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("%s - ", cond ? "ok" : "not ok");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	failures += !cond;
}

static void report(int secs, int threads, int other, int drained)
{
	char list[2048];
	atomic_ulong per_errno[STRESS_NERR];
	for (int e = 0; e < STRESS_NERR; e++)
		atomic_init(&per_errno[e], 0);
	printf("# %-18s %9s %9s %9s  %s\n", "operation", "done", "ok", "failed", "errors");
	for (int op = 0; op < OP_N; op++) {
		unsigned long ok = atomic_load(&stress_sh->ok[op]), bad = 0;
		for (int e = 0; e < STRESS_NERR; e++) {
			unsigned long c = atomic_load(&stress_sh->err[op][e]);
			bad += c;
			atomic_fetch_add(&per_errno[e], c);
		}
		if (ok + bad == 0)
			continue;
		errno_list(list, sizeof list, stress_sh->err[op]);
		printf("# %-18s %9lu %9lu %9lu  %s\n", stress_op_name[op], ok + bad, ok, bad, list);
	}
	errno_list(list, sizeof list, per_errno);
	printf("# errors per errno: %s\n", list[0] ? list : "none");
	printf("# %lu operations in %.1f s (of %d planned) by %d threads: root %lu, uid %d %lu\n",
	       total_ops(), ran_ms / 1000, secs, threads, atomic_load(&stress_sh->by_user[0]), other, atomic_load(&stress_sh->by_user[1]));
	printf("# killed: Xvfb %d, deskfs-agent %d, qemu %d; children of the daemon seen: %d\n",
	       atomic_load(&kills[0]), atomic_load(&kills[1]), atomic_load(&kills[2]), nseen);
	printf("# longest zombie child of the daemon: %.0f ms; longest worker thread in D state: %.0f ms\n",
	       max_zombie_ms, max_d_ms);
	check(crashed_at < 0, "the daemon ran to the end (it did not crash)");
	check(stuck_d == 0, "no worker thread in D state for over %.0f s (longest %.1f s)",
	      D_LIMIT_MS / 1000, max_d_ms / 1000);
	check(drained, "every worker ended within %.0f s of the stop", DRAIN_MS / 1000);
	check(lingering == 0, "no zombie child of the daemon lingered over %.0f s (longest %.1f s)",
	      ZOMBIE_LIMIT_MS / 1000, max_zombie_ms / 1000);
	check(atomic_load(&stress_sh->by_user[0]) > 0 && atomic_load(&stress_sh->by_user[1]) > 0,
	      "both users did work");
}

int main(int argc, char **argv)
{
	int secs = 600, threads = 8, other = 65534, opt, drained = 1;
	const char *mnt = NULL, *children_file = NULL, *stuck_file = NULL, *only = NULL;
	while ((opt = getopt(argc, argv, "m:d:s:t:u:c:k:qo:")) != -1) {
		switch (opt) {
		case 'm': mnt = optarg; break;
		case 'd': dpid = atoi(optarg); break;
		case 's': secs = atoi(optarg); break;
		case 't': threads = atoi(optarg); break;
		case 'u': other = atoi(optarg); break;
		case 'c': children_file = optarg; break;
		case 'k': stuck_file = optarg; break;
		case 'q': kill_qemu = 1; break;
		case 'o': only = optarg; break;
		default: goto usage;
		}
	}
	if (!mnt || dpid <= 0 || secs <= 0 || threads < 2 || threads > 128 || other <= 0)
		goto usage;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (stress_init(mnt, kill_qemu, only) < 0) {
		perror("stress: init");
		return 2;
	}
	t0 = now_ms();
	for (int w = 0; w < 2; w++) {
		workers[w] = fork();
		if (workers[w] == 0)
			stress_worker_process(w ? other : 0, w ? threads / 2 : threads - threads / 2,
					      (unsigned)time(NULL) ^ (unsigned)getpid());
		worker_alive[w] = workers[w] > 0;
	}
	pthread_t wt;
	pthread_create(&wt, NULL, watch_thread, NULL);
	printf("# stress: %d s, %d threads (root and uid %d), daemon %d, mount %s%s%s\n", secs,
	       threads, other, dpid, mnt, only ? ", only: " : "", only ? only : "");
	double end = t0 + secs * 1000.0, next_note = t0 + 30000;
	while (now_ms() < end && !atomic_load(&stress_sh->stop) && (worker_alive[0] || worker_alive[1])) {
		usleep(200000);
		reap_workers();
		if (now_ms() >= next_note) {
			printf("# %.0f s: %lu operations, %d desktops killed\n", (now_ms() - t0) / 1000,
			       total_ops(), atomic_load(&kills[0]) + atomic_load(&kills[1]) + atomic_load(&kills[2]));
			next_note += 30000;
		}
	}
	atomic_store(&stress_sh->stop, 1);
	double stop = now_ms();
	ran_ms = stop - t0;
	while ((worker_alive[0] || worker_alive[1]) && now_ms() - stop < DRAIN_MS) {
		usleep(100000);
		reap_workers();
	}
	if (worker_alive[0] || worker_alive[1]) {
		drained = 0;
		show_threads();
		for (int w = 0; w < 2; w++)
			if (worker_alive[w])
				kill(workers[w], SIGKILL);
		for (int i = 0; i < 50 && (worker_alive[0] || worker_alive[1]); i++) {
			usleep(100000);
			reap_workers();
		}
	}
	atomic_store(&watch_stop, 1);
	pthread_join(wt, NULL);
	FILE *f = children_file ? fopen(children_file, "w") : NULL;
	for (int i = 0; f && i < nseen; i++)
		fprintf(f, "%d %llu %s\n", seen[i].pid, seen[i].start, seen[i].comm);
	if (f)
		fclose(f);
	f = stuck_file ? fopen(stuck_file, "w") : NULL;
	for (int w = 0; w < 2; w++) {
		if (worker_alive[w]) {
			printf("# worker %d cannot be killed (blocked in the kernel)\n", workers[w]);
			if (f)
				fprintf(f, "%d\n", workers[w]);
		}
	}
	if (f)
		fclose(f);
	report(secs, threads, other, drained);
	fflush(stdout);
	_exit(failures ? 1 : 0);
usage:
	fprintf(stderr, "usage: %s -m MNT -d DAEMON_PID [-s SECONDS] [-t THREADS] [-u UID] "
			"[-c CHILDREN_FILE] [-k STUCK_FILE] [-q] [-o OPS]\n", argv[0]);
	return 2;
}
