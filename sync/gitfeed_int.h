/*
 * gitfeed_int.h — what gitfeed.c (append, tip, compare-and-swap) and
 * gitfeed_walk.c (reading and verifying a chain) share: the argument
 * checks and the canonical serialisation of one change set's blob, tree
 * and commit. Internal to sync/; not part of the gitfeed API.
 */
#ifndef HJ_GITFEED_INT_H
#define HJ_GITFEED_INT_H

#include <stddef.h>
#include <stdint.h>

#include <git2.h>

#include "buf.h"

#define HJ_GITFEED_ENTRY "changeset"
#define HJ_GITFEED_IDENT "huiji <huiji@invalid>"
#define HJ_GITFEED_NODE_MAX 255

/* 0 or HJ_EINVALID with the message set. */
int hj_gitfeed_check_node(const char *node);
int hj_gitfeed_check_ref(const char *ref);
int hj_gitfeed_check_item(uint64_t seq, int64_t created_at, const uint8_t *bytes, size_t len);

/* Parse "huiji <node> <seq>\n" exactly; 0 or -1 (the caller reports).
 * *node_out points into msg. */
int hj_gitfeed_parse_msg(const char *msg, const char **node_out, size_t *node_len, uint64_t *seq_out);
int hj_gitfeed_msg_is_node(const char *node, size_t nlen, const char *want);

/* Tree body: one entry "100644 changeset\0" + raw blob id. */
void hj_gitfeed_tree_raw(hj_buf *b, const git_oid *blob);
/* Commit body, byte for byte what git_commit_create would write. */
void hj_gitfeed_commit_raw(hj_buf *b, const git_oid *tree, const git_oid *parent, const char *node, uint64_t seq,
			   int64_t secs);

/* The three objects of one change set, serialised and hashed. */
typedef struct hj_gitfeed_objs {
	git_oid blob, tree, commit;
	hj_buf tree_raw, commit_raw;
} hj_gitfeed_objs;

#define HJ_GITFEED_OBJS_INIT {.tree_raw = HJ_BUF_INIT, .commit_raw = HJ_BUF_INIT}

void hj_gitfeed_objs_free(hj_gitfeed_objs *o);
/* Arguments are checked by the callers. */
int hj_gitfeed_objs_make(hj_gitfeed_objs *o, const git_oid *parent, const char *node, uint64_t seq,
			 int64_t created_at, const uint8_t *bytes, size_t len);

#endif
