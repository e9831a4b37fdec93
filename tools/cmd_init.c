/*
 * cmd_init.c — `huiji init`: make a node directory.
 *
 * Without --hub the node is a root: it creates its union as the root of the
 * tree and enrols itself as hub in change set 1 (a province hub, or one
 * node used on its own). With --hub it is a county that follows that hub
 * and acts in --union until the hub's enrolment of it arrives.
 */
#include "cli.h"
#include "error.h"
#include "hook.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const cli_opt opts[] = {
	{"node", 1, "this node's id, e.g. qh-xn-cz ([a-z0-9._-])"},
	{"union", 1, "id of the union (org) this node acts for"},
	{"union-name", 1, "root only: name of the root union, e.g. 青海省总工会"},
	{"kind", 1, "root only: kind of the root union (default province)"},
	{"region", 1, "root only: region code of the root union"},
	{"hub", 1, "county: URL or path of the hub repository"},
	{"hub-key", 1, "county: the hub's public key (hex)"},
	{"person-key", 1, "hub: the national person.key file (default: a fresh one); a county holds none"},
	{NULL, 0, "huiji init --node qh-xn-cz --union qh-xn-cz --hub git://hub.qh.example/hub.git --hub-key 3f2a...e1 "
		  "--dir /srv/huiji/qh-xn-cz"},
};

/* hub init: a root, never a county (no --hub, no --hub-key). */
static const cli_opt hub_opts[] = {
	{"node", 1, "the hub's node id, e.g. qh-hub ([a-z0-9._-])"},
	{"union", 1, "id of the province's root union, e.g. qh"},
	{"union-name", 1, "name of the root union, e.g. 青海省总工会"},
	{"kind", 1, "kind of the root union (default province)"},
	{"region", 1, "region code of the root union"},
	{"person-key", 1, "the national person.key file (default: a fresh one)"},
	{NULL, 0, "huiji hub init --node qh-hub --union qh --union-name 青海省总工会 --region 63 --dir /srv/huiji/qh-hub"},
};

int cmd_init(int argc, char **argv)
{
	return cli_init(argc, argv, 0);
}

/* The hub's served repository: hub.git, its config and the pre-receive
 * hook running this very binary. */
static int hub_setup(hj_node *hub)
{
	char exe[PATH_MAX];
	ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (k <= 0)
		return hj_error_set(HJ_ERROR, "cannot resolve the huiji binary for the hub's hook");
	exe[k] = '\0';
	return hj_hub_repo_setup(hub, exe);
}

/* Change set 1 of a province: its root union and its hub. */
static int root_bootstrap(hj_node *n, const cli *c, const hj_node_init_opts *o)
{
	char pkhex[65];
	hj_batch b;
	hj_verdict v1 = {0}, v2 = {0};
	int rc;
	hj_hex_encode(pkhex, n->pk, 32);
	hj_json *org = cli_op_new("org.create");
	hj_json *enr = cli_op_new("node.enroll");
	if (!org || !enr || hj_json_set_str(org, "id", o->union_id) ||
	    hj_json_set_str(org, "name", cli_get(c, "union-name")) ||
	    hj_json_set_str(org, "kind", cli_get(c, "kind") ? cli_get(c, "kind") : "province") ||
	    hj_json_set_str(org, "region", cli_get(c, "region")) ||
	    hj_json_set_str(enr, "node", o->node) || hj_json_set_str(enr, "pubkey", pkhex) ||
	    hj_json_set_str(enr, "union", o->union_id) || hj_json_set_str(enr, "role", "hub")) {
		hj_json_free(org);
		hj_json_free(enr);
		return hj_error_set(HJ_ENOMEM, "out of memory");
	}
	if ((rc = hj_batch_begin(&b, n))) {
		hj_json_free(org);
		hj_json_free(enr);
		return rc;
	}
	if ((rc = hj_batch_apply(&b, org, &v1, NULL, 0)) || (rc = hj_batch_apply(&b, enr, &v2, NULL, 0)) ||
	    (!v1.applied && (rc = hj_error_set(HJ_EINVALID, "init: %s", v1.detail))) ||
	    (!v2.applied && (rc = hj_error_set(HJ_EINVALID, "init: %s", v2.detail)))) {
		hj_batch_abort(&b);
		return rc;
	}
	return hj_batch_commit(&b, NULL);
}

int cli_init(int argc, char **argv, int hub)
{
	cli c;
	hj_node *n = NULL;
	int rc = cli_parse(&c, hub ? "hub init" : "init", hub ? hub_opts : opts, argc, argv);
	if (rc)
		return rc > 0 ? 0 : cli_fail(rc);
	hj_node_init_opts o = {
		.dir = cli_dir(&c),
		.node = cli_need(&c, "node"),
		.union_id = cli_need(&c, "union"),
		.hub_url = cli_get(&c, "hub"),
		.hub_key = cli_get(&c, "hub-key"),
		.person_key_file = cli_get(&c, "person-key"),
	};
	o.is_root = o.hub_url == NULL;
	if (hub && !o.is_root)
		return cli_fail(hj_error_set(HJ_EINVALID, "hub init: a hub has no --hub"));
	if (!o.node || !o.union_id)
		return cli_fail(HJ_EINVALID);
	if (o.is_root && !cli_get(&c, "union-name"))
		return cli_fail(hj_error_set(HJ_EINVALID, "init: a root node (no --hub) needs --union-name"));
	if (o.hub_url) {
		uint8_t k[32];
		if (!o.hub_key || hj_hex_decode(k, 32, o.hub_key))
			return cli_fail(hj_error_set(HJ_EINVALID, "init: --hub needs --hub-key, 64 hex digits"));
	}
	if ((rc = hj_node_create(&n, &o)))
		return cli_fail(rc);

	if (o.is_root && (rc = root_bootstrap(n, &c, &o)))
		goto done;
	if (hub && (rc = hub_setup(n)))
		goto done;
	if ((rc = cli_flush_outbox(n)))
		goto done;
	char pkhex[65];
	hj_hex_encode(pkhex, n->pk, 32);
	printf("initialised %s node %s for union %s in %s\n", o.is_root ? "root" : "county", n->id,
	       n->union_id, n->dir);
	printf("public key: %s\n", pkhex);
	if (!o.is_root)
		printf("enrol it at the hub with:\n  huiji node enroll --node %s --pubkey %s --union %s --role union\n",
		       n->id, pkhex, n->union_id);
done:
	if (rc && n) {
		/* Root bootstrap failed after the directory was made: say so
		 * plainly rather than leave a node without its change set 1. */
		hj_error_wrap(rc, "%s is half-initialised, remove it and retry: ", n->dir);
	}
	hj_node_close(n);
	return cli_fail(rc);
}
