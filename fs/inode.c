/*
 * inode.c - the inode table; see inode.h. Two chained hash tables (by
 * number, by parent and name) that grow by doubling.
 */
#include "fs/inode.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
	pthread_mutex_t lock;
	struct fs_inode **by_ino, **by_name; /* lock */
	size_t cap, count;                   /* lock */
	fuse_ino_t next;                     /* lock: the next number */
} tab = {.lock = PTHREAD_MUTEX_INITIALIZER, .next = FUSE_ROOT_ID};

static size_t hash_ino(fuse_ino_t ino, size_t cap)
{
	return (size_t)((ino * 0x9e3779b97f4a7c15ull) >> 17) & (cap - 1);
}

static size_t hash_name(fuse_ino_t parent, const char *name, size_t cap)
{
	uint64_t h = 1469598103934665603ull ^ parent;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return (size_t)h & (cap - 1);
}

static void link_locked(struct fs_inode *in)
{
	size_t i = hash_ino(in->ino, tab.cap), j = hash_name(in->parent, in->name, tab.cap);
	in->next_ino = tab.by_ino[i];
	tab.by_ino[i] = in;
	in->next_name = tab.by_name[j];
	tab.by_name[j] = in;
	in->hashed = 1;
}

static void unhash_name_locked(struct fs_inode *in)
{
	if (!in->hashed)
		return;
	struct fs_inode **pp = &tab.by_name[hash_name(in->parent, in->name, tab.cap)];
	while (*pp && *pp != in)
		pp = &(*pp)->next_name;
	if (*pp)
		*pp = in->next_name;
	in->hashed = 0;
}

static int grow_locked(void)
{
	size_t cap = tab.cap ? tab.cap * 2 : 1024;
	struct fs_inode **bi = calloc(cap, sizeof *bi), **bn = calloc(cap, sizeof *bn);
	if (!bi || !bn) {
		free(bi);
		free(bn);
		return -1;
	}
	struct fs_inode **oi = tab.by_ino, **on = tab.by_name;
	size_t ocap = tab.cap;
	tab.by_ino = bi;
	tab.by_name = bn;
	tab.cap = cap;
	for (size_t k = 0; k < ocap; k++) {
		for (struct fs_inode *in = oi[k], *next; in; in = next) {
			next = in->next_ino;
			int hashed = in->hashed;
			size_t i = hash_ino(in->ino, cap);
			in->next_ino = bi[i];
			bi[i] = in;
			in->next_name = NULL;
			if (hashed) {
				size_t j = hash_name(in->parent, in->name, cap);
				in->next_name = bn[j];
				bn[j] = in;
			}
		}
	}
	free(oi);
	free(on);
	return 0;
}

static struct fs_inode *by_ino_locked(fuse_ino_t ino)
{
	if (!tab.cap)
		return NULL;
	struct fs_inode *in = tab.by_ino[hash_ino(ino, tab.cap)];
	while (in && in->ino != ino)
		in = in->next_ino;
	return in;
}

static struct fs_inode *by_name_locked(fuse_ino_t parent, const char *name)
{
	if (!tab.cap)
		return NULL;
	struct fs_inode *in = tab.by_name[hash_name(parent, name, tab.cap)];
	while (in && (in->parent != parent || strcmp(in->name, name) != 0))
		in = in->next_name;
	return in;
}

static struct fs_inode *make_locked(fuse_ino_t parent, const char *name, uint64_t sid,
				    const struct fs_node *node, const char *arg)
{
	if (tab.count >= tab.cap / 2 && grow_locked() < 0)
		return NULL;
	struct fs_inode *in = calloc(1, sizeof *in);
	if (!in || !(in->name = strdup(name)) || (arg && !(in->arg = strdup(arg)))) {
		if (in)
			free(in->name);
		free(in);
		return NULL;
	}
	in->ino = tab.next++;
	in->parent = parent;
	in->sid = sid;
	in->node = node;
	link_locked(in);
	tab.count++;
	return in;
}

static void free_locked(struct fs_inode *in)
{
	unhash_name_locked(in);
	struct fs_inode **pp = &tab.by_ino[hash_ino(in->ino, tab.cap)];
	while (*pp && *pp != in)
		pp = &(*pp)->next_ino;
	if (*pp)
		*pp = in->next_ino;
	tab.count--;
	free(in->name);
	free(in->arg);
	free(in);
}

/* Nobody holds it and the kernel forgot it: it goes (never the root). */
static void maybe_free_locked(struct fs_inode *in)
{
	if (in->refs == 0 && in->nlookup == 0 && in->ino != FUSE_ROOT_ID)
		free_locked(in);
}

int fs_inode_init(const struct fs_node *root)
{
	pthread_mutex_lock(&tab.lock);
	struct fs_inode *in = by_ino_locked(FUSE_ROOT_ID);
	if (!in)
		in = make_locked(0, "/", 0, root, NULL);
	if (in)
		in->nlookup = 1; /* the kernel holds the root for the mount's life */
	pthread_mutex_unlock(&tab.lock);
	return in ? 0 : -1;
}

struct fs_inode *fs_inode_get(fuse_ino_t ino)
{
	pthread_mutex_lock(&tab.lock);
	struct fs_inode *in = by_ino_locked(ino);
	if (in)
		in->refs++;
	pthread_mutex_unlock(&tab.lock);
	return in;
}

void fs_inode_put(struct fs_inode *in)
{
	if (!in)
		return;
	pthread_mutex_lock(&tab.lock);
	in->refs--;
	maybe_free_locked(in);
	pthread_mutex_unlock(&tab.lock);
}

void fs_inode_unhash(fuse_ino_t parent, const char *name)
{
	pthread_mutex_lock(&tab.lock);
	struct fs_inode *in = by_name_locked(parent, name);
	if (in) {
		unhash_name_locked(in);
		maybe_free_locked(in);
	}
	pthread_mutex_unlock(&tab.lock);
}

struct fs_inode *fs_inode_find(fuse_ino_t parent, const char *name)
{
	pthread_mutex_lock(&tab.lock);
	struct fs_inode *in = by_name_locked(parent, name);
	if (in)
		in->refs++;
	pthread_mutex_unlock(&tab.lock);
	return in;
}

struct fs_inode *fs_inode_child(struct fs_inode *parent, const char *name, uint64_t sid,
				const struct fs_node *node, const char *arg)
{
	pthread_mutex_lock(&tab.lock);
	struct fs_inode *in = by_name_locked(parent->ino, name);
	if (in && (in->sid != sid || in->node != node ||
		   (in->arg ? !arg || strcmp(in->arg, arg) != 0 : arg != NULL))) {
		/* the name means something new now: the old inode lives on by number only */
		unhash_name_locked(in);
		maybe_free_locked(in);
		in = NULL;
	}
	if (!in)
		in = make_locked(parent->ino, name, sid, node, arg);
	if (in)
		in->refs++;
	pthread_mutex_unlock(&tab.lock);
	return in;
}

void fs_inode_remember(struct fs_inode *in)
{
	pthread_mutex_lock(&tab.lock);
	in->nlookup++;
	pthread_mutex_unlock(&tab.lock);
}

void fs_inode_forget(fuse_ino_t ino, uint64_t n)
{
	pthread_mutex_lock(&tab.lock);
	struct fs_inode *in = by_ino_locked(ino);
	if (in && ino != FUSE_ROOT_ID) {
		in->nlookup = n > in->nlookup ? 0 : in->nlookup - n;
		maybe_free_locked(in);
	}
	pthread_mutex_unlock(&tab.lock);
}

int fs_inode_arg(struct fs_inode *in, char *out, size_t len)
{
	pthread_mutex_lock(&tab.lock);
	int n = snprintf(out, len, "%s", in->arg ? in->arg : "");
	pthread_mutex_unlock(&tab.lock);
	return n < (int)len ? 0 : -ENAMETOOLONG;
}

/* "from/x" -> "to/x" (the caller knows arg starts with from + "/"). NULL on ENOMEM. */
static char *reprefix(const char *arg, size_t flen, const char *to)
{
	size_t tl = strlen(to), rl = strlen(arg + flen);
	char *n = malloc(tl + rl + 1);
	if (n) {
		memcpy(n, to, tl);
		memcpy(n + tl, arg + flen, rl + 1);
	}
	return n;
}

static int under(const char *arg, const char *dir, size_t dl)
{
	/* "/" holds everything; otherwise dir + "/" */
	if (dl == 1 && dir[0] == '/')
		return arg[0] == '/' && arg[1];
	return strncmp(arg, dir, dl) == 0 && arg[dl] == '/';
}

/* Move the inode at (parent, name), if known, to (np, nn) with path p. */
static void move_locked(struct fs_inode *in, fuse_ino_t np, const char *nn, const char *p)
{
	char *name = strdup(nn), *arg = strdup(p);
	if (!name || !arg) { /* cannot follow it: it stays findable by number only */
		free(name);
		free(arg);
		unhash_name_locked(in);
		maybe_free_locked(in);
		return;
	}
	unhash_name_locked(in);
	free(in->name);
	free(in->arg);
	in->name = name;
	in->arg = arg;
	in->parent = np;
	/* link_locked puts it on the number chain again: take it off first */
	struct fs_inode **pp = &tab.by_ino[hash_ino(in->ino, tab.cap)];
	while (*pp && *pp != in)
		pp = &(*pp)->next_ino;
	if (*pp)
		*pp = in->next_ino;
	link_locked(in);
}

void fs_inode_rename(fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		     const char *newname, uint64_t sid, const char *from, const char *to,
		     int exchange)
{
	size_t fl = strlen(from), tl = strlen(to);
	pthread_mutex_lock(&tab.lock);
	struct fs_inode *src = by_name_locked(parent, name);
	struct fs_inode *dst = by_name_locked(newparent, newname);
	/* every inode below either path follows its directory */
	for (size_t k = 0; k < tab.cap; k++) {
		for (struct fs_inode *in = tab.by_ino[k]; in; in = in->next_ino) {
			if (in->sid != sid || !in->arg || in->arg[0] != '/')
				continue;
			char *n = NULL;
			if (under(in->arg, from, fl))
				n = reprefix(in->arg, fl, to);
			else if (exchange && under(in->arg, to, tl))
				n = reprefix(in->arg, tl, from);
			else
				continue;
			if (n) {
				free(in->arg);
				in->arg = n;
			}
		}
	}
	if (dst && dst != src) {
		if (exchange) {
			move_locked(dst, parent, name, from);
		} else {
			unhash_name_locked(dst); /* replaced: by number only, until forgotten */
			maybe_free_locked(dst);
		}
	}
	if (src)
		move_locked(src, newparent, newname, to);
	pthread_mutex_unlock(&tab.lock);
}

size_t fs_inode_size_hint(struct fs_inode *in)
{
	pthread_mutex_lock(&tab.lock);
	size_t n = in->size_hint;
	pthread_mutex_unlock(&tab.lock);
	return n;
}

void fs_inode_set_size_hint(struct fs_inode *in, size_t n)
{
	pthread_mutex_lock(&tab.lock);
	in->size_hint = n;
	pthread_mutex_unlock(&tab.lock);
}

size_t fs_inode_count(void)
{
	pthread_mutex_lock(&tab.lock);
	size_t n = tab.count;
	pthread_mutex_unlock(&tab.lock);
	return n;
}
