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

/* The union id a touch row stores for "every node". */
#define HJ_TOUCH_ALL "*"

/* A sorted set of ids (unions, nodes). Zero it before use; hj_idset_free. */
typedef struct hj_idset {
	char (*id)[HJ_NODE_ID_MAX + 1];
	size_t n, cap;
} hj_idset;

int hj_idset_add(hj_idset *s, const char *id);
void hj_idset_free(hj_idset *s);

/* Add the unions an op touches, judged against the registry as it stands
 * before the op is folded (the hub's view at that position): HJ_TOUCH_ALL
 * for an op outside member.* (the tree, the nodes, the services and
 * points are held everywhere) except service.deliver (the union of the
 * record it serves), else the unions whose rows it reads or changes. 0 or an
 * error (a failed lookup is never "nothing"). */
int hj_touch_add_op(hj_idset *unions, hj_db *db, const hj_json *op, const char *person_key);
/* person_key above: the key the hub's fold gave an op that names none
 * (fold.h hj_verdict.person_key; an auditor: the entry's), NULL to read
 * the op's own. Such an application or request is judged after it is
 * folded, when its key is known (this says which): neither changes which
 * unions hold the person's records, so the answer is the one before. */
int hj_touch_keyed_after(const hj_json *op);

/* The nodes to give a change set that touched `unions`: every enrolled
 * union node whose union is one of them or above one, every one for
 * HJ_TOUCH_ALL — never `author`, the hub or an auditor (they read every
 * feed). */
int hj_recipients_of(hj_idset *out, hj_db *db, const hj_idset *unions, const char *author);

#endif
