/*
 * main.c - deskfs-view: a live web view of a deskfs mount's sessions, for
 * people. A pure client of the mount, so it works for every provider.
 *
 *	$ deskfs-view /mnt/desk
 *	deskfs-view: http://127.0.0.1:41235/?token=5f0c...
 *	$ deskfs-view --listen 127.0.0.1:8090 --control --token-file ~/.deskfs-view-token /mnt/desk
 *
 * Routes (each needs the token, as ?token=T or "Authorization: Bearer T"):
 *	GET  /                       the sessions this user may read, as links
 *	GET  /s/NAME                 the session's page (page.c)
 *	GET  /s/NAME/state?gen=N     long-poll: JSON once generation N has passed (20 s max)
 *	GET  /s/NAME/frame.png       the latest screen (ETag: its generation)
 *	POST /s/NAME/actions         action lines, written to NAME/actions: only with
 *	                             --control (human takeover), else 403
 *
 * It binds 127.0.0.1 unless told otherwise, and prints its URL on stdout
 * (never on a command line). Which sessions it serves is the mount's
 * decision: those whose files the viewer's user may read. Run it as the
 * user whose sessions it should show.
 *
 * Threads: libmicrohttpd runs one thread per connection (a long-poll
 * blocks its own thread only); watch.c runs one thread per watched
 * session. The main thread waits for SIGINT/SIGTERM, then stops both.
 */
#include "view/view.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <microhttpd.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#define MAX_BODY (1 << 20)
#define POLL_WAIT_MS 20000

static struct {
	const char *mount;
	char token[65];
	int control;
} app;

struct req {
	char *body;
	size_t len;
	int too_large;
};

static int token_ok(struct MHD_Connection *c)
{
	const char *t = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
	const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	if (!t && auth && strncmp(auth, "Bearer ", 7) == 0)
		t = auth + 7;
	if (!t)
		return 0;
	size_t n = strlen(app.token);
	if (strlen(t) != n)
		return 0;
	unsigned char diff = 0; /* the same time whatever the first wrong byte */
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(t[i] ^ app.token[i]);
	return diff == 0;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             const void *data, size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)data, mode);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	if (app.control)
		MHD_add_response_header(r, "X-Deskfs-Control", "1");
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *text)
{
	return reply(c, status, "text/plain; charset=utf-8", text, strlen(text),
	             MHD_RESPMEM_MUST_COPY);
}

/* The index: a link per session this user may read. */
static enum MHD_Result do_index(struct MHD_Connection *c)
{
	char *page = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&page, &len);
	if (!f)
		return MHD_NO;
	fprintf(f,
	        "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"referrer\" "
	        "content=\"no-referrer\"><title>deskfs sessions</title></head><body "
	        "style=\"font:15px system-ui\"><h2>deskfs sessions on %s</h2><ul>\n",
	        app.mount);
	DIR *d = opendir(app.mount);
	struct dirent *e;
	int n = 0;
	while (d && (e = readdir(d))) {
		char path[4500];
		if (e->d_name[0] == '.' || strlen(e->d_name) > 64)
			continue;
		snprintf(path, sizeof path, "%s/%s/status", app.mount, e->d_name);
		if (access(path, R_OK) < 0)
			continue;
		/* names are [A-Za-z0-9._-]: nothing to escape */
		fprintf(f, "<li><a href=\"/s/%s?token=%s\">%s</a></li>\n", e->d_name, app.token,
		        e->d_name);
		n++;
	}
	if (d)
		closedir(d);
	fprintf(f, "</ul>%s</body></html>\n", n ? "" : "<p>No sessions yet: mkdir one.</p>");
	fclose(f);
	enum MHD_Result r =
	    reply(c, MHD_HTTP_OK, "text/html; charset=utf-8", page, len, MHD_RESPMEM_MUST_COPY);
	free(page);
	return r;
}

static enum MHD_Result do_state(struct MHD_Connection *c, struct view_watch *w)
{
	const char *g = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "gen");
	uint64_t after = g ? strtoull(g, NULL, 10) : 0;
	char *json = NULL;
	if (view_watch_state(w, after, POLL_WAIT_MS, &json) < 0)
		return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	return reply(c, MHD_HTTP_OK, "application/json", json, strlen(json), MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result do_frame(struct MHD_Connection *c, struct view_watch *w)
{
	char *png = NULL, etag[40];
	size_t len = 0;
	uint64_t gen = 0;
	int r = view_watch_frame(w, &png, &len, &gen);
	if (r == -EAGAIN)
		return reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no screen yet\n");
	if (r < 0)
		return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	snprintf(etag, sizeof etag, "\"%llu\"", (unsigned long long)gen);
	const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-None-Match");
	if (inm && strcmp(inm, etag) == 0) {
		free(png);
		return reply(c, MHD_HTTP_NOT_MODIFIED, "image/png", "", 0, MHD_RESPMEM_PERSISTENT);
	}
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(len, png, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(png);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "image/png");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "ETag", etag);
	enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Human takeover: the page's lines go to NAME/actions as they are. */
static enum MHD_Result do_actions(struct MHD_Connection *c, const char *name, struct req *rq)
{
	char path[4500], err[1024] = "";
	if (!app.control)
		return reply_text(c, MHD_HTTP_FORBIDDEN,
		                  "control is off: start deskfs-view with --control\n");
	if (rq->too_large)
		return reply_text(c, MHD_HTTP_CONTENT_TOO_LARGE, "at most 1 MiB of actions\n");
	snprintf(path, sizeof path, "%s/%s/actions", app.mount, name);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	int e = 0;
	if (fd < 0) {
		e = errno;
	} else {
		ssize_t n = rq->len ? write(fd, rq->body, rq->len) : 0;
		if (n < 0 || (size_t)n != rq->len)
			e = n < 0 ? errno : EIO;
		if (close(fd) < 0 && !e)
			e = errno;
	}
	if (!e)
		return reply_text(c, MHD_HTTP_OK, "ok\n");
	/* the session's error file says why, in words */
	snprintf(path, sizeof path, "%s/%s/error", app.mount, name);
	int efd = open(path, O_RDONLY | O_CLOEXEC);
	if (efd >= 0) {
		ssize_t n = read(efd, err, sizeof err - 1);
		err[n > 0 ? n : 0] = '\0';
		close(efd);
	}
	char msg[1200];
	snprintf(msg, sizeof msg, "%s: %s", strerror(e), err[0] ? err : "\n");
	return reply_text(c, e == EINVAL ? MHD_HTTP_UNPROCESSABLE_CONTENT : MHD_HTTP_CONFLICT, msg);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
	struct req *rq = *con_cls;
	if (!rq) {
		if (!(rq = calloc(1, sizeof *rq)))
			return MHD_NO;
		*con_cls = rq;
		return MHD_YES;
	}
	if (*upload_size) {
		if (rq->len + *upload_size > MAX_BODY) {
			rq->too_large = 1;
		} else {
			char *nb = realloc(rq->body, rq->len + *upload_size);
			if (!nb)
				return MHD_NO;
			memcpy(nb + rq->len, upload, *upload_size);
			rq->body = nb;
			rq->len += *upload_size;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (!token_ok(c))
		return reply_text(c, MHD_HTTP_FORBIDDEN, "a valid ?token= is needed\n");
	int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	if (strcmp(url, "/") == 0 && get)
		return do_index(c);
	if (strncmp(url, "/s/", 3) != 0)
		return reply_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
	char name[80], what[32] = "";
	const char *slash = strchr(url + 3, '/');
	size_t nlen = slash ? (size_t)(slash - (url + 3)) : strlen(url + 3);
	if (nlen == 0 || nlen >= sizeof name)
		return reply_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
	memcpy(name, url + 3, nlen);
	name[nlen] = '\0';
	if (slash)
		snprintf(what, sizeof what, "%s", slash + 1);
	struct view_watch *w = view_watch_get(name);
	if (!w) /* not there, or not this user's: the same answer, so nothing leaks */
		return reply_text(c, MHD_HTTP_NOT_FOUND, "no such session\n");
	enum MHD_Result r;
	if (what[0] == '\0' && get)
		r = reply(c, MHD_HTTP_OK, "text/html; charset=utf-8", view_page_html,
		          strlen(view_page_html), MHD_RESPMEM_PERSISTENT);
	else if (strcmp(what, "state") == 0 && get)
		r = do_state(c, w);
	else if (strcmp(what, "frame.png") == 0 && get)
		r = do_frame(c, w);
	else if (strcmp(what, "actions") == 0 && strcmp(method, "POST") == 0)
		r = do_actions(c, name, rq);
	else
		r = reply_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
	view_watch_put(w);
	return r;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *con_cls;
	if (rq) {
		free(rq->body);
		free(rq);
		*con_cls = NULL;
	}
}

/* A listening socket on HOST:PORT (port 0: any free one); its port in *port. */
static int listen_on(const char *spec, int *port)
{
	char host[256];
	const char *colon = strrchr(spec, ':');
	if (!colon || (size_t)(colon - spec) >= sizeof host)
		return -EINVAL;
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
	                         .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_NUMERICHOST | AI_PASSIVE},
	                *ai = NULL;
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0 || !ai)
		return -EINVAL;
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, r = 0;
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 64) < 0) {
		r = -errno;
		close(fd);
		goto out;
	}
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	*port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                                       : ((struct sockaddr_in *)&ss)->sin_port);
	r = fd;
out:
	freeaddrinfo(ai);
	return r;
}

static int read_token(const char *file)
{
	FILE *f = fopen(file, "r");
	if (!f)
		return -errno;
	int ok = fgets(app.token, sizeof app.token, f) != NULL;
	fclose(f);
	app.token[strcspn(app.token, "\r\n")] = '\0';
	return ok && strlen(app.token) >= 16 ? 0 : -EINVAL;
}

static int random_token(void)
{
	unsigned char b[16];
	if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
		return -EIO;
	for (size_t i = 0; i < sizeof b; i++)
		snprintf(app.token + 2 * i, 3, "%02x", b[i]);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(
	    f, "usage: deskfs-view [--listen HOST:PORT] [--control] [--token-file FILE] MOUNT\n"
	       "\n"
	       "A live web view of the sessions of a deskfs mount.\n"
	       "    --listen HOST:PORT   where to serve (default 127.0.0.1:0, a free port)\n"
	       "    --control            allow human takeover: clicks and keys on the page\n"
	       "                         become actions (off by default)\n"
	       "    --token-file FILE    the token the URL must carry (default: a new random one)\n"
	       "    -h, --help           this text\n"
	       "The URL, with its token, is printed on standard output.\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"control", no_argument, NULL, 'c'},
	    {"token-file", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *listen_spec = "127.0.0.1:0", *token_file = NULL;
	int c, port = 0, ret = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			listen_spec = optarg;
			break;
		case 'c':
			app.control = 1;
			break;
		case 't':
			token_file = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	app.mount = argv[optind];
	struct stat st;
	if (stat(app.mount, &st) < 0 || !S_ISDIR(st.st_mode) || view_watch_init(app.mount) < 0) {
		fprintf(stderr, "deskfs-view: %s: not a directory (a deskfs mount)\n", app.mount);
		return 2;
	}
	if (token_file ? read_token(token_file) < 0 : random_token() < 0) {
		fprintf(stderr, "deskfs-view: no token%s%s (16 characters or more)\n",
		        token_file ? " in " : "", token_file ? token_file : "");
		return 2;
	}
	int fd = listen_on(listen_spec, &port);
	if (fd < 0) {
		fprintf(stderr, "deskfs-view: cannot listen on %s: %s\n", listen_spec,
		        strerror(-fd));
		return 2;
	}
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* threads inherit it; main waits for them */
	signal(SIGPIPE, SIG_IGN);
	struct MHD_Daemon *d = MHD_start_daemon(
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0,
	    NULL, NULL, on_request, NULL, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)128, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "deskfs-view: libmicrohttpd would not start\n");
		close(fd);
		return 1;
	}
	char host[256];
	snprintf(host, sizeof host, "%.*s", (int)(strrchr(listen_spec, ':') - listen_spec),
	         listen_spec);
	int v6 = strchr(host, ':') != NULL;
	printf("deskfs-view: http://%s%s%s:%d/?token=%s\n", v6 ? "[" : "", host, v6 ? "]" : "",
	       port, app.token);
	if (app.control)
		printf("deskfs-view: control is on: people on the page can drive the sessions\n");
	fflush(stdout);
	int sig = 0;
	sigwait(&sigs, &sig);
	view_watch_shutdown();
	MHD_stop_daemon(d);
	close(fd);
	ret = 0;
	return ret;
}
