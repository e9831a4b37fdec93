/*
 * verify.c — re-fold a node's own feed from nothing and compare.
 */
#include "verify.h"
#include "error.h"
#include "feed.h"
#include "projection.h"
#include "schema.h"
#include "batch.h"

#include <inttypes.h>
#include <string.h>

int hj_scratch_open(hj_db **out)
{
	int rc = hj_db_open(out, ":memory:", 1);
	if (!rc && (rc = hj_schema_migrate(*out))) {
		hj_db_close(*out);
		*out = NULL;
	}
	return rc;
}

int hj_fold_change_set(hj_db *db, const hj_foldctx *base, const hj_envelope *e, uint64_t *ops_out)
{
	hj_json *payload = NULL;
	hj_foldctx ctx = *base;
	hj_verdict v;
	int rc = hj_json_parse(&payload, (const char *)e->payload, e->payload_len);
	if (rc)
		return hj_error_wrap(rc, "%s seq %" PRIu64 ": payload: ", e->node, e->seq);
	const hj_json *ops = hj_fold_payload_ops(payload, &rc);
	if (!ops)
		goto done;
	ctx.actor = e->node;
	ctx.seq = e->seq;
	for (size_t i = 0; i < ops->count; i++) {
		ctx.index = (uint32_t)i;
		if ((rc = hj_fold_op(db, &ctx, ops->items[i], &v)))
			goto done;
		if (!v.applied) {
			rc = hj_error_set(HJ_ECONFLICT, "%s seq %" PRIu64 " op %zu: re-fold rejects it (%s: %s)",
					  e->node, e->seq, i, v.reason, v.detail);
			goto done;
		}
		if (ops_out)
			(*ops_out)++;
	}
done:
	hj_json_free(payload);
	return rc;
}

typedef struct refold {
	hj_db *scratch;
	hj_foldctx base;
	hj_verify_report *rep;
} refold;

static int refold_one(void *vctx, const hj_envelope *e, const uint8_t *bytes, size_t len)
{
	(void)bytes;
	(void)len;
	refold *r = vctx;
	r->rep->change_sets++;
	return hj_fold_change_set(r->scratch, &r->base, e, &r->rep->ops);
}

int hj_node_verify(hj_node *n, hj_verify_report *out)
{
	refold r = {0};
	memset(out, 0, sizeof *out);
	r.rep = out;
	hj_batch_ctx(n, 0, 0, &r.base);
	int rc = hj_scratch_open(&r.scratch);
	if (rc)
		return rc;
	if ((rc = hj_db_exec(r.scratch, "BEGIN")))
		goto done;
	if ((rc = hj_feed_verify(n->db, n->id, n->pk, refold_one, &r)))
		goto done;
	if ((rc = hj_db_exec(r.scratch, "COMMIT")))
		goto done;
	rc = hj_projection_compare(n->db, "live registry", r.scratch, "re-fold of the feed");
done:
	hj_db_close(r.scratch);
	return rc;
}
