/*
 * follow_int.h — what follow.c and follow_inbox.c share: the items of the
 * hub order being followed (one per change set an entry includes, or one
 * of the hub's own), and the ranges of them each entry delivered to this
 * node's inbox. Internal to sync/.
 */
#ifndef HJ_FOLLOW_INT_H
#define HJ_FOLLOW_INT_H

#include "followed.h"
#include "gitfeed.h"
#include "hub_entry.h"
#include "node.h"
#include "progress.h"

#include <stddef.h>
#include <stdint.h>

typedef struct item {
	uint64_t hub_seq;
	char node[HJ_NODE_ID_MAX + 1];
	uint64_t seq;
	uint8_t hash[32];
	uint8_t *bytes; /* owned */
	size_t len;
	char *verdicts; /* owned JSON text, NULL = all ok */
	char *keys;     /* owned JSON text: the person keys its entry gave (v4), NULL = none */
	hj_followed_rules rules; /* what its hub entry decided it under */
	int legacy;     /* its entry is from before the inbox (v1, v2) */
	int drop;       /* another node's, not delivered here: not ours to hold */
	uint32_t idx;   /* its index in the entry: its hub position is (hub_seq, idx) */
} item;

/* The items of one v3 entry that delivered to this node, and the inbox
 * deliveries (from, to] it signed for them. */
typedef struct range {
	size_t begin, end;
	uint64_t from, to;
	uint64_t hub_seq;
} range;

typedef struct follow {
	hj_node *n;
	uint8_t hub_pk[32];
	const char *hub;
	uint64_t last;
	uint8_t last_hash[32];
	/* The commit of entry `last`: remembered from the sync that followed
	 * it (meta hub_feed_commit; `have_commit`), then the one the walk
	 * passed (`commit_seen`). */
	git_oid last_commit;
	int have_commit, commit_seen;
	item *items;
	size_t nitems, cap;
	uint64_t entries;
	const hj_progress *progress; /* told each entry read, of progress_total; NULL: none */
	uint64_t progress_total;
	int upgrade;
	uint64_t upgrade_at;
	/* The rules of the last entry followed (meta hub_rules): the hub's own
	 * change sets are folded under them; they never go down. */
	hj_followed_rules rules;
	int64_t newest_at; /* newest entry time seen, for the clock check */
	range *ranges;
	size_t nranges, rcap;
	uint64_t inbox_n;    /* deliveries taken before this sync (meta inbox_n) */
	uint64_t inbox_want; /* the count the last entry read signs */
	int need_feeds;      /* a legacy entry needs feeds this fetch did not bring */
	size_t kept;         /* items appended to the hub order */
	uint64_t old_last;   /* the last entry followed before this sync */
	/* The inbox commit of delivery inbox_n, remembered (meta
	 * inbox_commit), and that of inbox_want once the walk passed it: the
	 * next sync reads only what is new, and a rewritten inbox is caught. */
	git_oid inbox_base, inbox_tip;
	int have_inbox_base, inbox_tip_seen;
	int backfilled;      /* items older than old_last were given (a rebuild, not a rebase) */
} follow;

/* A new zeroed item at the end of f->items, or NULL (out of memory). */
item *hj_follow_new_item(follow *f);

/* Fill `it` as include i of entry `ent` (hub seq hub_seq) names it: its
 * change set, position, rules and verdicts; its bytes come later. */
int hj_follow_item_of(item *it, uint64_t hub_seq, const hj_hub_entry *ent, size_t i);

/* A commit remembered in meta `key` as "<seq> <commit hex>": *have = 1
 * with *out when it is there for `seq` (a value for another seq does not
 * count); and remembering one, in the caller's transaction. */
int hj_follow_meta_commit(hj_db *db, const char *key, uint64_t seq, git_oid *out, int *have);
int hj_follow_meta_commit_set(hj_db *db, const char *key, uint64_t seq, const git_oid *commit);

/* Is the item read from its author's sequenced ref? This node's own, and
 * any of an entry from before the inbox. */
int hj_follow_from_feed(const follow *f, const item *it);

/* Entry `seq` delivered to this node: its items from `begin` on, the inbox
 * growing to `want`. */
int hj_follow_add_range(follow *f, uint64_t seq, size_t begin, uint64_t want);

/* Take what the entries followed delivered to this node from its inbox
 * (also a backfill of older change sets); mark the other nodes' items not
 * delivered as dropped. */
int hj_follow_fill_from_inbox(follow *f, hj_gitrepo *repo);

/* meta inbox_n (the deliveries this node has taken, 0 before any) and
 * inbox_commit into f; and, in the caller's transaction, both after what
 * this follow took. */
int hj_follow_inbox_load(follow *f);
int hj_follow_inbox_save(const follow *f);

#endif
