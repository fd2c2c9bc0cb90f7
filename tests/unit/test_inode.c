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
	fs_inode_put(root);
	return check_done();
}
