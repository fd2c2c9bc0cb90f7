/*
 * sess_store.c - a session's record in the state directory, and what the
 * next daemon does with it.
 *
 *	STATEDIR/NAME/record.json   written on every state change
 *	STATEDIR/NAME/token         the agent's token (0600)
 *	STATEDIR/NAME/agent.sock    the agent's socket (local providers)
 *	STATEDIR/NAME/artifacts/    logs
 *
 * Session processes are not tied to the daemon's life: after a crash they
 * keep running. sess_restore_all(), at the next start, reads every record.
 * A session whose recorded processes all still run (same pid AND same start
 * time, so a recycled pid is never taken for ours) is adopted: it comes back
 * under its name with its display as it was. One whose processes died comes
 * back `failed`, saying so; whatever part of it survived is stopped. Nothing
 * is dropped silently and nothing is left running unrecorded.
 */
#include "core/sess.h"
#include "core/sess_int.h"
#include "core/home.h"
#include "core/statedir.h"
#include "core/prov_ops.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int sess_persist_locked(struct sess *s)
{
	char path[PATH_MAX + 16];
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "version", 2);
	cJSON_AddStringToObject(j, "name", s->name);
	cJSON_AddStringToObject(j, "id", s->id);
	cJSON_AddStringToObject(j, "status", sess_status_name(s->status));
	cJSON_AddStringToObject(j, "readiness", sess_readiness_name(s->readiness));
	cJSON_AddNumberToObject(j, "created_at", s->created_at);
	cJSON_AddNumberToObject(j, "owner", s->owner);
	cJSON_AddNumberToObject(j, "group", s->group);
	set_to_json(&s->conf, cJSON_AddObjectToObject(j, "settings"));
	cJSON_AddStringToObject(j, "display", s->display);
	cJSON_AddStringToObject(j, "xauthority", s->xauth);
	cJSON_AddStringToObject(j, "agent_sock", s->agent_sock);
	cJSON_AddStringToObject(j, "agent_url", s->agent_url);
	if (s->pool[0])
		cJSON_AddStringToObject(j, "pool", s->pool);
	cJSON *procs = cJSON_AddArrayToObject(j, "procs");
	for (int i = 0; i < SESS_MAX_PROCS; i++) {
		const struct proc *p = &s->procs[i];
		if (p->pid <= 0)
			continue;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "slot", i);
		cJSON_AddStringToObject(o, "role", p->role);
		cJSON_AddNumberToObject(o, "pid", p->pid);
		cJSON_AddNumberToObject(o, "start", (double)p->start);
		cJSON_AddBoolToObject(o, "owned", p->owned);
		cJSON_AddItemToArray(procs, o);
	}
	char *txt = cJSON_Print(j);
	cJSON_Delete(j);
	if (!txt)
		return -ENOMEM;
	snprintf(path, sizeof path, "%s/record.json", s->dir);
	int r = util_write_file(path, txt, strlen(txt), 0600);
	free(txt);
	return r;
}

int sess_persist(struct sess *s)
{
	pthread_mutex_lock(&s->lock);
	int r = sess_persist_locked(s);
	pthread_mutex_unlock(&s->lock);
	return r;
}

struct spawn_rec {
	struct sess *s;
	int slot;
	int unrecorded; /* the record could not be written: the child never ran */
};

/* proc_start's gate: the child runs only once the record names it. */
static int record_child(struct proc *p, void *arg)
{
	struct spawn_rec *sr = arg;
	pthread_mutex_lock(&sr->s->lock);
	sr->s->procs[sr->slot] = *p;
	int r = sess_persist_locked(sr->s);
	if (r < 0) {
		sr->s->procs[sr->slot].pid = 0;
		sr->unrecorded = 1;
	}
	pthread_mutex_unlock(&sr->s->lock);
	return r;
}

int sess_spawn(struct sess *s, int slot, const char *role, const char *const argv[],
	       struct proc_opts *o, struct derr *e)
{
	struct proc p;
	struct spawn_rec sr = {s, slot, 0};
	o->record = record_child;
	o->record_arg = &sr;
	int r = proc_start(&p, role, argv, o);
	if (r < 0) {
		char code[40];
		snprintf(code, sizeof code, "%s_failed", role);
		if (sr.unrecorded)
			derr_set(e, -r, "state_dir",
				 "the state directory %s could not record the session's %s (%s), so "
				 "it was never started",
				 sess_options()->statedir, role, strerror(-r));
		else
			derr_set(e, -r, code, "cannot start %s: %s", argv[0], strerror(-r));
		pthread_mutex_lock(&s->lock);
		s->procs[slot] = p; /* reaped, or empty */
		s->procs[slot].pid = 0;
		pthread_mutex_unlock(&s->lock);
	}
	return r;
}

static const char *jstr(const cJSON *j, const char *key)
{
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(j, key));
	return v ? v : "";
}

static double jnum(const cJSON *j, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(j, key);
	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* Bring one recorded session back. Returns 0, or -errno if unreadable. */
static int restore_one(const char *dir, const char *name)
{
	char path[PATH_MAX + 300], *txt = NULL, *tok = NULL;
	size_t len;
	struct sess *s = NULL;
	cJSON *j = NULL;
	int r;

	snprintf(path, sizeof path, "%s/%s/record.json", dir, name);
	if ((r = util_read_file(path, &txt, &len)) < 0)
		return r;
	j = cJSON_ParseWithLength(txt, len);
	r = -EINVAL;
	if (!j || strcmp(jstr(j, "name"), name) != 0 ||
	    !(util_name_valid(name) || sess_member_name(name)))
		goto out;
	struct sess_conf conf = sess_options()->defaults;
	/* the settings table reads back what it wrote; a refused value is no record of ours */
	if (set_from_json(&conf, cJSON_GetObjectItem(j, "settings")) > 0)
		goto out;
	s = sess_adopt(name, &conf, jstr(j, "id"), jnum(j, "created_at"));
	if (!s)
		goto out;
	snprintf(path, sizeof path, "%s/token", s->dir);
	if (util_read_file(path, &tok, &len) == 0) {
		snprintf(s->token, sizeof s->token, "%.*s", (int)strcspn(tok, "\n"), tok);
		free(tok);
	}
	s->owner = (uid_t)jnum(j, "owner");
	s->group = (gid_t)jnum(j, "group");
	/* a warm pool's member stays one (hidden) until claimed */
	snprintf(s->pool, sizeof s->pool, "%s", sess_member_name(name) ? jstr(j, "pool") : "");
	if (sess_member_name(name) && !s->pool[0])
		snprintf(s->pool, sizeof s->pool, "?");
	snprintf(s->display, sizeof s->display, "%s", jstr(j, "display"));
	snprintf(s->xauth, sizeof s->xauth, "%s", jstr(j, "xauthority"));
	snprintf(s->agent_sock, sizeof s->agent_sock, "%s", jstr(j, "agent_sock"));
	snprintf(s->agent_url, sizeof s->agent_url, "%s", jstr(j, "agent_url"));
	/* a local session's home is where it was, its owner's; made again if it went */
	if (s->prov->local) {
		struct derr he = DERR_INIT;
		if (home_check(name, s->owner) == 0)
			home_path(name, s->home, sizeof s->home);
		else if (home_make(name, s->owner, s->group, s->home, sizeof s->home, &he) < 0)
			s->home[0] = '\0';
	}

	/* which recorded processes are still the ones we started? */
	char dead[256] = "";
	int ndead = 0, nprocs = 0;
	cJSON *p;
	cJSON_ArrayForEach(p, cJSON_GetObjectItem(j, "procs"))
	{
		int slot = (int)jnum(p, "slot");
		if (slot < 0 || slot >= SESS_MAX_PROCS)
			continue;
		struct proc *pr = &s->procs[slot];
		snprintf(pr->role, sizeof pr->role, "%s", jstr(p, "role"));
		pr->pid = (pid_t)jnum(p, "pid");
		pr->start = (unsigned long long)jnum(p, "start");
		pr->owned = cJSON_IsTrue(cJSON_GetObjectItem(p, "owned"));
		nprocs++;
		if (!proc_alive(pr)) {
			ndead++;
			snprintf(dead + strlen(dead), sizeof dead - strlen(dead), "%s%s (pid %d)",
				 dead[0] ? ", " : "", pr->role, (int)jnum(p, "pid"));
		}
	}
	int was_up = strcmp(jstr(j, "status"), "ready") == 0 ||
		     strcmp(jstr(j, "status"), "starting") == 0;
	/* all of it still runs (a remote session has nothing of ours to run) */
	int whole = ndead == 0 && (nprocs > 0 || s->conf.url[0]);
	if (whole && was_up && s->token[0] && s->prov->reattach) {
		sess_start(s); /* restored: the lifecycle re-attaches instead of starting */
	} else {
		s->restored = 0;
		s->prov->stop(s); /* survivors of a dead session: the provider knows its own */
		if (was_up)
			sess_error(s, 1, EIO, "lost_while_down",
				   "%s exited while the daemon was down; the session cannot be "
				   "re-attached (write 'restart' to its ctl for a fresh one)",
				   ndead ? dead : "its processes");
		else
			sess_error(s, 1, EIO, "lost_while_down",
				   "the session was %s when the daemon stopped", jstr(j, "status"));
	}
	r = 0;
out:
	sess_put(s);
	cJSON_Delete(j);
	free(txt);
	return r;
}

/*
 * A session directory of ours whose record cannot be read (truncated, or
 * not ours to parse). Its processes are found by the paths in their command
 * lines (each names the session's directory), stopped, and the session
 * comes back failed, saying so. Nothing is deleted.
 */
static int stop_by_path(const char *sessdir, char *names, size_t len)
{
	char needle[PATH_MAX + 2], path[64];
	snprintf(needle, sizeof needle, "%s/", sessdir);
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 1 || pid == getpid())
			continue;
		snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
		char *cmd = NULL;
		size_t clen = 0;
		struct stat st;
		snprintf(path, sizeof path, "/proc/%ld", pid);
		if (stat(path, &st) < 0 || st.st_uid != geteuid())
			continue;
		snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
		if (util_read_file(path, &cmd, &clen) < 0)
			continue;
		for (size_t i = 0; i + 1 < clen; i++)
			if (!cmd[i])
				cmd[i] = ' ';
		if (memmem(cmd, clen, needle, strlen(needle))) {
			struct proc pr = {.pid = (pid_t)pid, .owned = 1,
					  .start = proc_starttime((pid_t)pid)};
			snprintf(pr.role, sizeof pr.role, "pid %ld", pid);
			snprintf(names + strlen(names), len - strlen(names), "%s%.40s (pid %ld)",
				 n ? ", " : "", cmd, pid);
			proc_stop(&pr, 2000);
			n++;
		}
		free(cmd);
	}
	closedir(d);
	return n;
}

static void restore_unreadable(const char *dir, const char *name, int why)
{
	char sessdir[PATH_MAX + 300], names[512] = "";
	snprintf(sessdir, sizeof sessdir, "%s/%s", dir, name);
	int n = stop_by_path(sessdir, names, sizeof names);
	char id[37];
	util_uuid4(id);
	struct sess *s = sess_adopt(name, &sess_options()->defaults, id, util_now());
	fprintf(stderr, "deskfs: %s: unreadable record (%s); %d process(es) stopped\n", sessdir,
		strerror(why), n);
	if (!s)
		return;
	s->restored = 0;
	s->owner = 0; /* who owned it is unknown: root's until removed */
	struct stat st;
	if (home_path(name, s->home, sizeof s->home) < 0 || lstat(s->home, &st) < 0)
		s->home[0] = '\0'; /* a home of that name goes with the session's rmdir */
	sess_error(s, 1, EIO, "record_unreadable",
		   "the record of session '%s' could not be read (%s); %s; rmdir removes it", name,
		   strerror(why), n ? names : "no process of it was running");
	sess_put(s);
}

int sess_restore_all(void)
{
	const char *dir = sess_options()->statedir;
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		char path[PATH_MAX + 300];
		if (!util_name_valid(de->d_name) && !sess_member_name(de->d_name))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (!statedir_is_marked(path))
			continue; /* not ours: never touched */
		int r = restore_one(dir, de->d_name);
		if (r < 0)
			restore_unreadable(dir, de->d_name, -r);
		n++;
	}
	closedir(d);
	return n;
}
