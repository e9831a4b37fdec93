/*
 * localfetch.h — fetching from a hub repository on this machine (a path
 * or file:// URL, a USB-mounted or shared-disk hub). libgit2 1.5.1's
 * local transport ignores the refspecs and copies every object the hub
 * holds that the replica lacks (local_download_pack) — the province's
 * feeds, against the inbox's promise (measured by huiji-bench section 10).
 * So a local fetch walks only the named refs, each a feed chain checked
 * as strictly as a fetched one (gitfeed_walk), and writes the same
 * deterministic commits into the replica (gitfeed_append), one pack per
 * batch. Nothing else of the hub repository is read.
 */
#ifndef HJ_LOCALFETCH_H
#define HJ_LOCALFETCH_H

#include "gitfeed.h"

#include <stddef.h>

/* Is `url` a hub on this machine (no scheme, or file://)? */
int hj_localfetch_is_local(const char *url);

/* Fetch into r what the forced refspecs name ("+SRC:DST", SRC a ref or a
 * prefix glob ending in a star with DST likewise): each source ref a feed
 * (refs/huiji/inbox/<node> the inbox feed "inbox:<node>", any other the
 * feed named by its last component). A DST whose history the source no
 * longer passes through is written again from seq 1 (the refspec is
 * forced; follow judges a rewrite). A source ref the hub lacks is
 * skipped. HJ_ECORRUPT for a source that is not a well-formed feed. */
int hj_localfetch(hj_gitrepo *r, const char *url, const char *const *refspecs, size_t nspecs);

#endif
