/*
 * deliver.h — who must be given a change set: the hub's half of the inbox
 * (DESIGN §3, refs/huiji/inbox/<node>). A node holds the org tree, the
 * nodes, and the member rows of its union's subtree; the hub delivers to
 * it exactly the other nodes' change sets that touch those rows, so no
 * county receives the province's people. The rule mirrors what a county
 * folds (replay.c county_holds): each is the other's test.
 */
#ifndef HJ_DELIVER_H
#define HJ_DELIVER_H

#include "db.h"
#include "envelope.h"
#include "json.h"

#include <stddef.h>

/* A sorted set of node ids. Zero it before use; hj_recipients_free. */
typedef struct hj_recipients {
	char (*id)[HJ_NODE_ID_MAX + 1];
	size_t n, cap;
} hj_recipients;

/* Add the nodes that must be given an op signed by `author`, judged
 * against the registry as it stands before the op is folded (the hub's
 * view at that position): every enrolled union node but the author for
 * an op outside member.*, else the nodes whose union is, or is above, a
 * union the op touches. Never the hub or an auditor (they read every
 * feed). 0 or an error (a failed lookup is never "nobody"). */
int hj_recipients_add_op(hj_recipients *r, hj_db *db, const hj_json *op, const char *author);

/* Every enrolled union node whose union is `org` or above it, but
 * `author`. */
int hj_recipients_add_union(hj_recipients *r, hj_db *db, const char *org, const char *author);

void hj_recipients_free(hj_recipients *r);

#endif
