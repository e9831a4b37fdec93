/*
 * node.c — create and open node directories; load and guard the keys.
 *
 * Following minisign: secrets are read into sodium_malloc'd memory, a key
 * file readable by group or others is refused rather than used, and the
 * public key recorded in the registry must match the secret key on disk.
 */
#include "node.h"
#include "seal.h"
#include "error.h"
#include "person_key.h"
#include "rules.h"
#include "schema.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

char *hj_node_path(const hj_node *n, const char *name)
{
	return path_join(n->dir, name);
}

/* mkdir -p: a node directory may be given below folders not yet made. */
static int mkdir_p(const char *dir)
{
	char *p = strdup(dir);
	int rc = 0;
	if (!p)
		return hj_error_set(HJ_ENOMEM, "out of memory");
	for (char *s = p + 1; *s && !rc; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) != 0 && errno != EEXIST)
			rc = hj_error_set(HJ_ERROR, "%s: %s", p, strerror(errno));
		*s = '/';
	}
	if (!rc && mkdir(p, 0700) != 0 && errno != EEXIST)
		rc = hj_error_set(HJ_ERROR, "%s: %s", p, strerror(errno));
	free(p);
	return rc;
}

/* Write `len` bytes as hex + newline to a new file with mode 0600. */
static int write_secret(const char *path, const uint8_t *bytes, size_t len)
{
	char *hex = sodium_malloc(2 * len + 2);
	if (!hex)
		return hj_error_set(HJ_ENOMEM, "out of memory");
	hj_hex_encode(hex, bytes, len);
	hex[2 * len] = '\n';
	hex[2 * len + 1] = '\0';
	int rc = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = hj_error_set(errno == EEXIST ? HJ_EEXISTS : HJ_ERROR, "%s: %s", path, strerror(errno));
		goto done;
	}
	if (write(fd, hex, 2 * len + 1) != (ssize_t)(2 * len + 1) || fsync(fd) != 0)
		rc = hj_error_set(HJ_ERROR, "%s: write failed: %s", path, strerror(errno));
	close(fd);
done:
	sodium_free(hex);
	return rc;
}

/* Read a hex secret of exactly `len` bytes from a 0600 file into `out`. */
int hj_node_read_secret(const char *path, uint8_t *out, size_t len)
{
	struct stat sb;
	int rc = 0;
	if (stat(path, &sb) != 0)
		return hj_error_set(HJ_ENOTFOUND, "%s: %s", path, strerror(errno));
	if (sb.st_mode & 077)
		return hj_error_set(HJ_EPERM, "%s is readable by others (mode %03o): refusing to use it; "
				    "run chmod 600 on it", path, (unsigned)(sb.st_mode & 0777));
	char *hex = sodium_malloc(2 * len + 16);
	if (!hex)
		return hj_error_set(HJ_ENOMEM, "out of memory");
	FILE *f = fopen(path, "re");
	size_t got = f ? fread(hex, 1, 2 * len + 15, f) : 0;
	if (f)
		fclose(f);
	while (got && (hex[got - 1] == '\n' || hex[got - 1] == '\r' || hex[got - 1] == ' '))
		got--;
	hex[got] = '\0';
	if (got != 2 * len || hj_hex_decode(out, len, hex))
		rc = hj_error_set(HJ_ECORRUPT, "%s: expected %zu hex digits", path, 2 * len);
	sodium_free(hex);
	return rc;
}

void hj_node_close(hj_node *n)
{
	if (!n)
		return;
	hj_db_close(n->db);
	sodium_memzero(&n->unsealer, sizeof n->unsealer);
	sodium_free(n->sk);
	sodium_free(n->person_secret);
	free(n->union_id);
	free(n->dir);
	free(n);
}

/* What it opens sealed fields with: the hub's seals name it "hub". */
static void set_unsealer(hj_node *n)
{
	snprintf(n->unsealer.id, sizeof n->unsealer.id, "%s", n->is_root ? HJ_SEAL_HUB : n->id);
	if (hj_seal_pk_from_node(n->unsealer.pk, n->pk) || hj_seal_sk_from_node(n->unsealer.sk, n->sk))
		memset(&n->unsealer, 0, sizeof n->unsealer); /* an id of "": opens nothing */
	else if (!n->is_root)
		n->unsealer.wraps = n->db;
	/* A hub's province id is its root union's: a peer's county seals a
	 * cross-province transfer to it as "hub@<root union>". */
	else if (n->union_id && strlen(n->union_id) <= HJ_PROVINCE_XFER_MAX)
		snprintf(n->unsealer.alias, sizeof n->unsealer.alias, HJ_SEAL_HUB_AT "%s", n->union_id);
}

static hj_node *node_alloc(const char *dir)
{
	if (sodium_init() < 0)
		return NULL;
	hj_node *n = calloc(1, sizeof *n);
	if (!n)
		return NULL;
	n->dir = strdup(dir);
	n->sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	n->person_secret = sodium_malloc(32);
	if (!n->dir || !n->sk || !n->person_secret) {
		hj_node_close(n);
		return NULL;
	}
	return n;
}

/* What hj_node_create has made so far, so that a failure can take it back. */
struct node_init {
	char *dbpath, *skpath, *ppath;
	int made_sk, made_p, made_db;
};

/* The node directory: its file paths, refused if a node is there already,
 * made (with its parents) if missing. */
static int node_init_dir(struct node_init *ni, const char *dir)
{
	struct stat sb;
	int rc = 0;

	ni->dbpath = path_join(dir, "registry.db");
	ni->skpath = path_join(dir, "secret.key");
	ni->ppath = path_join(dir, "person.key");
	if (!ni->dbpath || !ni->skpath || !ni->ppath) {
		rc = hj_error_set(HJ_ENOMEM, "out of memory");
		goto done;
	}
	if (stat(ni->dbpath, &sb) == 0 || stat(ni->skpath, &sb) == 0) {
		rc = hj_error_set(HJ_EEXISTS, "%s already holds a node: refusing to overwrite it", dir);
		goto done;
	}
	if ((rc = mkdir_p(dir)))
		goto done;
done:
	return rc;
}

/* The keys: a fresh signing key pair and, for a hub (a node without a
 * hub of its own), the person key (given: the national one, or fresh),
 * written as 0600 secret files. A county holds no person key: the hub
 * keys its applications (fold_key.c), and a key on a laptop would turn
 * every published person key back into an ID number. */
static int node_init_keys(hj_node *n, struct node_init *ni, const hj_node_init_opts *o)
{
	int rc = 0;

	if (o->person_key_file && o->hub_url) {
		rc = hj_error_set(HJ_EINVALID, "a county holds no person key (it stays at the hub, which keys every "
				  "application): leave out --person-key");
		goto done;
	}
	if (o->person_key_file) {
		if ((rc = hj_node_read_secret(o->person_key_file, n->person_secret, 32)))
			goto done;
	} else if (o->hub_url) {
		sodium_free(n->person_secret);
		n->person_secret = NULL;
	} else {
		randombytes_buf(n->person_secret, 32);
	}
	crypto_sign_keypair(n->pk, n->sk);
	if ((rc = write_secret(ni->skpath, n->sk, crypto_sign_SECRETKEYBYTES)))
		goto done;
	ni->made_sk = 1;
	if (n->person_secret && (rc = write_secret(ni->ppath, n->person_secret, 32)))
		goto done;
	ni->made_p = n->person_secret != NULL;
done:
	return rc;
}

/* The registry: a fresh database, migrated, with the node's identity in
 * meta (one transaction). */
static int node_init_registry(hj_node *n, struct node_init *ni, const hj_node_init_opts *o)
{
	int rc = 0;

	/* Made 0600 before SQLite opens it: the -wal and -shm files take the
	 * database's mode, and the registry holds ID numbers. */
	int fd = open(ni->dbpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = hj_error_set(HJ_ERROR, "%s: %s", ni->dbpath, strerror(errno));
		goto done;
	}
	close(fd);
	ni->made_db = 1;
	if ((rc = hj_db_open(&n->db, ni->dbpath, 1)))
		goto done;
	if ((rc = hj_schema_migrate(n->db)))
		goto done;
	char pkhex[65];
	hj_hex_encode(pkhex, n->pk, 32);
	if ((rc = hj_db_exec(n->db, "BEGIN IMMEDIATE")))
		goto done;
	if ((rc = hj_meta_set(n->db, "node_id", o->node)) ||
	    (rc = hj_meta_set(n->db, "union_id", o->union_id)) ||
	    (rc = hj_meta_set(n->db, "role", o->is_root ? "root" : "county")) ||
	    (rc = hj_meta_set(n->db, "pubkey", pkhex)) ||
	    (o->hub_url && (rc = hj_meta_set(n->db, "hub_url", o->hub_url))) ||
	    (o->hub_key && (rc = hj_meta_set(n->db, "hub_key", o->hub_key)))) {
		hj_db_exec(n->db, "ROLLBACK");
		goto done;
	}
	if ((rc = hj_db_exec(n->db, "COMMIT")))
		goto done;
done:
	return rc;
}

/* Leave nothing half-made behind: a later init must still work. */
static void node_init_undo(hj_node *n, const struct node_init *ni, const char *dir)
{
	if (n && n->db) {
		hj_db_close(n->db);
		n->db = NULL;
	}
	if (ni->made_db) {
		char *p;
		unlink(ni->dbpath);
		if ((p = path_join(dir, "registry.db-wal"))) unlink(p), free(p);
		if ((p = path_join(dir, "registry.db-shm"))) unlink(p), free(p);
	}
	if (ni->made_sk)
		unlink(ni->skpath);
	if (ni->made_p)
		unlink(ni->ppath);
}

int hj_node_create(hj_node **out, const hj_node_init_opts *o)
{
	hj_node *n = NULL;
	struct node_init ni = {0};
	int rc;

	*out = NULL;
	if ((rc = hj_node_id_check(o->node)))
		return hj_error_wrap(rc, "--node: ");
	if (!o->union_id || hj_node_id_check(o->union_id))
		return hj_error_set(HJ_EINVALID, "--union: an org id of [a-z0-9._-] is required");
	if (!(n = node_alloc(o->dir)))
		return hj_error_set(HJ_ENOMEM, "out of memory (or libsodium failed to initialise)");
	if ((rc = node_init_dir(&ni, o->dir)))
		goto done;
	if ((rc = node_init_keys(n, &ni, o)))
		goto done;
	if ((rc = node_init_registry(n, &ni, o)))
		goto done;
	snprintf(n->id, sizeof n->id, "%s", o->node);
	n->union_id = strdup(o->union_id);
	n->is_root = o->is_root;
	set_unsealer(n);
	if (!n->union_id)
		rc = hj_error_set(HJ_ENOMEM, "out of memory");
done:
	if (rc) {
		node_init_undo(n, &ni, o->dir);
		hj_node_close(n);
		n = NULL;
	}
	free(ni.dbpath);
	free(ni.skpath);
	free(ni.ppath);
	*out = n;
	return rc;
}

int hj_node_open(hj_node **out, const char *dir)
{
	hj_node *n = NULL;
	char *dbpath = NULL, *skpath = NULL, *ppath = NULL, *v = NULL;
	int rc = 0;
	struct stat sb;

	*out = NULL;
	if (!(n = node_alloc(dir)))
		return hj_error_set(HJ_ENOMEM, "out of memory (or libsodium failed to initialise)");
	dbpath = path_join(dir, "registry.db");
	skpath = path_join(dir, "secret.key");
	ppath = path_join(dir, "person.key");
	if (!dbpath || !skpath || !ppath) {
		rc = hj_error_set(HJ_ENOMEM, "out of memory");
		goto done;
	}
	if (stat(dbpath, &sb) != 0) {
		rc = hj_error_set(HJ_ENOTFOUND, "%s is not a huiji node (no registry.db): run huiji init", dir);
		goto done;
	}
	if ((rc = hj_db_open(&n->db, dbpath, 0)) || (rc = hj_schema_migrate(n->db)))
		goto done;
	if ((rc = hj_node_read_secret(skpath, n->sk, crypto_sign_SECRETKEYBYTES)))
		goto done;
	if (stat(ppath, &sb) != 0 && errno == ENOENT) { /* a county (person.key deleted from older ones) */
		sodium_free(n->person_secret);
		n->person_secret = NULL;
	} else if ((rc = hj_node_read_secret(ppath, n->person_secret, 32))) {
		goto done;
	}
	crypto_sign_ed25519_sk_to_pk(n->pk, n->sk);
	char pkhex[65];
	hj_hex_encode(pkhex, n->pk, 32);
	if ((rc = hj_meta_get(&v, n->db, "pubkey")) && rc != HJ_ENOTFOUND)
		goto done;
	if (!v || strcmp(v, pkhex) != 0) {
		rc = hj_error_set(HJ_EBADSIG, "%s: secret.key does not match the node's recorded public key", dir);
		goto done;
	}
	free(v);
	v = NULL;
	if ((rc = hj_meta_get(&v, n->db, "node_id")) && rc != HJ_ENOTFOUND)
		goto done;
	if (!v || hj_node_id_check(v)) {
		rc = hj_error_set(HJ_ECORRUPT, "%s: registry has no valid node id", dir);
		goto done;
	}
	snprintf(n->id, sizeof n->id, "%s", v);
	free(v);
	v = NULL;
	if ((rc = hj_meta_get(&n->union_id, n->db, "union_id")) == HJ_ENOTFOUND) {
		rc = hj_error_set(HJ_ECORRUPT, "%s: registry has no union id", dir);
		goto done;
	}
	if (rc || ((rc = hj_meta_get(&v, n->db, "role")) && rc != HJ_ENOTFOUND))
		goto done;
	rc = 0;
	n->is_root = v && strcmp(v, "root") == 0;
	/* A hub keys every county's application: without its person key it
	 * would sign "no person key" verdicts on a missing file. */
	if (n->is_root && !n->person_secret) {
		rc = hj_error_set(HJ_ENOTFOUND, "%s: a hub without person.key (its national person key): restore the file",
				  dir);
		goto done;
	}
	set_unsealer(n);
done:
	free(v);
	free(dbpath);
	free(skpath);
	free(ppath);
	if (rc) {
		hj_node_close(n);
		n = NULL;
	}
	*out = n;
	return rc;
}

int hj_node_person_key(const hj_node *n, const char *idnum_norm, char out[65])
{
	out[0] = '\0';
	if (!n->person_secret)
		return 0;
	hj_person_key_derive(out, n->person_secret, idnum_norm);
	return 1;
}

void hj_node_foldctx(const hj_node *n, uint64_t seq, uint32_t index, hj_foldctx *ctx)
{
	memset(ctx, 0, sizeof *ctx);
	ctx->actor = n->id;
	ctx->seq = seq;
	ctx->index = index;
	ctx->self = n->id;
	ctx->self_union = n->union_id;
	ctx->self_is_root = n->is_root;
	ctx->rules = HJ_RULES_VERSION; /* own work not yet sequenced; a replay of the hub order sets the entry's */
	ctx->person_secret = n->person_secret;
	ctx->unseal = &n->unsealer;
	ctx->provisional_keys = 1; /* own work: until the hub keys it (fold_key.c) */
}
