/*
 * person_seal.c — sealing a person's fields for the nodes that hold the
 * record, and reading them back in the fold. Node X25519 keys are the
 * Ed25519 node keys converted (seal.h), so no second key is distributed;
 * the recipients are read from the registry the sealing node holds.
 */
#include "person_seal.h"
#include "deliver.h"
#include "enrolled.h"
#include "error.h"
#include "hex.h"
#include "rewrap.h"
#include "seal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct rcpt {
	hj_seal_to to[HJ_SEAL_RECIPIENTS_MAX];
	char id[HJ_SEAL_RECIPIENTS_MAX][65];
	size_t n;
} rcpt;

static int add_to(rcpt *r, const char *id, const uint8_t ed_pk[32])
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->id[i], id) == 0)
			return 0;
	if (r->n == HJ_SEAL_RECIPIENTS_MAX)
		return hj_error_set(HJ_ETOOBIG, "more than %d nodes hold this record", HJ_SEAL_RECIPIENTS_MAX);
	snprintf(r->id[r->n], sizeof r->id[r->n], "%s", id);
	/* A key that is no curve point cannot open a seal (nor sign): such a
	 * node is left out; the hub never is. */
	if (hj_seal_pk_from_node(r->to[r->n].pk, ed_pk))
		return strcmp(id, HJ_SEAL_HUB) == 0 ? hj_error_set(HJ_EINVALID, "the hub's key cannot receive a seal")
						     : 0;
	r->to[r->n].id = r->id[r->n];
	r->n++;
	return 0;
}

/* Each node of `ids` (enrolled: deliver.h's set) into r, by its key. */
static int add_nodes(rcpt *r, hj_db *db, const hj_idset *ids)
{
	int rc = 0;
	for (size_t i = 0; !rc && i < ids->n; i++) {
		uint8_t pk[32];
		if (!(rc = hj_enrolled_key(pk, db, ids->id[i])))
			rc = add_to(r, ids->id[i], pk);
	}
	return rc;
}

/* The hub, the author, every enrolled auditor, and the union nodes at or
 * above each of the norgs unions (the ones the hub delivers their records
 * to: deliver.h). */
static int recipients(rcpt *r, const hj_node *n, const char *const *orgs, size_t norgs)
{
	uint8_t hub_pk[32];
	char *hex = NULL;
	hj_idset ids = {0}, unions = {0};
	int rc = 0;
	r->n = 0;
	if (n->is_root) {
		memcpy(hub_pk, n->pk, 32);
	} else if ((rc = hj_meta_get(&hex, n->db, "hub_key")) || hj_hex_decode(hub_pk, 32, hex)) {
		free(hex);
		return rc && rc != HJ_ENOTFOUND ? rc : hj_error_set(HJ_EINVALID, "no hub key in this node (init --hub-key)");
	}
	free(hex);
	if ((rc = add_to(r, HJ_SEAL_HUB, hub_pk)) || (!n->is_root && (rc = add_to(r, n->id, n->pk))))
		return rc;
	sqlite3_stmt *st = hj_db_stmt(n->db, "SELECT id FROM node WHERE role = 'auditor' ORDER BY id");
	rc = st ? 0 : HJ_ERROR;
	while (!rc && (rc = hj_db_step(n->db, st)) == 1)
		rc = hj_idset_add(&ids, (const char *)sqlite3_column_text(st, 0));
	hj_db_release(n->db, st);
	for (size_t i = 0; rc >= 0 && i < norgs; i++)
		rc = orgs[i] ? hj_idset_add(&unions, orgs[i]) : 0;
	if (rc >= 0 && unions.n)
		rc = hj_recipients_of(&ids, n->db, &unions, ""); /* "": the author is in already */
	if (rc >= 0)
		rc = add_nodes(r, n->db, &ids);
	hj_idset_free(&ids);
	hj_idset_free(&unions);
	return rc < 0 ? rc : 0;
}

int hj_person_seal_set(hj_json *obj, const hj_node *n, const hj_json *fields, const char *org)
{
	return hj_person_seal_set_for(obj, n, fields, &org, 1);
}

/* The hub of peer province `prov` as "hub@<prov>", by the key its
 * province.peer row pins (ops_peer.c). */
static int add_peer_hub(rcpt *r, hj_db *db, const char *prov)
{
	char *hex = NULL, id[80];
	uint8_t pk[32];
	size_t had = r->n;
	if (strlen(prov) > HJ_PROVINCE_XFER_MAX)
		return hj_error_set(HJ_EINVALID, "province id %.64s is too long for a transfer (at most %d bytes)", prov,
				    HJ_PROVINCE_XFER_MAX);
	int rc = hj_db_get_text(&hex, db, "SELECT key FROM peer WHERE province = :p", ":p", prov);
	if (rc == HJ_ENOTFOUND)
		return hj_error_set(HJ_ENOTFOUND, "province %s is not an enrolled peer (huiji hub peer)", prov);
	if (!rc && hj_hex_decode(pk, 32, hex))
		rc = hj_error_set(HJ_ECORRUPT, "the peer row of %s holds no key", prov);
	free(hex);
	snprintf(id, sizeof id, HJ_SEAL_HUB_AT "%s", prov);
	if (!rc && !(rc = add_to(r, id, pk)) && r->n == had)
		rc = hj_error_set(HJ_EINVALID, "the key of province %s's hub cannot receive a seal", prov);
	return rc;
}

int hj_person_seal_set_for(hj_json *obj, const hj_node *n, const hj_json *fields, const char *const *orgs,
			   size_t norgs)
{
	return hj_person_seal_set_peer(obj, n, fields, orgs, norgs, NULL);
}

int hj_person_seal_set_peer(hj_json *obj, const hj_node *n, const hj_json *fields, const char *const *orgs,
			    size_t norgs, const char *province)
{
	hj_buf plain = HJ_BUF_INIT;
	hj_json *sealed = NULL;
	rcpt *r = calloc(1, sizeof *r);
	int rc = r ? 0 : hj_error_set(HJ_ENOMEM, "out of memory");
	if (!rc && !(rc = recipients(r, n, orgs, norgs)) && (!province || !(rc = add_peer_hub(r, n->db, province))) &&
	    !(rc = hj_json_write(&plain, fields)))
		rc = hj_seal_json(&sealed, plain.data, plain.len, r->to, r->n);
	if (!rc && hj_json_set(obj, "sealed", sealed)) /* takes it, even on failure */
		rc = hj_error_set(HJ_ENOMEM, "out of memory");
	else if (rc)
		hj_json_free(sealed);
	if (plain.data)
		sodium_memzero(plain.data, plain.len);
	hj_buf_free(&plain);
	free(r);
	return rc;
}

int hj_person_seal(hj_json **out, const hj_node *n, const char *key, const hj_json *fields, const char *org)
{
	hj_json *obj = hj_json_new(HJ_JOBJ);
	int rc = !obj || (key && hj_json_set_str(obj, "key", key)) ? hj_error_set(HJ_ENOMEM, "out of memory")
								    : hj_person_seal_set(obj, n, fields, org);
	if (rc) {
		hj_json_free(obj);
		obj = NULL;
	}
	*out = obj;
	return rc;
}

int hj_person_open_fields(hj_json **out, char commit[65], const hj_foldctx *ctx, const hj_json *obj)
{
	hj_buf plain = HJ_BUF_INIT;
	hj_sealed *s = malloc(sizeof *s);
	int rc = s ? hj_sealed_decode(s, obj) : hj_error_set(HJ_ENOMEM, "out of memory");
	*out = NULL;
	commit[0] = '\0';
	if (rc == HJ_EVERSION || rc == HJ_ENOMEM)
		goto done;
	if (rc) {
		rc = hj_error_set(HJ_ECORRUPT, "sealed personal fields: %s", hj_error_last());
		goto done;
	}
	hj_hex_encode(commit, s->commit, 32);
	if (!ctx->unseal || (!ctx->unseal->id[0] && !ctx->unseal->wraps))
		goto done; /* this fold opens nothing */
	/* No id yet (an auditor before the re-fold reaches its enrolment):
	 * only the hub's re-wraps for it. */
	/* A hub: a peer province's county seals to it by name ("hub@<its
	 * province>"), beside its own hub's "hub", which is not this one's:
	 * the name first, "hub" when the seal has no wrap by that name. */
	rc = ctx->unseal->alias[0] ? hj_unseal(&plain, s, ctx->unseal->alias, ctx->unseal->pk, ctx->unseal->sk)
				   : HJ_ENOTFOUND;
	if (rc == HJ_ENOTFOUND)
		rc = ctx->unseal->id[0] ? hj_unseal(&plain, s, ctx->unseal->id, ctx->unseal->pk, ctx->unseal->sk)
					: HJ_ENOTFOUND;
	/* Not sealed to this node: perhaps the hub re-wrapped it for it. */
	if (rc == HJ_ENOTFOUND && ctx->unseal->wraps)
		rc = hj_rewrap_open(&plain, ctx->unseal->wraps, s, ctx->unseal->pk, ctx->unseal->sk);
	if (rc == HJ_ENOTFOUND) {
		rc = 0; /* not for this node */
		goto done;
	}
	if (rc == HJ_EBADSIG)
		rc = hj_error_set(HJ_ECORRUPT, "sealed personal fields do not open: %s", hj_error_last());
	if (rc)
		goto done;
	if ((rc = hj_json_parse(out, (const char *)plain.data, plain.len)) == 0 && (*out)->type != HJ_JOBJ)
		rc = HJ_ECORRUPT;
	if (rc && rc != HJ_ENOMEM) {
		hj_json_free(*out);
		*out = NULL;
		rc = hj_error_set(HJ_ECORRUPT, "sealed personal fields are not an object");
	}
done:
	if (plain.data)
		sodium_memzero(plain.data, plain.len);
	hj_buf_free(&plain);
	free(s);
	return rc;
}

static int copy_str(hj_json *to, const hj_json *from, const char *key)
{
	const char *v = hj_json_get_str(from, key);
	return v ? hj_json_set_str(to, key, v) : 0;
}

int hj_person_view(hj_json **out, int *readable, const hj_foldctx *ctx, const hj_json *person)
{
	static const char *const fields[] = {"name", "id_number", "phone", "plate"};
	const hj_json *sealed = hj_json_get(person, "sealed");
	hj_json *opened = NULL, *v = hj_json_new(HJ_JOBJ);
	char commit[65];
	int rc = v ? 0 : hj_error_set(HJ_ENOMEM, "out of memory");
	*out = NULL;
	*readable = 1;
	if (!rc && copy_str(v, person, "key"))
		rc = hj_error_set(HJ_ENOMEM, "out of memory");
	if (!rc && sealed) {
		if (!(rc = hj_person_open_fields(&opened, commit, ctx, sealed)) && hj_json_set_str(v, "seal", commit))
			rc = hj_error_set(HJ_ENOMEM, "out of memory");
		*readable = opened != NULL;
	}
	const hj_json *src = sealed ? opened : person;
	for (size_t i = 0; !rc && src && i < sizeof fields / sizeof *fields; i++)
		if (copy_str(v, src, fields[i]))
			rc = hj_error_set(HJ_ENOMEM, "out of memory");
	/* Shut: the record is held, its person's fields are not known here. */
	if (!rc && !*readable && (hj_json_set_str(v, "name", "") || hj_json_set_str(v, "id_number", "")))
		rc = hj_error_set(HJ_ENOMEM, "out of memory");
	hj_json_free(opened);
	if (rc)
		hj_json_free(v);
	else
		*out = v;
	return rc;
}
