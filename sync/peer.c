/*
 * peer.c — following the peer provinces at each hub pass (peer.h): fetch,
 * audit with the pinned key, install the registry only when clean, and
 * record how it went in peer_state. A peer never fails the pass: what
 * goes wrong with it is a row, not an error; only the hub's own registry
 * failing is.
 */
#include "peer.h"
#include "audit.h"
#include "clock.h"
#include "error.h"
#include "gitrepo.h"
#include "lockfile.h"
#include "peer_dup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PEER_TOTAL_MS 120000 /* a peer's fetch and audit may not hold the pass longer */

typedef struct peer_row {
	char province[65], hub_node[65], key[65];
	char *url;
} peer_row;

typedef struct peer_paths {
	char dir[3968], git[4096], db[4096], tmp[4096], lock[4096]; /* dir + "/" + an id of 64 + ".db.tmp" fits */
} peer_paths;

static int list_peers(peer_row **out, size_t *n, hj_db *db)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st = hj_db_stmt(db, "SELECT province, hub_node, key, url FROM peer ORDER BY province");
	int rc = st ? 0 : HJ_ERROR;
	while (!rc && (rc = hj_db_step(db, st)) == 1) {
		peer_row *p = realloc(*out, (*n + 1) * sizeof *p);
		if (!p) {
			rc = hj_error_set(HJ_ENOMEM, "out of memory");
			break;
		}
		*out = p;
		p = &p[(*n)++];
		snprintf(p->province, sizeof p->province, "%s", hj_db_col_text(st, 0));
		snprintf(p->hub_node, sizeof p->hub_node, "%s", hj_db_col_text(st, 1));
		snprintf(p->key, sizeof p->key, "%s", hj_db_col_text(st, 2));
		rc = (p->url = strdup(hj_db_col_text(st, 3))) ? 0 : hj_error_set(HJ_ENOMEM, "out of memory");
	}
	if (st)
		hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

/* What the installed registry reflects: its position and the peer hub
 * feed's commit then ("" when none). */
static int state_get(hj_db *db, const char *prov, uint64_t *hub_seq, char commit[64])
{
	*hub_seq = 0;
	commit[0] = '\0';
	sqlite3_stmt *st = hj_db_stmt(db, "SELECT coalesce(hub_seq, 0), coalesce(head_commit, '') FROM peer_state "
					  "WHERE province = :p");
	if (!st)
		return HJ_ERROR;
	int rc = hj_db_bind_text(st, ":p", prov);
	if (!rc && (rc = hj_db_step(db, st)) == 1) {
		*hub_seq = (uint64_t)sqlite3_column_int64(st, 0);
		snprintf(commit, 64, "%s", hj_db_col_text(st, 1));
	}
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

/* problem NULL: a success at (hub_seq, head, commit); else a failure,
 * the last good position kept. */
static int state_set(hj_db *db, const char *prov, const char *problem, const hj_audit_report *ar, const char *commit)
{
	sqlite3_stmt *st = hj_db_stmt(db, problem
		? "INSERT INTO peer_state(province, failed_at, problem) VALUES (:p, :t, :why) "
		  "ON CONFLICT(province) DO UPDATE SET failed_at = excluded.failed_at, problem = excluded.problem"
		: "INSERT INTO peer_state(province, hub_seq, head, head_commit, checked_at) VALUES (:p, :s, :h, :c, :t) "
		  "ON CONFLICT(province) DO UPDATE SET hub_seq = excluded.hub_seq, head = excluded.head, head_commit = "
		  "excluded.head_commit, checked_at = excluded.checked_at, failed_at = NULL, problem = NULL");
	if (!st)
		return HJ_ERROR;
	int rc = hj_db_bind_text(st, ":p", prov) || hj_db_bind_int(st, ":t", hj_clock_ms()) ||
		 (problem && hj_db_bind_text(st, ":why", problem)) ||
		 (!problem && (hj_db_bind_int(st, ":s", (int64_t)ar->hub_seq) || hj_db_bind_text(st, ":h", ar->hub_head) ||
			       hj_db_bind_text(st, ":c", commit)))
		     ? HJ_ERROR
		     : hj_db_step(db, st);
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

/* Reachable again and where it was: a failure recorded before is over. */
static int state_clear(hj_db *db, const char *prov)
{
	sqlite3_stmt *st = hj_db_stmt(db, "UPDATE peer_state SET failed_at = NULL, problem = NULL WHERE province = :p");
	if (!st)
		return HJ_ERROR;
	int rc = hj_db_bind_text(st, ":p", prov);
	if (!rc)
		rc = hj_db_step(db, st);
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

/* Bytes under `path` (files only; depth bounded: a git directory is
 * shallow). */
static uint64_t tree_bytes(const char *path, int depth)
{
	struct stat sb;
	uint64_t sum = 0;
	if (lstat(path, &sb) != 0)
		return 0;
	if (!S_ISDIR(sb.st_mode))
		return S_ISREG(sb.st_mode) ? (uint64_t)sb.st_size : 0;
	DIR *d = depth < 8 ? opendir(path) : NULL;
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char sub[4096];
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if ((size_t)snprintf(sub, sizeof sub, "%s/%s", path, de->d_name) < sizeof sub)
			sum += tree_bytes(sub, depth + 1);
	}
	if (d)
		closedir(d);
	return sum;
}

static int fsync_path(const char *path, int dir)
{
	int fd = open(path, O_RDONLY | (dir ? O_DIRECTORY : 0));
	if (fd < 0 || fsync(fd) != 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return hj_error_set(HJ_ERROR, "fsync %s: %s", path, strerror(e));
	}
	close(fd);
	return 0;
}

/* The peer's hub feed tip as its server lists it (*tip, hex), or a
 * problem. */
static int remote_tip(char tip[64], const peer_row *p, const peer_paths *pp, const hj_net_opts *net)
{
	hj_gitrepo *repo = NULL;
	hj_remote_ref *refs = NULL;
	size_t n = 0;
	char want[160];
	snprintf(want, sizeof want, "refs/huiji/hub/%s", p->hub_node);
	tip[0] = '\0';
	int rc = hj_gitrepo_open(&repo, pp->git, 1);
	if (!rc)
		rc = hj_transport_ls(&refs, &n, repo, p->url, "refs/huiji/hub/", net);
	for (size_t i = 0; !rc && i < n; i++)
		if (strcmp(refs[i].name, want) == 0)
			git_oid_tostr(tip, 64, &refs[i].oid);
	if (!rc && !tip[0])
		rc = hj_error_set(HJ_ENOTFOUND, "%s holds no %s (not the enrolled hub node?)", p->url, want);
	free(refs);
	hj_gitrepo_close(repo);
	return rc;
}

/* Audit and install. 0 installed; else a problem (message set). */
static int audit_install(hj_audit_report *ar, char commit[64], hj_node *hub, const peer_row *p,
			 const peer_paths *pp, uint64_t held_seq, const hj_net_opts *net)
{
	hj_gitrepo *repo = NULL;
	git_oid oid;
	char ref[160];
	unlink(pp->tmp); /* a killed pass's */
	int rc = hj_audit_keep(ar, p->url, p->key, hub->person_secret, pp->git, net, pp->tmp);
	if (rc)
		return hj_error_wrap(rc, "the audit could not run: ");
	if (ar->nproblems)
		return hj_error_set(HJ_EBADSIG, "the audit found %zu discrepancies, the first: %.300s", ar->nproblems,
				    ar->problems[0]);
	if (strcmp(ar->hub, p->hub_node) != 0)
		return hj_error_set(HJ_EBADSIG, "its hub feed is %s's, not the enrolled %s's", ar->hub, p->hub_node);
	if (ar->hub_seq < held_seq)
		return hj_error_set(HJ_EBADSIG, "its hub feed went back to change set %" PRIu64 " from %" PRIu64
				    " held here (rewritten?)", ar->hub_seq, held_seq);
	uint64_t bytes = tree_bytes(pp->git, 0);
	if (bytes > HJ_PEER_MAX_BYTES)
		return hj_error_set(HJ_ETOOBIG, "its repository is %" PRIu64 " bytes here, over the %llu allowed", bytes,
				    (unsigned long long)HJ_PEER_MAX_BYTES);
	snprintf(ref, sizeof ref, "refs/huiji/hub/%s", p->hub_node);
	if ((rc = hj_gitrepo_open(&repo, pp->git, 0)) || (rc = hj_gitrepo_ref_get(&oid, repo, ref)))
		goto done;
	git_oid_tostr(commit, 64, &oid);
	if ((rc = fsync_path(pp->tmp, 0)))
		goto done;
	if (rename(pp->tmp, pp->db) != 0) {
		rc = hj_error_set(HJ_ERROR, "rename %s: %s", pp->tmp, strerror(errno));
		goto done;
	}
	rc = fsync_path(pp->dir, 1);
done:
	hj_gitrepo_close(repo);
	return rc;
}

/* One peer. Returns <0 only for the hub registry's own failures. */
static int follow_one(hj_peer_report *rep, hj_node *hub, const peer_row *p, const hj_net_opts *net)
{
	peer_paths pp;
	hj_audit_report ar;
	char tip[64], held[64], commit[64] = "";
	uint64_t held_seq = 0;
	snprintf(pp.dir, sizeof pp.dir, "%s/peers", hub->dir);
	snprintf(pp.git, sizeof pp.git, "%s/%s.git", pp.dir, p->province);
	snprintf(pp.db, sizeof pp.db, "%s/%s.db", pp.dir, p->province);
	snprintf(pp.tmp, sizeof pp.tmp, "%s/%s.db.tmp", pp.dir, p->province);
	snprintf(pp.lock, sizeof pp.lock, "%s/%s.lock", pp.dir, p->province);
	int rc = state_get(hub->db, p->province, &held_seq, held);
	if (rc)
		return rc;
	if (mkdir(pp.dir, 0700) != 0 && errno != EEXIST) {
		hj_error_set(HJ_ERROR, "mkdir %s: %s", pp.dir, strerror(errno));
		goto failed;
	}
	int lock = hj_lockfile_take(pp.lock, 0);
	if (lock == HJ_ECONFLICT) {
		rep->busy++;
		return 0;
	}
	if (lock < 0)
		goto failed;
	memset(&ar, 0, sizeof ar);
	rc = remote_tip(tip, p, &pp, net);
	if (!rc && strcmp(tip, held) == 0 && access(pp.db, F_OK) == 0) {
		close(lock);
		rep->unchanged++;
		return state_clear(hub->db, p->province);
	}
	if (!rc)
		rc = audit_install(&ar, commit, hub, p, &pp, held_seq, net);
	hj_audit_report_free(&ar);
	unlink(pp.tmp);
	close(lock);
	if (!rc) {
		rep->followed++;
		return state_set(hub->db, p->province, NULL, &ar, commit);
	}
failed:
	rep->failed++;
	char why[600];
	snprintf(why, sizeof why, "%s", hj_error_last());
	return state_set(hub->db, p->province, why, NULL, NULL);
}

int hj_peer_follow_all(hj_peer_report *rep, hj_node *hub, const hj_net_opts *net)
{
	peer_row *peers = NULL;
	size_t n = 0;
	hj_net_opts o;
	memset(rep, 0, sizeof *rep);
	if (net)
		o = *net;
	else {
		hj_net_opts_default(&o);
		o.total_timeout_ms = PEER_TOTAL_MS;
	}
	int rc = list_peers(&peers, &n, hub->db);
	rep->peers = n;
	for (size_t i = 0; !rc && i < n; i++)
		rc = follow_one(rep, hub, &peers[i], &o);
	for (size_t i = 0; i < n; i++)
		free(peers[i].url);
	free(peers);
	return rc;
}
