/*
 * procs_int.h - inside procs (procs.c, procs_io.c): a program, a parked
 * request, the table. Everything here is protected by procs.lock (see
 * procs.h for the threads), except what is marked otherwise.
 */
#ifndef DESKFS_PROCS_INT_H
#define DESKFS_PROCS_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>
#include <cjson/cJSON.h>

#include "agent/procs.h"
#include "agent/ring.h"

#define PROCS_GRACE_MS 100 /* after the leader exits, how long output may still come */

enum prog_state { P_STARTING, P_RUNNING, P_EXITED, P_SIGNALED };
enum waiter_kind { W_OUT, W_EXIT, W_IN };
enum src_what { SRC_PID, SRC_OUT, SRC_ERR, SRC_IN, SRC_PTY };

struct prog;

/* A parked request (or, in a stdin queue, an eof marker: later NULL). */
struct waiter {
	struct waiter *prev, *next;   /* on its program's waiters (or inq, W_IN) */
	struct waiter *tprev, *tnext; /* on the timed list, when deadline != 0 */
	struct prog *prog;
	struct svc_later *later;
	int kind, stream;
	uint64_t offset;   /* W_OUT: answer once size > offset */
	size_t max;        /* W_OUT: bytes in the answer at most */
	uint64_t deadline; /* CLOCK_MONOTONIC ms; 0: none */
	const char *data;  /* W_IN: the request's body (lives as long as it) */
	size_t len, done;
	int eof; /* W_IN: close stdin here (pipes) or write VEOF (pty) */
};

/* What an epoll event is about (epoll_data.ptr). */
struct src {
	struct prog *g;
	int what;
};

struct prog {
	struct prog *next;
	char tag[65];
	int state; /* P_STARTING: tag reserved, being started (invisible) */
	pid_t pid; /* leader and process group; a zombie once leader_gone, until forgotten */
	int pidfd, in_fd, out_fd[2]; /* -1 once closed; a pty: in_fd == out_fd[0] == master */
	int pty;
	unsigned rows, cols;
	char veof;     /* a pty's VEOF character */
	int in_closed; /* stdin: closed (eof reached, pipes), or the program ended */
	int eof_asked; /* pipes: "eof" asked for; no more stdin taken */
	int in_armed;  /* EPOLLOUT asked for stdin */
	char **argv;
	int argc;
	char *cwd;
	double started, ended; /* wall clock, seconds */
	int leader_gone, code, sig;
	int finished; /* leader gone and output streams closed: state is final */
	int in_grace;
	uint64_t gone_ms;
	struct ring out[2];
	struct waiter *waiters;       /* W_OUT, W_EXIT */
	struct waiter *inq, *inq_end; /* W_IN, in order */
	struct src s_pid, s_out[2], s_in;
};

struct procs {
	const struct ident *id;
	pthread_mutex_t lock;
	pthread_cond_t changed; /* a leader exited (procs_stop waits for it) */
	struct prog *progs;
	int nprogs;
	struct waiter *timed, *timed_end; /* by deadline */
	int nwaiters;                     /* parked requests */
	int ngrace;                       /* programs in_grace */
	int stopping;
	int stopped; /* procs_stop is done (the thread that stops owns it) */
	int ep, wake; /* epoll set, eventfd: set up once, then any thread */
	pthread_t io;
	int io_started;
	atomic_int io_stop;
};

/* procs.c, with p->lock held. */
struct prog *procs_find_any(struct procs *p, const char *tag); /* even one being started */
void procs_unlink(struct procs *p, struct prog *g);
void procs_prog_free(struct prog *g); /* (unlinked: no lock needed) */
cJSON *procs_prog_json(const struct prog *g);

/* procs_io.c; all with p->lock held, except pio_flush and pio_main. */
void *pio_main(void *arg);
void pio_wake(struct procs *p);
int pio_register(struct procs *p, struct prog *g);
void pio_arm_stdin(struct procs *p, struct prog *g);
void pio_write_stdin(struct procs *p, struct prog *g, struct waiter **done);
void pio_close_stdin(struct procs *p, struct prog *g); /* pipes: closes it now */
/* Links w (already filled) to its program and, with a deadline, to the timed list. */
void pio_park(struct procs *p, struct waiter *w);
/* Unlinks w and puts it on *done, to be answered by pio_flush. */
void pio_complete(struct procs *p, struct waiter *w, struct waiter **done);
/* Every parked request: answered with what there is (stopping). */
void pio_answer_all(struct procs *p, struct waiter **done);
/* Without the lock: svc_later_done each, and free them. */
void pio_flush(struct waiter *done);
void pio_out_reply(struct prog *g, int stream, uint64_t offset, size_t max, struct svc_reply *rep);
void pio_exit_reply(struct prog *g, struct svc_reply *rep);
void pio_written_reply(struct svc_reply *rep, size_t n); /* {"written":n} */

#endif
