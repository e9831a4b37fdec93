/*
 * followed.c — the hub order as a node holds it: the `followed` table.
 */
#include "followed.h"
#include "error.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hj_followed_append(hj_db *db, const hj_followed_rules *rules, uint64_t hub_seq, const char *node, uint64_t seq,
		       const uint8_t hash[32], const uint8_t *envelope, size_t len, const char *verdicts, const char *keys)
{
	sqlite3_stmt *st = hj_db_stmt(db, "INSERT INTO followed(pos, hub_seq, node, seq, hash, envelope, verdicts, rules, "
					  "hub_at, keys) VALUES ((SELECT coalesce(max(pos), 0) + 1 FROM followed), :h, :n, "
					  ":s, :hash, :e, :v, :r, :at, :keys)");
	if (!st)
		return HJ_ERROR;
	int rc = (hj_db_bind_int(st, ":h", (int64_t)hub_seq) || hj_db_bind_text(st, ":n", node) ||
	    hj_db_bind_int(st, ":s", (int64_t)seq) || hj_db_bind_blob(st, ":hash", hash, 32) ||
	    hj_db_bind_blob(st, ":e", envelope, len) || hj_db_bind_text(st, ":v", verdicts) ||
	    hj_db_bind_int(st, ":r", rules->rules ? rules->rules : 1) || hj_db_bind_int(st, ":at", rules->at_ms) ||
	    hj_db_bind_text(st, ":keys", keys))
		     ? HJ_ERROR
		     : hj_db_step(db, st);
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

int hj_followed_last(hj_db *db, const char *node, uint64_t *seq, uint8_t hash[32])
{
	*seq = 0;
	memset(hash, 0, 32);
	sqlite3_stmt *st = hj_db_stmt(db, "SELECT seq, hash FROM followed WHERE node = :n ORDER BY seq DESC LIMIT 1");
	if (!st)
		return HJ_ERROR;
	int rc = hj_db_bind_text(st, ":n", node);
	if (!rc)
		rc = hj_db_step(db, st);
	if (rc == 1) {
		*seq = (uint64_t)sqlite3_column_int64(st, 0);
		const void *h = sqlite3_column_blob(st, 1);
		if (!h || sqlite3_column_bytes(st, 1) != 32)
			rc = hj_error_set(HJ_ECORRUPT, "followed: %s seq %" PRIu64 " has no 32-byte hash", node, *seq);
		else
			memcpy(hash, h, 32);
	}
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

int hj_pending_count(int64_t *out, const hj_node *n)
{
	*out = 0;
	if (n->is_root)
		return 0;
	return hj_db_get_int(n->db, "SELECT count(*) FROM changelog WHERE seq > "
				    "(SELECT coalesce(max(seq), 0) FROM followed WHERE node = :n)", ":n", n->id, out);
}

int hj_followed_hash(uint8_t out[32], hj_db *db, const char *node, uint64_t seq)
{
	sqlite3_stmt *st = hj_db_stmt(db, "SELECT hash FROM followed WHERE node = :n AND seq = :s");
	if (!st)
		return HJ_ERROR;
	int rc = (hj_db_bind_text(st, ":n", node) || hj_db_bind_int(st, ":s", (int64_t)seq)) ? HJ_ERROR
											      : hj_db_step(db, st);
	const void *blob = rc == 1 ? sqlite3_column_blob(st, 0) : NULL;
	if (rc == 1 && blob && sqlite3_column_bytes(st, 0) == 32)
		memcpy(out, blob, 32);
	else if (rc >= 0)
		rc = HJ_ENOTFOUND; /* no row, or a hash that cannot match */
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

int hj_followed_rules_now(hj_followed_rules *out, hj_db *db)
{
	int64_t r = 1;
	char *text = NULL;
	int rc = hj_meta_get(&text, db, "hub_rules");
	if (rc == 0) {
		r = strtoll(text, NULL, 10);
		free(text);
		if (r < 1 || r > UINT32_MAX)
			return hj_error_set(HJ_ECORRUPT, "meta hub_rules is not a rules version");
	} else if (rc != HJ_ENOTFOUND) {
		return rc;
	}
	out->rules = (uint32_t)r;
	out->at_ms = 0;
	return 0;
}

int hj_followed_rules_set(hj_db *db, uint32_t rules)
{
	char text[16];
	snprintf(text, sizeof text, "%" PRIu32, rules);
	return hj_meta_set(db, "hub_rules", text);
}
