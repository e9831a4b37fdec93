/*
 * outbox.c — copy the change log's tail into the node's git feed.
 */
#include "outbox.h"
#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/file.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OUTBOX_BATCH 1000 /* change sets per pack: >= 100 keeps packs few */

void hj_node_feed_ref(const hj_node *n, char *out, size_t outsz)
{
	snprintf(out, outsz, "refs/huiji/%s/%s", n->is_root ? "hub" : "feeds", n->id);
}

char *hj_node_repo_path(const hj_node *n)
{
	return hj_node_path(n, n->is_root ? "hub.git" : "replica.git");
}

int hj_node_repo_open(hj_gitrepo **out, const hj_node *n)
{
	char *path = hj_node_repo_path(n);
	if (!path)
		return hj_error_set(HJ_ENOMEM, "out of memory");
	int rc = hj_gitrepo_open(out, path, 1);
	free(path);
	return rc;
}

static int flush_locked(const hj_node *n, hj_gitrepo *repo, const char *ref, uint64_t *written);

/* Only outbox flushes write a node's own feed ref, and each holds this
 * lock; so a ref lock file found while holding it was left by a process
 * killed mid-write (libgit2 cannot clean up after SIGKILL) and is removed,
 * or the feed would never move again. Returns the fd to close, or < 0. */
static int take_writer_lock(const hj_node *n, const char *ref)
{
	char *repo = hj_node_repo_path(n);
	char path[4096];
	if (!repo)
		return hj_error_set(HJ_ENOMEM, "out of memory");
	snprintf(path, sizeof path, "%s/huiji-outbox.lock", repo);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) != 0) {
		int rc = hj_error_set(HJ_ERROR, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(repo);
		return rc;
	}
	snprintf(path, sizeof path, "%s/%s.lock", repo, ref);
	if (unlink(path) != 0 && errno != ENOENT) {
		close(fd);
		fd = hj_error_set(HJ_ERROR, "%s: %s", path, strerror(errno));
	}
	free(repo);
	return fd;
}

int hj_outbox_flush(const hj_node *n, hj_gitrepo *repo, uint64_t *written)
{
	char ref[128];
	int rc;

	if (written)
		*written = 0;
	hj_node_feed_ref(n, ref, sizeof ref);
	int lock = take_writer_lock(n, ref);
	if (lock < 0)
		return lock;
	rc = flush_locked(n, repo, ref, written);
	close(lock);
	return rc;
}

static int flush_locked(const hj_node *n, hj_gitrepo *repo, const char *ref, uint64_t *written)
{
	uint64_t tip = 0;
	int rc;
	if ((rc = hj_gitfeed_tip(repo, ref, &tip, NULL)))
		return rc;
	for (;;) {
		hj_feed_item items[OUTBOX_BATCH];
		size_t k = 0;
		sqlite3_stmt *st = NULL;
		if (sqlite3_prepare_v2(n->db->h, "SELECT seq, envelope, created_at FROM changelog "
						 "WHERE seq > ?1 ORDER BY seq LIMIT ?2", -1, &st, NULL) != SQLITE_OK)
			return hj_db_error(n->db, "outbox");
		sqlite3_bind_int64(st, 1, (int64_t)tip);
		sqlite3_bind_int(st, 2, OUTBOX_BATCH);
		/* The blobs stay valid until the statement steps again, so the
		 * whole batch is read first and copied. */
		while ((rc = hj_db_step(n->db, st)) == 1) {
			size_t len = (size_t)sqlite3_column_bytes(st, 1);
			uint8_t *copy = malloc(len ? len : 1);
			if (!copy) {
				rc = hj_error_set(HJ_ENOMEM, "out of memory");
				break;
			}
			memcpy(copy, sqlite3_column_blob(st, 1), len);
			items[k].bytes = copy;
			items[k].len = len;
			items[k].seq = (uint64_t)sqlite3_column_int64(st, 0);
			items[k].created_at = sqlite3_column_int64(st, 2);
			k++;
		}
		sqlite3_finalize(st);
		if (rc == 0 && k)
			rc = hj_gitfeed_append(repo, ref, n->id, items, k);
		for (size_t i = 0; i < k; i++)
			free((void *)items[i].bytes);
		if (rc)
			return hj_error_wrap(rc, "writing feed %s to git: ", n->id);
		if (written)
			*written += k;
		if (k < OUTBOX_BATCH)
			return 0;
		tip = items[k - 1].seq;
	}
}
