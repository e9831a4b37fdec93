/*
 * pack.h — salvage the sound objects of a damaged git pack file.
 *
 * libgit2's indexer refuses a whole pack for one bad object; an auditor
 * needs every object that still inflates and hashes, so that only the
 * records whose objects are damaged go missing. This reads pack format
 * v2/v3 object by object (deltas resolved against objects already read
 * or already in the destination) and writes what is sound into a
 * repository's object directory.
 */
#ifndef HJ_PACK_H
#define HJ_PACK_H

#include <stddef.h>
#include <stdint.h>

#include <git2.h>

typedef struct hj_pack_stats {
	size_t declared;        /* the object count in the pack's header */
	size_t sound;           /* objects inflated, hashed and written */
	size_t damaged;         /* damaged regions and unresolvable deltas */
	uint64_t first_damage;  /* byte offset of the first damage (0: none) */
} hj_pack_stats;

/* Called for each sound object with its offset in the pack (for tests
 * and reports). Non-zero stops the salvage and is returned. */
typedef int (*hj_pack_cb)(void *ctx, uint64_t offset, const git_oid *id, git_object_t type);

/* Read the pack at `pack_path` and write every sound object into the
 * object directory `dst_objects` (".../objects" of a repository, loose
 * objects). A damaged object costs only itself: reading resumes at the
 * next offset where an object parses and inflates to its declared size.
 * A delta whose base is damaged or absent is counted as damaged. The
 * pack's SHA-1 trailer is not checked (the indexer has said so already).
 * `cb` may be NULL. 0 (even with damage: see *st), or a negative HJ_E*
 * code if the pack cannot be read at all or nothing can be written. */
int hj_pack_salvage(hj_pack_stats *st, const char *pack_path, const char *dst_objects, hj_pack_cb cb, void *ctx);

#endif
