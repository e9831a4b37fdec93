/*
 * cli.c — option parsing, node opening and error reporting for tools/.
 */
#include "cli.h"
#include "error.h"
#include "outbox.h"
#include "sequencer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cli_opt dir_opt = {"dir", 1, "node directory (default $HUIJI_DIR or .)"};

static int find_opt(const cli *c, const char *name)
{
	for (int i = 0; c->opts[i].name; i++)
		if (strcmp(c->opts[i].name, name) == 0)
			return i;
	return -1;
}

static void print_help(const cli *c)
{
	printf("usage: huiji %s [options]\n", c->cmd);
	for (int i = 0; c->opts[i].name; i++)
		printf("  --%-14s %s%s\n", c->opts[i].name, c->opts[i].has_arg ? "VALUE  " : "", c->opts[i].help);
	printf("  --%-14s VALUE  %s\n", dir_opt.name, dir_opt.help);
	int n = 0;
	while (c->opts[n].name)
		n++;
	if (c->opts[n].help) /* the terminator's help is the example */
		printf("\nexample:\n  %s\n", c->opts[n].help);
}

static const char *dir_value;

int cli_parse(cli *c, const char *cmd, const cli_opt *opts, int argc, char **argv)
{
	memset(c, 0, sizeof *c);
	c->cmd = cmd;
	c->opts = opts;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			print_help(c);
			return 1;
		}
		if (strncmp(a, "--", 2) != 0)
			return hj_error_set(HJ_EINVALID, "%s: unexpected argument '%s' (see --help)", cmd, a);
		const char *name = a + 2;
		if (strcmp(name, "dir") == 0) {
			if (i + 1 >= argc)
				return hj_error_set(HJ_EINVALID, "%s: --dir needs a value", cmd);
			dir_value = argv[++i];
			continue;
		}
		int k = find_opt(c, name);
		if (k < 0)
			return hj_error_set(HJ_EINVALID, "%s: unknown option --%s (see --help)", cmd, name);
		c->set[k] = 1;
		if (opts[k].has_arg) {
			if (i + 1 >= argc)
				return hj_error_set(HJ_EINVALID, "%s: --%s needs a value", cmd, name);
			c->vals[k] = argv[++i];
		}
	}
	return 0;
}

const char *cli_get(const cli *c, const char *name)
{
	int k = find_opt(c, name);
	return k >= 0 && c->set[k] ? c->vals[k] : NULL;
}

int cli_flag(const cli *c, const char *name)
{
	int k = find_opt(c, name);
	return k >= 0 && c->set[k];
}

const char *cli_need(const cli *c, const char *name)
{
	const char *v = cli_get(c, name);
	if (!v || !v[0])
		hj_error_set(HJ_EINVALID, "%s: --%s is required", c->cmd, name);
	return v && v[0] ? v : NULL;
}

const char *cli_date(const cli *c, char today[11], int *given)
{
	const char *on = cli_get(c, "on");
	*given = on != NULL;
	hj_clock_today(today);
	return on ? on : today;
}

const char *cli_dir(const cli *c)
{
	(void)c;
	if (dir_value)
		return dir_value;
	const char *env = getenv("HUIJI_DIR");
	return env && env[0] ? env : ".";
}

int cli_open_node(const cli *c, hj_node **out)
{
	return hj_node_open(out, cli_dir(c));
}

int cli_fail(int rc)
{
	if (rc == 0)
		return 0;
	fprintf(stderr, "huiji: %s\n", hj_error_last());
	switch (rc) {
	case HJ_EBADSIG:
	case HJ_ECORRUPT:
	case HJ_ECONFLICT:
		return 1;
	default:
		return 2;
	}
}

hj_json *cli_op_new(const char *name)
{
	hj_json *op = hj_json_new(HJ_JOBJ);
	if (op && (hj_json_set_str(op, "op", name) || hj_json_set_int(op, "v", HJ_OP_VERSION))) {
		hj_json_free(op);
		op = NULL;
	}
	return op;
}

int cli_run_op(hj_node *n, hj_json *op, char *id_out, size_t id_outsz)
{
	hj_batch b;
	hj_verdict v;
	char name[40];
	int rc;

	if (!op)
		return hj_error_set(HJ_ENOMEM, "out of memory");
	snprintf(name, sizeof name, "%s", hj_json_get_str(op, "op"));
	if ((rc = hj_batch_begin(&b, n))) {
		hj_json_free(op);
		return rc;
	}
	if ((rc = hj_batch_apply(&b, op, &v, id_out, id_outsz)))
		goto fail;
	if (!v.applied) {
		rc = hj_error_set(HJ_ECONFLICT, "%s refused (%s): %s", name, v.reason, v.detail);
		goto fail;
	}
	if ((rc = hj_batch_commit(&b, NULL)))
		return rc;
	return cli_flush_outbox(n);
fail:
	hj_batch_abort(&b);
	return rc;
}

int cli_json_line(hj_json *o)
{
	hj_buf b = HJ_BUF_INIT;
	int rc = o ? hj_json_write(&b, o) : hj_error_set(HJ_ENOMEM, "out of memory");
	if (!rc && !b.rc)
		printf("%s\n", (const char *)b.data);
	hj_buf_free(&b);
	hj_json_free(o);
	return rc;
}

int cli_flush_outbox(hj_node *n)
{
	hj_gitrepo *repo = NULL;
	int rc = hj_node_repo_open(&repo, n);
	if (!rc) /* a hub: its sequenced refs first (sequencer.h) */
		rc = n->is_root ? hj_hub_publish(n, repo) : hj_outbox_flush(n, repo, NULL);
	hj_gitrepo_close(repo);
	if (rc) {
		/* Committed in SQLite already: say so, do not fail the command. */
		fprintf(stderr, "huiji: warning: %s (the change set is safe and will be written to git "
				"by the next command)\n", hj_error_last());
	}
	return 0;
}
