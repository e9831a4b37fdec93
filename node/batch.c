/*
 * batch.c — a command's ops folded and signed in one SQLite transaction.
 */
#include "batch.h"
#include "clock.h"
#include "error.h"
#include "feed.h"
#include "followed.h"
#include "hub_entry.h"
#include "rules.h"
#include "undo.h"

#include <inttypes.h>
#include <string.h>

/* batch.h: 2,000 worst-case verdicts (~1,600 bytes each) fit one entry. */
_Static_assert((size_t)HJ_BATCH_MAX_OPS * 1600 + 4096 < HJ_HUB_ENTRY_MAX_BYTES,
	       "a county change set must always fit one hub entry");

int hj_batch_begin(hj_batch *b, hj_node *n)
{
	uint8_t h[32];
	memset(b, 0, sizeof *b);
	b->node = n;
	int rc = hj_db_exec(n->db, "BEGIN IMMEDIATE");
	if (rc)
		return rc;
	b->open = 1;
	if ((rc = hj_feed_last(n->db, &b->seq, h)))
		goto fail;
	b->seq++;
	b->created_at = hj_clock_ms();
	b->rules.rules = HJ_RULES_VERSION;
	if (n->is_root && (rc = hj_followed_rules_now(&b->rules, n->db)))
		goto fail;
	if (!(b->ops = hj_json_new(HJ_JARR))) {
		rc = HJ_ENOMEM;
		goto fail;
	}
	/* A county's change set stays pending until the hub sequences it;
	 * its inverse lets the rebase take it back out (node/replay.h). */
	if (!n->is_root && (rc = hj_undo_begin(n->db, &b->undo)))
		goto fail;
	return 0;
fail:
	hj_batch_abort(b);
	return rc;
}

int hj_batch_apply(hj_batch *b, hj_json *op, hj_verdict *v, char *id_out, size_t id_outsz)
{
	hj_foldctx ctx;
	if (b->applied >= HJ_BATCH_MAX_OPS) {
		hj_json_free(op);
		return hj_error_set(HJ_ETOOBIG, "change set %" PRIu64 ": more than %d ops; commit and start another",
				    b->seq, HJ_BATCH_MAX_OPS);
	}
	hj_node_foldctx(b->node, b->seq, b->applied, &ctx);
	ctx.rules = b->rules.rules;
	ctx.now_ms = b->created_at;
	if (id_out)
		hj_fold_op_id(id_out, id_outsz, &ctx);
	/* The index is the op's position in the signed payload, so a re-fold
	 * of the payload mints the same ids: a rejected op is not recorded and
	 * does not take a position. */
	int rc = hj_fold_op(b->node->db, &ctx, op, v);
	if (rc == 0 && v->applied) {
		b->applied++;
		return hj_json_append(b->ops, op);
	}
	hj_json_free(op);
	return rc;
}

int hj_payload_encode(hj_buf *out, const hj_json *ops)
{
	hj_buf_puts(out, "{\"v\":1,\"ops\":");
	int rc = hj_json_write(out, ops);
	hj_buf_puts(out, "}");
	return rc ? rc : (out->rc ? hj_error_set(HJ_ENOMEM, "out of memory") : 0);
}

int hj_batch_commit(hj_batch *b, uint64_t *seq_out)
{
	hj_buf payload = HJ_BUF_INIT;
	uint8_t hash[32];
	int rc;

	if (seq_out)
		*seq_out = 0;
	if (!b->open)
		return hj_error_set(HJ_ERROR, "batch: not open");
	if (b->ops->count == 0) {
		hj_batch_abort(b);
		return 0;
	}
	if ((rc = hj_payload_encode(&payload, b->ops)))
		goto done;
	/* created_at is the author's clock: the date rules' "now" for these
	 * ops at this node (the hub judges by its own entry's time). */
	if ((rc = hj_feed_append(b->node->db, b->node->id, b->seq, b->created_at, payload.data, payload.len,
				 b->node->pk, b->node->sk, hash)))
		goto done;
	if (b->undo) {
		rc = hj_undo_end(b->node->db, b->undo, b->seq);
		b->undo = NULL;
		if (rc)
			goto done;
	}
	/* The hub sequences its own change sets as they commit. */
	if (b->node->is_root) {
		sqlite3_stmt *st = hj_db_stmt(b->node->db, "SELECT envelope FROM changelog WHERE seq = :s");
		if (!st) {
			rc = HJ_ERROR;
			goto done;
		}
		if (!(rc = hj_db_bind_int(st, ":s", (int64_t)b->seq)) && (rc = hj_db_step(b->node->db, st)) == 0)
			rc = hj_error_set(HJ_ENOTFOUND, "seq %" PRIu64 " vanished from the change log", b->seq);
		if (rc == 1) {
			const uint8_t *env = sqlite3_column_blob(st, 0);
			int len = sqlite3_column_bytes(st, 0);
			rc = env && len > 0 ? hj_followed_append(b->node->db, &b->rules, b->seq, b->node->id, b->seq, hash,
								 env, (size_t)len, NULL, NULL)
					    : hj_error_set(HJ_ECORRUPT, "seq %" PRIu64 ": empty envelope", b->seq);
		}
		hj_db_release(b->node->db, st);
		if (rc)
			goto done;
	}
	if ((rc = hj_db_exec(b->node->db, "COMMIT")))
		goto done;
	b->open = 0;
	if (seq_out)
		*seq_out = b->seq;
done:
	hj_buf_free(&payload);
	hj_batch_abort(b);
	return rc;
}

void hj_batch_abort(hj_batch *b)
{
	if (b->undo)
		sqlite3session_delete(b->undo);
	b->undo = NULL;
	if (b->open && b->node)
		hj_db_exec(b->node->db, "ROLLBACK");
	b->open = 0;
	hj_json_free(b->ops);
	b->ops = NULL;
}
