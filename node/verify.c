/*
 * verify.c — re-fold a node's own feed from nothing and compare.
 */
#include "verify.h"
#include "error.h"
#include "feed.h"
#include "projection.h"
#include "schema.h"
#include "batch.h"
#include "followed.h"
#include "replay.h"

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

static int count_one(void *vctx, const hj_envelope *e, const uint8_t *bytes, size_t len)
{
	(void)e;
	(void)bytes;
	(void)len;
	((hj_verify_report *)vctx)->change_sets++;
	return 0;
}

int hj_node_verify(hj_node *n, hj_verify_report *out)
{
	hj_db *scratch = NULL;
	hj_replay_stats st;
	memset(out, 0, sizeof *out);
	/* 1. The own feed: chain, signatures, key, payloads. */
	int rc = hj_feed_verify(n->db, n->id, n->pk, count_one, out);
	if (rc)
		return rc;
	/* 2. This node's change sets in the hub order are its change log. */
	sqlite3_stmt *q = hj_db_stmt(n->db, "SELECT f.seq FROM followed f LEFT JOIN changelog c ON c.seq = f.seq "
					    "WHERE f.node = :me AND (c.hash IS NULL OR c.hash <> f.hash) "
					    "ORDER BY f.seq LIMIT 1");
	if (!q)
		return HJ_ERROR;
	if (!(rc = hj_db_bind_text(q, ":me", n->id)) && (rc = hj_db_step(n->db, q)) == 1)
		rc = hj_error_set(HJ_ECORRUPT, "%s seq %lld: in the hub order but missing from or different in "
				  "the change log", n->id, (long long)sqlite3_column_int64(q, 0));
	hj_db_release(n->db, q);
	if (rc)
		return rc;
	/* 3. Re-fold from nothing: the hub order and own pending, every
	 * signature checked against the key enrolled at that point. */
	if ((rc = hj_scratch_open(&scratch)))
		return rc;
	if ((rc = hj_db_exec(scratch, "BEGIN")) || (rc = hj_replay(scratch, n, 1, &st)) ||
	    (rc = hj_db_exec(scratch, "COMMIT")))
		goto done;
	out->ops = st.ops;
	out->followed = st.followed;
	/* 4. Row for row against the live registry. */
	rc = hj_projection_compare(n->db, "live registry", scratch, "re-fold");
done:
	hj_db_close(scratch);
	return rc;
}
