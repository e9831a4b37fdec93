/*
 * outbox.c — copy the change log's tail into the node's git feed.
 * One writer per feed (a lock file next to the repository), batches of
 * change sets appended with gitfeed, a repack once old packs pile up, and
 * the repair of a replica that lost a pack (the own feed written again
 * from the change log); git work goes through gitfeed/gitrepo, never a raw
 * libgit2 handle.
 */
#include "outbox.h"
#include "lockfile.h"
#include "clock.h"
#include "error.h"
#include "killpoint.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <time.h>
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
	int fd = hj_lockfile_take(path, 1);
	if (fd < 0) {
		free(repo);
		return fd;
	}
	snprintf(path, sizeof path, "%s/%s.lock", repo, ref);
	if (unlink(path) != 0 && errno != ENOENT) {
		close(fd);
		fd = hj_error_set(HJ_ERROR, "%s: %s", path, strerror(errno));
	}
	free(repo);
	return fd;
}

#define REPACK_AT 32     /* old packs: beyond this every lookup slows down */
#define REPACK_GRACE 300 /* seconds: a younger pack may belong to a push or
			  * fetch whose ref has not moved yet (git gc keeps
			  * such a grace too), so it is never removed */

static int is_pack(const char *name)
{
	size_t l = strlen(name);
	return l >= 6 && strncmp(name, "pack-", 5) == 0 && strcmp(name + l - 5, ".pack") == 0;
}

static int is_old_pack(const char *dir, const char *name, time_t now)
{
	char path[4400];
	struct stat sb;
	if (!is_pack(name))
		return 0;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return stat(path, &sb) == 0 && now - sb.st_mtime > REPACK_GRACE;
}

static int repack(hj_gitrepo *repo, const char *dir, time_t now, int all);

/* Each flush writes one pack, and libgit2 has no gc: a county recording
 * one application per command piles up packs, and every object lookup
 * walks them all (measured: 24 ms per apply at 250 packs, 97 ms at 2000).
 * Past REPACK_AT packs, everything reachable from a ref is written into
 * one new pack and the old packs (older than REPACK_GRACE) are removed. Runs under the outbox lock;
 * objects reachable from no ref (none that huiji needs) are dropped. */

static int repack_if_needed(hj_gitrepo *repo)
{
	char dir[4096];
	DIR *d;
	struct dirent *de;
	int packs = 0;
	snprintf(dir, sizeof dir, "%sobjects/pack", hj_gitrepo_path(repo));
	if (!(d = opendir(dir)))
		return 0;
	time_t now = (time_t)(hj_clock_ms() / 1000);
	while ((de = readdir(d)))
		packs += is_old_pack(dir, de->d_name, now);
	closedir(d);
	if (packs <= REPACK_AT)
		return 0;
	return repack(repo, dir, now, 0);
}

/* Write everything reachable from a ref into one new pack, then remove
 * the old packs: those older than REPACK_GRACE, or with `all` every other
 * one (only under both the sync and the outbox lock: then no push, fetch
 * or flush of this node is in flight). */
static int repack(hj_gitrepo *repo, const char *dir, time_t now, int all)
{
	DIR *d;
	struct dirent *de;
	int rc;
	char name[GIT_OID_HEXSZ + 1];
	if ((rc = hj_gitrepo_repack(repo, name, sizeof name)))
		return rc;
	char keep[128];
	snprintf(keep, sizeof keep, "pack-%s.", name);
	/* The new pack is on disk (fsync is on): only now drop the old. */
	if ((d = opendir(dir))) {
		while ((de = readdir(d))) {
			size_t l = strlen(de->d_name);
			if (!(all ? is_pack(de->d_name) : is_old_pack(dir, de->d_name, now)) ||
			    strncmp(de->d_name, keep, strlen(keep)) == 0)
				continue;
			/* pack-X.pack is old: drop it and its index. */
			char path[4400];
			snprintf(path, sizeof path, "%s/%.*s.idx", dir, (int)(l - 5), de->d_name);
			unlink(path);
			snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
			unlink(path);
		}
		closedir(d);
	}
	return hj_gitrepo_refresh(repo); /* forget the packs just removed */
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
	if (!rc)
		rc = repack_if_needed(repo);
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
			const void *blob = sqlite3_column_blob(st, 1);
			size_t len = (size_t)sqlite3_column_bytes(st, 1);
			uint8_t *copy = malloc(len ? len : 1);
			if (!copy || (len && !blob)) { /* a NULL blob of length > 0: SQLite ran out of memory */
				free(copy);
				rc = hj_error_set(HJ_ENOMEM, "out of memory");
				break;
			}
			if (len)
				memcpy(copy, blob, len);
			items[k].bytes = copy;
			items[k].len = len;
			items[k].seq = (uint64_t)sqlite3_column_int64(st, 0);
			items[k].created_at = sqlite3_column_int64(st, 2);
			k++;
		}
		sqlite3_finalize(st);
		if (rc == 0 && k && (rc = hj_gitfeed_append(repo, ref, n->id, items, k)) == 0)
			hj_killpoint("outbox-appended");
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

/* ---- repair ---- */

/* Read a whole small file region: 0, or -1 if it cannot be read. */
static int read_at(const char *path, long from_end, uint8_t *out, size_t n, off_t *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	int ok = fd >= 0 && fstat(fd, &sb) == 0 && sb.st_size >= from_end &&
		 pread(fd, out, n, sb.st_size - from_end) == (ssize_t)n;
	if (ok && size)
		*size = sb.st_size;
	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

/* A pack is kept if its .pack exists and ends with the checksum its .idx
 * records (an index of version 2 ends with the pack's SHA-1, then its
 * own): a deleted or truncated pack fails this, and libgit2 would go on
 * promising its objects from the index. A .pack without .idx is invisible
 * to libgit2 and left alone (an indexer may be about to write the .idx). */
static int pack_is_broken(const char *dir, const char *idxname)
{
	char path[4500];
	uint8_t want[20], got[20];
	off_t size = 0;
	size_t l = strlen(idxname);
	snprintf(path, sizeof path, "%s/%s", dir, idxname);
	if (read_at(path, 40, want, sizeof want, NULL) != 0)
		return 1;
	snprintf(path, sizeof path, "%s/%.*s.pack", dir, (int)(l - 4), idxname);
	if (read_at(path, 20, got, sizeof got, &size) != 0 || size < 32)
		return 1;
	return memcmp(want, got, 20) != 0;
}

/* Remove every broken pack (its .idx first, so libgit2 never sees an
 * index without its pack); *dropped counts them. */
static int drop_broken_packs(const char *repo_path, int *dropped)
{
	char dir[4200];
	DIR *d;
	struct dirent *de;
	snprintf(dir, sizeof dir, "%s/objects/pack", repo_path);
	if (!(d = opendir(dir)))
		return errno == ENOENT ? 0 : hj_error_set(HJ_ERROR, "%s: %s", dir, strerror(errno));
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l < 10 || strncmp(de->d_name, "pack-", 5) != 0 || strcmp(de->d_name + l - 4, ".idx") != 0 ||
		    !pack_is_broken(dir, de->d_name))
			continue;
		char path[4500];
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		int gone = unlink(path) == 0 || errno == ENOENT;
		snprintf(path, sizeof path, "%s/%.*s.pack", dir, (int)(l - 4), de->d_name);
		if (!gone || (unlink(path) != 0 && errno != ENOENT)) {
			int rc = hj_error_set(HJ_ERROR, "removing broken pack %s: %s", path, strerror(errno));
			closedir(d);
			return rc;
		}
		(*dropped)++;
	}
	closedir(d);
	return 0;
}

static int no_op(void *ctx, uint64_t seq, const git_oid *commit, const uint8_t *bytes, size_t len)
{
	(void)ctx, (void)seq, (void)commit, (void)bytes, (void)len;
	return 0;
}

/* 1 if the own feed at `ref` does not read back (its tip, and with
 * `whole` every commit and change set below it), 0 if it does, negative
 * if that cannot be told (out of memory). */
static int own_feed_broken(hj_gitrepo *repo, const char *ref, const char *node, int whole)
{
	git_oid tip;
	uint64_t seq = 0;
	int rc = hj_gitfeed_tip(repo, ref, &seq, &tip);
	if (!rc && seq && whole)
		rc = hj_gitfeed_walk(repo, &tip, node, 0, no_op, NULL);
	return rc == HJ_ENOMEM ? rc : rc != 0;
}

int hj_outbox_repair(const hj_node *n, int whole, int *repaired)
{
	hj_gitrepo *repo = NULL;
	char ref[128], *path = hj_node_repo_path(n);
	int dropped = 0, rc, lock = -1;

	*repaired = 0;
	if (!path)
		return hj_error_set(HJ_ENOMEM, "out of memory");
	hj_node_feed_ref(n, ref, sizeof ref);
	if ((lock = rc = take_writer_lock(n, ref)) < 0)
		goto done;
	if ((rc = drop_broken_packs(path, &dropped)))
		goto done;
	/* A handle opened after the removal: libgit2 keeps the index of a
	 * removed pack loaded (and its objects "present") until reopened. */
	if ((rc = hj_node_repo_open(&repo, n)) || (rc = own_feed_broken(repo, ref, n->id, whole)) < 0)
		goto done;
	if (rc == 1) {
		/* SQLite is the source of truth of the node's own change sets
		 * and commits are deterministic (gitfeed.h): written again,
		 * they get the ids the hub already holds. Objects still on
		 * disk are not written twice (hj_gitfeed_append). */
		if ((rc = hj_gitrepo_ref_delete(repo, ref)) && rc != HJ_ENOTFOUND)
			goto done;
		if ((rc = flush_locked(n, repo, ref, NULL)))
			goto done;
		if ((rc = own_feed_broken(repo, ref, n->id, 1)) != 0) {
			if (rc > 0)
				rc = hj_error_set(HJ_ECORRUPT, "feed %s does not read back from %s after it was written "
						  "again from the change log", n->id, path);
			goto done;
		}
		dropped++;
	}
	*repaired = dropped > 0;
done:
	if (lock >= 0)
		close(lock);
	hj_gitrepo_close(repo);
	free(path);
	return rc;
}

int hj_outbox_compact(const hj_node *n)
{
	hj_gitrepo *repo = NULL;
	char ref[128], dir[4200];
	int rc, lock;
	hj_node_feed_ref(n, ref, sizeof ref);
	if ((lock = take_writer_lock(n, ref)) < 0)
		return lock;
	if (!(rc = hj_node_repo_open(&repo, n))) {
		snprintf(dir, sizeof dir, "%sobjects/pack", hj_gitrepo_path(repo));
		rc = repack(repo, dir, 0, 1);
	}
	hj_gitrepo_close(repo);
	close(lock);
	return rc;
}
