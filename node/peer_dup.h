/*
 * peer_dup.h — the duplicate across provinces (issue 8 §3, rules 5). A
 * hub that follows other provinces as peers (sync/peer.h) holds, for each,
 * a read-only copy of that peer's registry re-folded and audited from its
 * signed hub order (<hub>/peers/<province>.db). When the hub folds an
 * application, the person key (national: every hub has the same person
 * key) is looked up there; an active membership refuses it
 * "duplicate_province", naming the province and the union. No re-folder
 * holds the peer's registry at that position, so a re-fold (a county's,
 * an auditor's, the hub's own verify) takes that verdict on the hub's
 * word; the hub records which peer position it judged against
 * (peer_verdict). This file reads SQLite files only: no git here.
 */
#ifndef HJ_PEER_DUP_H
#define HJ_PEER_DUP_H

#include "fold.h"

#include <stdint.h>

typedef struct hj_peer_registry {
	char province[65];
	char *name;       /* the peer's enrolled name, else its root union's (malloc'd) */
	uint64_t hub_seq; /* the peer hub change set this registry ends at */
	hj_db *db;        /* opened read-only and immutable: a new one is renamed over it */
} hj_peer_registry;

typedef struct hj_peer_lookup {
	hj_peer_registry *reg; /* the peers the hub holds a registry of */
	size_t n;
	/* The registry the last duplicate_province was judged against, for
	 * hj_peer_lookup_note. */
	char province[65];
	uint64_t hub_seq;
} hj_peer_lookup;

/* The lookup of a hub: every peer in `hub_db`'s table peer whose registry
 * file <dir>/peers/<province>.db exists (a peer not yet followed has
 * none: nothing to find there). A file that exists but does not open or
 * read is an error: a failure is never an answer. CONSTRUCTOR: *out,
 * hj_peer_lookup_free. */
int hj_peer_lookup_open(hj_peer_lookup **out, hj_db *hub_db, const char *dir);
void hj_peer_lookup_free(hj_peer_lookup *l); /* accepts NULL */

/* The path of a peer's registry file: <dir>/peers/<province>.db
 * (malloc'd; DESTRUCTOR: free), NULL on OOM. */
char *hj_peer_registry_path(const char *dir, const char *province);

/* Rules 5, in member.apply after the province's own duplicate check:
 * 1 rejected (into *v: duplicate_province, holder "<province>/<union>"),
 * 0 go on, <0 a failed lookup. A re-fold meeting the hub's verdict
 * duplicate_province (ctx->hub_reason) takes it (the audit counts it:
 * peer_on_hub_word). */
int hj_fold_peer_duplicate(hj_db *db, const hj_foldctx *ctx, const char *key, hj_verdict *v);

/* After the hub folded op ctx with verdict v: a duplicate_province judged
 * against a peer registry is recorded in peer_verdict (op, province,
 * peer position), inside the caller's change-set savepoint. 0 or an
 * error; l may be NULL. */
int hj_peer_lookup_note(hj_peer_lookup *l, hj_db *hub_db, const hj_foldctx *ctx, const hj_verdict *v);

#endif
