/*
 * localfetch.c — the refs a sync names, copied from a hub repository on
 * this machine feed by feed (localfetch.h says why).
 */
#include "localfetch.h"
#include "error.h"
#include "inbox.h"
#include "wraps.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hj_localfetch_is_local(const char *url)
{
	return !strstr(url, "://") || strncmp(url, "file://", 7) == 0;
}

typedef struct copy {
	hj_gitrepo *dst, *src;
	const char *dst_ref, *label;
	hj_feed_batch b;
} copy;

static int flush(copy *c)
{
	int rc = c->b.n ? hj_gitfeed_append(c->dst, c->dst_ref, c->label, c->b.it, c->b.n) : 0;
	hj_feed_batch_clear(&c->b);
	return rc;
}

static int on_cs(void *ctx, uint64_t seq, const git_oid *commit, const uint8_t *bytes, size_t len)
{
	copy *c = ctx;
	int64_t at = 0;
	/* The copy takes the source commit's time (its seconds are all a
	 * commit id holds: gitfeed.h), so it gets the hub's commit id — for a
	 * feed of envelopes as for the wraps — and the next fetch reads only
	 * what is new. */
	int rc = hj_gitrepo_commit_time(&at, c->src, commit);
	if (rc)
		return hj_error_wrap(rc, "%s seq %" PRIu64 ": ", c->label, seq);
	if ((rc = hj_feed_batch_add(&c->b, bytes, len, seq, at * 1000)))
		return rc;
	return c->b.n == HJ_FEED_BATCH ? flush(c) : 0;
}

/* Make dst_ref hold src's feed `label` up to `tip`. */
static int copy_feed(hj_gitrepo *dst, hj_gitrepo *src, const git_oid *tip, const char *label, const char *dst_ref)
{
	uint64_t have = 0, want = 0;
	git_oid base;
	copy *c = calloc(1, sizeof *c);
	int rc = c ? hj_gitfeed_tip(dst, dst_ref, &have, &base) : hj_error_set(HJ_ENOMEM, "out of memory");
	if (!rc)
		rc = hj_gitfeed_commit_seq(&want, src, tip, label);
	if (rc)
		goto done;
	c->dst = dst;
	c->src = src;
	c->dst_ref = dst_ref;
	c->label = label;
	if (have && git_oid_equal(&base, tip))
		goto done; /* up to date */
	rc = have && have <= want ? hj_gitfeed_walk_since(src, tip, label, &base, have, on_cs, c) : HJ_ECONFLICT;
	if (rc == HJ_ECONFLICT) { /* rewritten (or shorter): written again, as a forced fetch does */
		hj_feed_batch_clear(&c->b);
		if ((rc = have ? hj_gitrepo_ref_delete(dst, dst_ref) : 0) == 0)
			rc = hj_gitfeed_walk(src, tip, label, 0, on_cs, c);
	}
	if (!rc)
		rc = flush(c);
done:
	if (c)
		hj_feed_batch_clear(&c->b);
	free(c);
	return rc;
}

typedef struct spec {
	hj_gitrepo *dst, *src;
	const char *src_prefix, *dst_prefix; /* globs: the part before '*' */
	int rc;
} spec;

static int on_ref(void *ctx, const char *name, const git_oid *target)
{
	spec *s = ctx;
	char label[300], dst_ref[600];
	const char *rest = name + strlen(s->src_prefix);
	const char *last = strrchr(name, '/') + 1;
	if (strncmp(name, "refs/huiji/inbox/", 17) == 0)
		hj_inbox_label(label, sizeof label, last);
	else if (strncmp(name, "refs/huiji/wraps/", 17) == 0)
		hj_rewrap_label(label, sizeof label, last);
	else
		snprintf(label, sizeof label, "%s", last);
	snprintf(dst_ref, sizeof dst_ref, "%s%s", s->dst_prefix, rest);
	s->rc = copy_feed(s->dst, s->src, target, label, dst_ref);
	return s->rc ? 1 : 0;
}

/* One forced refspec "+SRC:DST". */
static int fetch_spec(hj_gitrepo *dst, hj_gitrepo *src, const char *refspec)
{
	char buf[600], *colon;
	if (refspec[0] != '+' || strlen(refspec) >= sizeof buf || !(colon = strchr(refspec, ':')))
		return hj_error_set(HJ_EINVALID, "local fetch: refspec '%s' is not +SRC:DST", refspec);
	memcpy(buf, refspec + 1, strlen(refspec)); /* with its NUL; checked shorter than buf */
	colon = strchr(buf, ':');
	*colon = '\0';
	const char *from = buf, *to = colon + 1;
	size_t fl = strlen(from), tl = strlen(to);
	int glob = fl > 1 && from[fl - 1] == '*';
	if (glob != (tl > 1 && to[tl - 1] == '*'))
		return hj_error_set(HJ_EINVALID, "local fetch: refspec '%s' globs one side only", refspec);
	spec s = {dst, src, from, to, 0};
	if (glob) {
		/* The glob is `from` as given; the prefixes are it without '*'. */
		char pattern[sizeof buf];
		memcpy(pattern, from, fl + 1);
		buf[fl - 1] = '\0';
		((char *)to)[tl - 1] = '\0';
		int rc = hj_gitrepo_ref_foreach(src, pattern, on_ref, &s);
		return s.rc ? s.rc : rc;
	}
	git_oid tip;
	int rc = hj_gitrepo_ref_get(&tip, src, from);
	if (rc == HJ_ENOTFOUND)
		return 0; /* the hub has no such ref yet */
	s.src_prefix = from; /* rest = "" */
	return rc ? rc : (on_ref(&s, from, &tip), s.rc);
}

int hj_localfetch(hj_gitrepo *r, const char *url, const char *const *refspecs, size_t nspecs)
{
	hj_gitrepo *src = NULL;
	const char *path = strncmp(url, "file://", 7) == 0 ? url + 7 : url;
	int rc = hj_gitrepo_open(&src, path, 0);
	if (rc)
		return rc == HJ_ENOTFOUND ? hj_error_set(HJ_ENET, "no hub repository at %s", path) : rc;
	for (size_t i = 0; !rc && i < nspecs; i++)
		rc = fetch_spec(r, src, refspecs[i]);
	hj_gitrepo_close(src);
	return rc;
}
