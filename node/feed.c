/*
 * feed.c — the node's change log in SQLite: append with the chain, and
 * verify the chain, every signature and every payload from seq 1.
 */
#include "feed.h"
#include "buf.h"
#include "error.h"

#include <inttypes.h>
#include <string.h>

int hj_feed_last(hj_db *db, uint64_t *seq, uint8_t hash[32])
{
	*seq = 0;
	memset(hash, 0, 32);
	sqlite3_stmt *st = hj_db_stmt(db, "SELECT seq, hash FROM changelog ORDER BY seq DESC LIMIT 1");
	if (!st)
		return HJ_ERROR;
	int rc = hj_db_step(db, st);
	if (rc == 1) {
		*seq = (uint64_t)sqlite3_column_int64(st, 0);
		const void *h = sqlite3_column_blob(st, 1);
		if (h && sqlite3_column_bytes(st, 1) == 32)
			memcpy(hash, h, 32);
		else
			rc = hj_error_set(HJ_ECORRUPT, "changelog seq %" PRIu64 ": hash is not 32 bytes", *seq);
	}
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

int hj_feed_append(hj_db *db, const char *node, uint64_t seq, int64_t created_at,
		   const uint8_t *payload, size_t len, const uint8_t pk[32], const uint8_t *sk,
		   uint8_t hash_out[32])
{
	uint64_t last;
	uint8_t prev[32];
	hj_buf env = HJ_BUF_INIT;
	int rc;

	if ((rc = hj_feed_last(db, &last, prev)))
		return rc;
	if (seq != last + 1)
		return hj_error_set(HJ_ECONFLICT, "feed: appending seq %" PRIu64 " after %" PRIu64, seq, last);
	if ((rc = hj_envelope_encode(&env, node, seq, prev, created_at, payload, len, pk, sk)))
		goto done;
	hj_hash32(hash_out, env.data, env.len);
	sqlite3_stmt *st = hj_db_stmt(db, "INSERT INTO changelog(seq, hash, envelope, created_at) "
					  "VALUES (:seq, :hash, :env, :at)");
	if (!st) {
		rc = HJ_ERROR;
		goto done;
	}
	rc = (hj_db_bind_int(st, ":seq", (int64_t)seq) || hj_db_bind_blob(st, ":hash", hash_out, 32) ||
	      hj_db_bind_blob(st, ":env", env.data, env.len) || hj_db_bind_int(st, ":at", created_at))
		     ? HJ_ERROR
		     : hj_db_step(db, st);
	hj_db_release(db, st);
	rc = rc < 0 ? rc : 0;
done:
	hj_buf_free(&env);
	return rc;
}

int hj_feed_check(hj_envelope *e, const uint8_t *bytes, size_t len, const char *node,
		  const uint8_t pk[32], uint64_t prev_seq, const uint8_t prev_hash[32])
{
	int rc;
	memset(e, 0, sizeof *e);
	if ((rc = hj_envelope_verify(bytes, len, pk)))
		return hj_error_wrap(rc, "%s seq %" PRIu64 ": ", node, prev_seq + 1);
	if ((rc = hj_envelope_decode(e, bytes, len)))
		return hj_error_wrap(rc, "%s seq %" PRIu64 ": ", node, prev_seq + 1);
	if (strcmp(e->node, node) != 0)
		rc = hj_error_set(HJ_ECORRUPT, "%s seq %" PRIu64 ": change set belongs to feed %s",
				  node, prev_seq + 1, e->node);
	else if (e->seq != prev_seq + 1)
		rc = hj_error_set(HJ_ECORRUPT, "%s seq %" PRIu64 ": change set says seq %" PRIu64
				  " (a gap or a reordering)", node, prev_seq + 1, e->seq);
	else if (memcmp(e->prev, prev_hash, 32) != 0)
		rc = hj_error_set(HJ_ECORRUPT, "%s seq %" PRIu64 ": prev hash does not match change set %" PRIu64
				  " (history rewritten)", node, e->seq, prev_seq);
	if (rc)
		hj_envelope_free(e);
	return rc;
}

int hj_feed_verify(hj_db *db, const char *node, const uint8_t pk[32], hj_feed_cb cb, void *ctx)
{
	uint64_t prev_seq = 0;
	uint8_t prev_hash[32] = {0}, h[32];
	hj_envelope e;
	int rc = 0;

	/* Its own statement, not the cache: the callback may use the cache. */
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db->h, "SELECT seq, hash, envelope FROM changelog ORDER BY seq", -1, &st, NULL))
		return hj_db_error(db, "feed verify");
	while ((rc = hj_db_step(db, st)) == 1) {
		uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
		const uint8_t *bytes = sqlite3_column_blob(st, 2);
		size_t len = (size_t)sqlite3_column_bytes(st, 2); /* hj_feed_check bounds it */
		const void *stored = sqlite3_column_blob(st, 1);
		int stored_len = sqlite3_column_bytes(st, 1);
		if (seq != prev_seq + 1) {
			rc = hj_error_set(HJ_ECORRUPT, "%s seq %" PRIu64 ": missing from the change log", node, prev_seq + 1);
			break;
		}
		if ((rc = hj_feed_check(&e, bytes, len, node, pk, prev_seq, prev_hash)))
			break;
		hj_hash32(h, bytes, len);
		if (!stored || stored_len != 32 || memcmp(stored, h, 32) != 0) {
			hj_envelope_free(&e);
			rc = hj_error_set(HJ_ECORRUPT, "%s seq %" PRIu64 ": stored hash does not match the envelope",
					  node, seq);
			break;
		}
		rc = cb ? cb(ctx, &e, bytes, len) : 0;
		hj_envelope_free(&e);
		if (rc)
			break;
		prev_seq = seq;
		memcpy(prev_hash, h, 32);
	}
	sqlite3_finalize(st);
	return rc < 0 ? rc : 0;
}
