/*
 * node.h — a node directory: its registry, its identity and its keys.
 *
 * Layout of a node directory D:
 *   D/registry.db   SQLite registry (projection + change log + local state)
 *   D/secret.key    Ed25519 secret key, hex, mode 0600 (refused otherwise)
 *   D/person.key    hubs only: the national person-key secret, hex, mode 0600
 *   D/replica.git   bare git repository holding the feeds (sync/)
 * Secrets live in sodium_malloc'd memory and are wiped on close.
 */
#ifndef HJ_NODE_H
#define HJ_NODE_H

#include "db.h"
#include "envelope.h"
#include "fold.h"

#include <stdint.h>

typedef struct hj_node {
	char *dir;
	hj_db *db;
	char id[HJ_NODE_ID_MAX + 1];
	char *union_id;
	int is_root;           /* a root node (hub) acts anywhere, enrols nodes */
	uint8_t pk[32];
	uint8_t *sk;            /* 64 bytes, sodium_malloc */
	uint8_t *person_secret; /* 32 bytes, sodium_malloc; NULL at a county (fold_key.c) */
	hj_unsealer unsealer;   /* what this node opens sealed fields with (person_seal.h) */
} hj_node;

typedef struct hj_node_init_opts {
	const char *dir;
	const char *node;
	const char *union_id;
	int is_root;
	const char *hub_url;         /* county: where its hub is */
	const char *hub_key;         /* county: the hub's public key, hex */
	const char *person_key_file; /* hub: the national person-key file (NULL: a fresh one); a county takes none */
} hj_node_init_opts;

/* Make a new node directory. Refuses (HJ_EEXISTS) if D already holds a
 * node, and then changes nothing. CONSTRUCTOR: hj_node_close. */
int hj_node_create(hj_node **out, const hj_node_init_opts *o);

/* Open an existing node directory, migrating its registry forward.
 * CONSTRUCTOR: hj_node_close. */
int hj_node_open(hj_node **out, const char *dir);
void hj_node_close(hj_node *n); /* accepts NULL */

/* Read a secret file of `len` bytes as hex (the person key, a signing
 * key); refused when others may read it. 0 or an error naming the path. */
int hj_node_read_secret(const char *path, uint8_t *out, size_t len);

/* The person key of a normalised ID number (person_key.h) into out (65
 * bytes): 1 where this node holds the person secret (a hub), else 0 with
 * out "" (a county: the hub keys its ops). */
int hj_node_person_key(const hj_node *n, const char *idnum_norm, char out[65]);

/* Path inside the node directory (malloc'd; DESTRUCTOR: free). */
char *hj_node_path(const hj_node *n, const char *name);

/* The fold context of this node acting as itself at (seq, index). */
void hj_node_foldctx(const hj_node *n, uint64_t seq, uint32_t index, hj_foldctx *ctx);

#endif
