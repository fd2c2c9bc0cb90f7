/*
 * view.h - deskfs-view's parts: session watchers (watch.c), the page
 * (page.c), and the HTTP server with its options (main.c).
 *
 *	view_watch_init("/mnt/desk");
 *	struct view_watch *w = view_watch_get("s1");    finds or starts its watcher
 *	view_watch_state(w, last_gen, 20000, &json);    long-poll: waits for a change
 *	view_watch_frame(w, &png, &len, &gen);          the PNG of that change
 *	view_watch_put(w);
 *	view_watch_shutdown();                          at exit: every watcher ends
 *
 * A watcher is a pure client of the mount: it reads NAME/status,
 * NAME/screenshot.png, NAME/observation.json and follows NAME/events. It
 * runs only while someone is looking (a request within VIEW_IDLE_MS).
 */
#ifndef DESKFS_VIEW_H
#define DESKFS_VIEW_H

#include <stddef.h>
#include <stdint.h>

#define VIEW_IDLE_MS 30000 /* a watcher nobody asked for this long ends */

struct view_watch;

int view_watch_init(const char *mount);
/* NULL with errno set: EINVAL a bad name, ENOENT no such session, EACCES not ours */
struct view_watch *view_watch_get(const char *name);
void view_watch_put(struct view_watch *w);
/*
 * The session's state as JSON once its generation is past `after`, or after
 * timeout_ms with the current one: {"gen":N,"status":"ready","gone":false,
 * "observation":{...}|null,"events":[...last event lines...]}. *json is the
 * caller's to free. 0 or -errno.
 */
int view_watch_state(struct view_watch *w, uint64_t after, int timeout_ms, char **json);
/* A copy of the latest screenshot (the caller frees *png) and its generation. */
int view_watch_frame(struct view_watch *w, char **png, size_t *len, uint64_t *gen);
void view_watch_shutdown(void);

/* page.c: the session page and its script; the index is built in main.c */
extern const char view_page_html[];

#endif
