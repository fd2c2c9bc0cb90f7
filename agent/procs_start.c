/*
 * procs_start.c - starting a program (procs_start, procs.h): the request
 * checked, its tag reserved, its working directory opened and its
 * environment built as the user, then spawn.c; on the procs runner.
 */
#include "agent/procs_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "agent/files.h"
#include "agent/ident.h"
#include "agent/spawn.h"
#include "agent/svc.h"
#include "common/clock.h"

#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

struct envb {
	char **v;
	int n, cap;
	size_t bytes;
};

/* Sets key=value, replacing an earlier key. */
static int env_set(struct envb *e, const char *key, const char *value)
{
	size_t klen = strlen(key);
	char *kv;
	int i;

	if (!value)
		return 0;
	if (asprintf(&kv, "%s=%s", key, value) < 0)
		return -ENOMEM;
	for (i = 0; i < e->n; i++)
		if (!strncmp(e->v[i], key, klen) && e->v[i][klen] == '=')
			break;
	if (i == e->n) {
		if (e->n + 2 > e->cap) {
			int cap = e->cap ? e->cap * 2 : 32;
			char **nv = realloc(e->v, (size_t)cap * sizeof *nv);
			if (!nv) {
				free(kv);
				return -ENOMEM;
			}
			e->v = nv;
			e->cap = cap;
		}
		e->n++;
	} else {
		e->bytes -= strlen(e->v[i]) + 1;
		free(e->v[i]);
	}
	e->v[i] = kv;
	e->v[e->n] = NULL;
	e->bytes += strlen(kv) + 1;
	return 0;
}

static void env_free(struct envb *e)
{
	for (int i = 0; i < e->n; i++)
		free(e->v[i]);
	free(e->v);
}

static const char *env_get(const struct envb *e, const char *key)
{
	size_t klen = strlen(key);

	for (int i = 0; i < e->n; i++)
		if (!strncmp(e->v[i], key, klen) && e->v[i][klen] == '=')
			return e->v[i] + klen + 1;
	return NULL;
}

/* The programs' environment: a clean base, then what the request adds. */
static int env_build(const struct procs *p, const struct procs_start_args *a, struct envb *e)
{
	const struct ident *id = p->id;
	static const char *const pass[] = {"LANG", "LC_ALL", "TZ"};
	int rc = 0;

	rc |= env_set(e, "PATH", getenv("PATH") ? getenv("PATH") : DEFAULT_PATH);
	rc |= env_set(e, "HOME", id->prog_home);
	rc |= env_set(e, "USER", id->user);
	rc |= env_set(e, "LOGNAME", id->user);
	rc |= env_set(e, "SHELL", id->shell);
	rc |= env_set(e, "DISPLAY", id->display);
	/* the agent's own cookie only for programs that are the agent's user */
	rc |= env_set(e, "XAUTHORITY", id->xauthority ? id->xauthority
	                               : !id->run_as ? getenv("XAUTHORITY") : NULL);
	for (size_t i = 0; i < sizeof pass / sizeof pass[0]; i++)
		rc |= env_set(e, pass[i], getenv(pass[i]));
	if (a->pty)
		rc |= env_set(e, "TERM", "xterm");
	for (int i = 0; i < a->nenv; i++)
		rc |= env_set(e, a->env[i].key, a->env[i].value);
	return rc ? -ENOMEM : 0;
}

static void reply_start_error(struct svc_reply *rep, int err, const struct procs_start_args *a,
                              const char *what)
{
	if (!strcmp(what, "cwd"))
		svc_reply_errno(rep, err, err == ENOENT ? "no_such_cwd" : NULL,
		                "cannot enter %.200s: %s", a->cwd, strerror(err));
	else if (err == ENOENT)
		svc_reply_errno(rep, err, "no_such_program", "no such program: %.200s",
		                a->argv[0]);
	else if (err == EACCES)
		svc_reply_errno(rep, err, "not_executable", "%.200s cannot be run: %s", a->argv[0],
		                strerror(err));
	else
		svc_reply_errno(rep, err, "start_failed", "%.200s: %s", a->argv[0], strerror(err));
}

static int check_args(const struct procs_start_args *a, struct svc_reply *rep)
{
	size_t bytes = 0;

	if (!procs_tag_ok(a->tag)) {
		svc_reply_errno(rep, EINVAL, "bad_tag",
		                "a tag is [A-Za-z0-9][A-Za-z0-9._-]{0,63}, not %.80s",
		                a->tag ? a->tag : "(none)");
		return -EINVAL;
	}
	if (a->argc < 1 || !a->argv[0][0]) {
		svc_reply_errno(rep, EINVAL, "bad_argv", "argv needs a program (argv[0])");
		return -EINVAL;
	}
	if (a->pty && (a->rows < 1 || a->rows > 4096 || a->cols < 1 || a->cols > 4096)) {
		svc_reply_errno(rep, EINVAL, "bad_pty", "a pty is ROWSxCOLS, each 1..4096");
		return -EINVAL;
	}
	for (int i = 0; i < a->argc; i++)
		bytes += strlen(a->argv[i]) + 1;
	for (int i = 0; i < a->nenv; i++) {
		const char *k = a->env[i].key;
		if (!*k || strchr(k, '=')) {
			svc_reply_errno(rep, EINVAL, "bad_env", "an environment name is not empty "
			                                         "and has no '=': %.80s", k);
			return -EINVAL;
		}
		bytes += strlen(k) + strlen(a->env[i].value) + 2;
	}
	if (bytes > PROCS_ARGS_MAX || a->argc > 65536 || a->nenv > 65536) {
		svc_reply_errno(rep, E2BIG, "too_big", "argv and env are over %u bytes",
		                PROCS_ARGS_MAX);
		return -E2BIG;
	}
	return 0;
}

static struct prog *prog_new(const struct procs_start_args *a, const char *cwd)
{
	struct prog *g = calloc(1, sizeof *g);

	if (!g)
		return NULL;
	snprintf(g->tag, sizeof g->tag, "%s", a->tag);
	g->state = P_STARTING;
	g->pidfd = g->in_fd = g->out_fd[0] = g->out_fd[1] = -1;
	ring_init(&g->out[0], PROCS_KEEP);
	ring_init(&g->out[1], PROCS_KEEP);
	g->pty = a->pty;
	g->rows = a->rows;
	g->cols = a->cols;
	g->veof = 4; /* ^D, unless the pty says otherwise */
	g->cwd = strdup(cwd);
	g->argv = calloc((size_t)a->argc + 1, sizeof *g->argv);
	if (!g->cwd || !g->argv)
		goto out_free;
	for (g->argc = 0; g->argc < a->argc; g->argc++)
		if (!(g->argv[g->argc] = strdup(a->argv[g->argc])))
			goto out_free;
	return g;

out_free:
	procs_prog_free(g);
	return NULL;
}

void procs_start(struct procs *p, const struct procs_start_args *a, struct svc_reply *rep)
{
	const char *cwd = a->cwd && *a->cwd ? a->cwd : p->id->prog_cwd;
	struct spawn_req sr = {.pty = a->pty, .rows = (unsigned short)a->rows,
	                       .cols = (unsigned short)a->cols};
	struct envb env = {0};
	struct spawn_out so;
	struct prog *g;
	struct termios tio;
	char path[PATH_MAX];
	int rc, cwd_fd = -1;
	cJSON *o;

	if (check_args(a, rep) < 0)
		return;
	rc = ident_enter(p->id, 0);
	if (rc < 0) {
		svc_reply_errno(rep, -rc, "identity", "cannot take uid %u's credentials: %s",
		                (unsigned)p->id->uid, strerror(-rc));
		return;
	}
	g = prog_new(a, cwd);
	if (!g) {
		svc_reply_errno(rep, ENOMEM, "internal", "out of memory");
		return;
	}
	pthread_mutex_lock(&p->lock);
	rc = p->stopping ? -ESHUTDOWN : procs_find_any(p, a->tag) ? -EEXIST
	     : p->nprogs >= PROCS_MAX ? -EAGAIN : 0;
	if (rc == 0) { /* the tag is ours while we start it */
		g->next = p->progs;
		p->progs = g;
		p->nprogs++;
	}
	pthread_mutex_unlock(&p->lock);
	if (rc == -ESHUTDOWN)
		svc_reply_errno(rep, EAGAIN, "stopping", "the agent is shutting down");
	else if (rc == -EEXIST)
		svc_reply_errno(rep, EEXIST, "tag_in_use", "the tag %s is taken", a->tag);
	else if (rc == -EAGAIN)
		svc_reply_errno(rep, EAGAIN, "too_many", "%d programs are kept: forget some",
		                PROCS_MAX);
	if (rc < 0) {
		procs_prog_free(g);
		return;
	}
	rc = files_open(p->id, cwd, O_PATH | O_DIRECTORY, &cwd_fd);
	if (rc < 0) {
		reply_start_error(rep, -rc, a, "cwd");
		goto out_unreserve;
	}
	if (env_build(p, a, &env) < 0) {
		svc_reply_errno(rep, ENOMEM, "internal", "out of memory");
		goto out_unreserve;
	}
	rc = spawn_find(a->argv[0], env_get(&env, "PATH"), path, sizeof path);
	if (rc == 0) {
		sr.argv = g->argv;
		sr.envp = env.v;
		sr.path = path;
		sr.cwd_fd = cwd_fd;
		rc = spawn_start(p->id, &sr, &so);
	}
	if (rc < 0) {
		reply_start_error(rep, -rc, a, "program");
		goto out_unreserve;
	}
	if (a->pty && tcgetattr(so.out_fd, &tio) == 0 && tio.c_cc[VEOF])
		g->veof = (char)tio.c_cc[VEOF];
	pthread_mutex_lock(&p->lock);
	g->pid = so.pid;
	g->pidfd = so.pidfd;
	g->in_fd = so.in_fd;
	g->out_fd[0] = so.out_fd;
	g->out_fd[1] = so.err_fd;
	g->started = clk_wall();
	g->state = P_RUNNING;
	rc = pio_register(p, g);
	if (rc < 0) { /* cannot follow it: it must not run unfollowed */
		kill(-g->pid, SIGKILL);
		epoll_ctl(p->ep, EPOLL_CTL_DEL, g->pidfd, NULL);
		for (int s = 0; s < 2; s++)
			if (g->out_fd[s] >= 0)
				epoll_ctl(p->ep, EPOLL_CTL_DEL, g->out_fd[s], NULL);
		g->state = P_STARTING;
		pthread_mutex_unlock(&p->lock);
		waitpid(so.pid, NULL, 0);
		svc_reply_errno(rep, -rc, "internal", "cannot follow the program: %s",
		                strerror(-rc));
		goto out_unreserve;
	}
	o = procs_prog_json(g);
	pthread_mutex_unlock(&p->lock);
	svc_reply_json(rep, 201, o);
	goto out;

out_unreserve:
	pthread_mutex_lock(&p->lock);
	procs_unlink(p, g);
	pthread_mutex_unlock(&p->lock);
	procs_prog_free(g);
out:
	env_free(&env);
	if (cwd_fd >= 0)
		close(cwd_fd);
}
