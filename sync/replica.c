/*
 * replica.c — the fetched half of a county's replica.git after it lost a
 * pack: refs to feeds whose history no longer reads back are dropped and
 * the rest compacted, so the next fetch brings those feeds again whole.
 * (The own half is written again from SQLite by outbox.c.)
 */
#include "replica.h"
#include "inbox.h"
#include "error.h"
#include "gitfeed.h"
#include "outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Names of refs to check, collected first: a ref is not deleted while
 * they are being listed. */
typedef struct ref_list {
	char (*v)[200];
	git_oid *tip;
	size_t n, cap;
} ref_list;

static int collect_ref(void *ctx, const char *name, const git_oid *target)
{
	ref_list *l = ctx;
	if (!target || strlen(name) >= sizeof l->v[0])
		return 0; /* symbolic or too long: none of ours, left alone */
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 32;
		char(*v)[200] = realloc(l->v, cap * sizeof *v);
		git_oid *t = v ? realloc(l->tip, cap * sizeof *t) : NULL;
		if (v)
			l->v = v;
		if (!t)
			return hj_error_set(HJ_ENOMEM, "out of memory");
		l->tip = t;
		l->cap = cap;
	}
	snprintf(l->v[l->n], sizeof l->v[0], "%s", name);
	git_oid_cpy(&l->tip[l->n++], target);
	return 0;
}

static int read_nothing(void *ctx, uint64_t seq, const git_oid *commit, const uint8_t *bytes, size_t len)
{
	(void)ctx, (void)seq, (void)commit, (void)bytes, (void)len;
	return 0;
}

int hj_replica_drop_unreadable(hj_gitrepo *repo, int whole)
{
	static const char *const globs[] = {"refs/huiji/incoming/hub/*", "refs/huiji/incoming/feeds/*",
					    "refs/huiji/incoming/inbox/*", "refs/huiji/outgoing/*"};
	ref_list l = {0};
	int rc = 0, dropped = 0;
	for (size_t g = 0; !rc && g < sizeof globs / sizeof globs[0]; g++)
		rc = hj_gitrepo_ref_foreach(repo, globs[g], collect_ref, &l);
	for (size_t i = 0; !rc && i < l.n; i++) {
		char label[200];
		const char *node = strrchr(l.v[i], '/') + 1;
		int bad = hj_gitrepo_has_commit(repo, &l.tip[i]);
		bad = bad == 1 ? 0 : bad == 0 ? 1 : bad;
		snprintf(label, sizeof label, "%s", node);
		if (strncmp(l.v[i], "refs/huiji/incoming/inbox/", 26) == 0)
			hj_inbox_label(label, sizeof label, node);
		if (!bad && whole)
			bad = hj_gitfeed_walk(repo, &l.tip[i], label, 0, read_nothing, NULL);
		if (bad == HJ_ENOMEM)
			rc = bad;
		else if (bad && (rc = hj_gitrepo_ref_delete(repo, l.v[i])) == 0)
			dropped++;
	}
	free(l.v);
	free(l.tip);
	return rc ? rc : dropped;
}

int hj_replica_after_lost(hj_node *n, hj_gitrepo **repo, int rc)
{
	int dropped = hj_replica_drop_unreadable(*repo, 1);
	if (dropped <= 0)
		return dropped < 0 ? dropped : rc;
	hj_gitrepo_close(*repo);
	*repo = NULL;
	if ((rc = hj_outbox_compact(n)) || (rc = hj_node_repo_open(repo, n)))
		return rc;
	return 1;
}
