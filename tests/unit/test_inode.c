/*
 * test_inode.c - fs/inode.c: numbers never reused, (parent, name) finds the
 * same inode while it means the same thing, a name that means something
 * new gets a new inode while the old one lives on by number, FORGET frees
 * at zero lookups and no references, the root is pinned, and the table
 * grows past its first size.
 */
#include "tests/unit/check.h"
#include "fs/inode.h"

#include <stdio.h>
#include <string.h>


/* Rows are opaque to the table: any distinct addresses do. */
static const int row_a, row_b;
#define ROW_A ((const struct fs_node *)&row_a)
#define ROW_B ((const struct fs_node *)&row_b)

int main(void)
{
	CHECK("init makes the root", fs_inode_init(ROW_A) == 0);
	struct fs_inode *root = fs_inode_get(FUSE_ROOT_ID);
	CHECK("the root is inode 1", root && root->ino == FUSE_ROOT_ID);

	struct fs_inode *a = fs_inode_child(root, "s1", 7, ROW_B, NULL);
	CHECK("a child gets a new number", a && a->ino > FUSE_ROOT_ID && a->sid == 7);
	fs_inode_remember(a);
	struct fs_inode *a2 = fs_inode_child(root, "s1", 7, ROW_B, NULL);
	CHECK("the same name, the same meaning: the same inode", a2 == a);
	fs_inode_put(a2);
	fuse_ino_t old = a->ino;

	/* the session was destroyed and made again: sid 8 now */
	struct fs_inode *b = fs_inode_child(root, "s1", 8, ROW_B, NULL);
	CHECK("a name that means something new gets a new inode", b && b != a && b->ino > old);
	struct fs_inode *still = fs_inode_get(old);
	CHECK("  the old one is still there by number (the kernel holds it)", still == a);
	fs_inode_put(still);
	struct fs_inode *found = fs_inode_find(FUSE_ROOT_ID, "s1");
	CHECK("  and the name finds the new one", found == b);
	fs_inode_put(found);
	size_t n0 = fs_inode_count();
	fs_inode_put(a);
	fs_inode_forget(old, 1);
	CHECK("FORGET of the last lookup frees it", !fs_inode_get(old) && fs_inode_count() == n0 - 1);

	fs_inode_remember(b);
	fs_inode_forget(b->ino, 5); /* more than it had: clamps at zero */
	CHECK("an inode with a reference outlives its FORGET", fs_inode_get(b->ino) == b);
	fs_inode_put(b);
	fuse_ino_t bino = b->ino;
	fs_inode_put(b);
	CHECK("  and goes with the reference", !fs_inode_get(bino));

	fs_inode_forget(FUSE_ROOT_ID, 100);
	CHECK("the root is pinned", fs_inode_get(FUSE_ROOT_ID) == root);
	fs_inode_put(root);

	/* arguments are part of the meaning */
	struct fs_inode *x = fs_inode_child(root, "log", 1, ROW_A, "xvfb.log");
	struct fs_inode *y = fs_inode_child(root, "log", 1, ROW_A, "agent.log");
	CHECK("a different argument is a different inode", x && y && x != y && strcmp(y->arg, "agent.log") == 0);
	fs_inode_put(x);
	fs_inode_put(y);

	/* growth: many names, all found again */
	char name[32];
	int ok = 1;
	fuse_ino_t first = 0;
	for (int i = 0; i < 5000 && ok; i++) {
		snprintf(name, sizeof name, "n%d", i);
		struct fs_inode *in = fs_inode_child(root, name, 1, ROW_A, NULL);
		ok = in != NULL;
		if (in) {
			if (!first)
				first = in->ino;
			fs_inode_remember(in);
			fs_inode_put(in);
		}
	}
	for (int i = 0; i < 5000 && ok; i++) {
		snprintf(name, sizeof name, "n%d", i);
		struct fs_inode *in = fs_inode_find(FUSE_ROOT_ID, name);
		ok = in && in->ino == first + (fuse_ino_t)i;
		fs_inode_put(in);
	}
	CHECK("5000 names grow the table and are all found again", ok);
	for (int i = 0; i < 5000; i++)
		fs_inode_forget(first + (fuse_ino_t)i, 1);
	CHECK("and all go when forgotten", fs_inode_find(FUSE_ROOT_ID, "n42") == NULL);

	/* files/: a rename moves the inode, and every inode under it follows */
	char arg[64];
	struct fs_inode *f = fs_inode_child(root, "files", 9, ROW_A, "/");
	struct fs_inode *d = fs_inode_child(f, "d", 9, ROW_A, "/d");
	struct fs_inode *dx = fs_inode_child(d, "x", 9, ROW_B, "/d/x");
	struct fs_inode *dd = fs_inode_child(f, "dd", 9, ROW_B, "/dd"); /* "/d" is a prefix only */
	struct fs_inode *o = fs_inode_child(f, "e", 9, ROW_B, "/e");    /* the rename's victim */
	struct fs_inode *other = fs_inode_child(root, "d", 10, ROW_A, "/d"); /* another session */
	fs_inode_rename(f->ino, "d", f->ino, "e", 9, "/d", "/e", 0);
	CHECK("rename: the inode is found under its new name", fs_inode_find(f->ino, "e") == d);
	fs_inode_put(d);
	CHECK("  and no longer under its old one", fs_inode_find(f->ino, "d") == NULL);
	CHECK("  its argument is the new path", fs_inode_arg(d, arg, sizeof arg) == 0 && !strcmp(arg, "/e"));
	CHECK("  what is below it follows", fs_inode_arg(dx, arg, sizeof arg) == 0 && !strcmp(arg, "/e/x"));
	CHECK("  a name that only starts the same does not",
	      fs_inode_arg(dd, arg, sizeof arg) == 0 && !strcmp(arg, "/dd"));
	CHECK("  another session's does not", fs_inode_arg(other, arg, sizeof arg) == 0 && !strcmp(arg, "/d"));
	CHECK("  the file it replaced lives on by number only",
	      fs_inode_get(o->ino) == o && fs_inode_find(f->ino, "e") != o);
	fs_inode_put(o);
	fs_inode_put(fs_inode_find(f->ino, "e"));
	fs_inode_rename(f->ino, "e", f->ino, "dd", 9, "/e", "/dd", 1);
	CHECK("exchange: each has the other's path",
	      fs_inode_arg(d, arg, sizeof arg) == 0 && !strcmp(arg, "/dd") &&
		  fs_inode_arg(dd, arg, sizeof arg) == 0 && !strcmp(arg, "/e"));
	CHECK("  and their children follow", fs_inode_arg(dx, arg, sizeof arg) == 0 && !strcmp(arg, "/dd/x"));
	fs_inode_unhash(f->ino, "dd");
	CHECK("unhash: the name finds nothing", fs_inode_find(f->ino, "dd") == NULL);
	CHECK("  the inode lives on by number", fs_inode_get(d->ino) == d);
	fs_inode_put(d);
	struct fs_inode *rows[] = {f, d, dx, dd, o, other};
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
		fs_inode_put(rows[i]);
	fs_inode_put(root);
	return check_done();
}
