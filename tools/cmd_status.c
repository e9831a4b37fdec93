/*
 * cmd_status.c — `huiji status`: answers locally, always: who this node
 * is, its feed, what the registry holds.
 */
#include "cli.h"
#include "error.h"
#include "feed.h"

#include <inttypes.h>
#include <stdio.h>

static const cli_opt opts[] = {
	{"json", 0, "print one JSON object"},
	{NULL, 0, NULL},
};

int cmd_status(int argc, char **argv)
{
	cli c;
	hj_node *n = NULL;
	uint64_t seq;
	uint8_t hash[32];
	char hex[65], pk[65];
	int64_t members = 0, open = 0, orgs = 0;
	int rc = cli_parse(&c, "status", opts, argc, argv);
	if (rc)
		return rc > 0 ? 0 : cli_fail(rc);
	if ((rc = cli_open_node(&c, &n)))
		return cli_fail(rc);
	if ((rc = hj_feed_last(n->db, &seq, hash)) ||
	    (rc = hj_db_get_int(n->db, "SELECT count(*) FROM membership WHERE status = 'active'", NULL, NULL, &members)) ||
	    (rc = hj_db_get_int(n->db, "SELECT count(*) FROM membership WHERE status = 'applied'", NULL, NULL, &open)) ||
	    (rc = hj_db_get_int(n->db, "SELECT count(*) FROM org", NULL, NULL, &orgs)))
		goto done;
	hj_hex_encode(hex, hash, 32);
	hj_hex_encode(pk, n->pk, 32);
	if (cli_flag(&c, "json")) {
		hj_json *o = hj_json_new(HJ_JOBJ);
		if (o && (hj_json_set_str(o, "node", n->id) || hj_json_set_str(o, "union", n->union_id) ||
			  hj_json_set_str(o, "role", n->is_root ? "root" : "county") || hj_json_set_str(o, "pubkey", pk) ||
			  hj_json_set_int(o, "feed_length", (int64_t)seq) || hj_json_set_int(o, "last_seq", (int64_t)seq) ||
			  hj_json_set_str(o, "last_hash", hex) || hj_json_set_int(o, "active_members", members) ||
			  hj_json_set_int(o, "open_applications", open) || hj_json_set_int(o, "orgs", orgs)))
			o = (hj_json_free(o), NULL);
		rc = cli_json_line(o);
	} else {
		printf("node        %s (%s)\nunion       %s\npublic key  %s\nfeed        %" PRIu64
		       " change sets, last seq %" PRIu64 " (%.16s)\nregistry    %lld active members, "
		       "%lld open applications, %lld orgs\n",
		       n->id, n->is_root ? "root" : "county", n->union_id, pk, seq, seq, hex, (long long)members,
		       (long long)open, (long long)orgs);
	}
done:
	hj_node_close(n);
	return cli_fail(rc);
}
