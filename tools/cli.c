/*
 * cli.c — option parsing, subcommand dispatch, node opening and error
 * reporting for tools/: the one place where a code becomes an exit status,
 * a misspelt name gets its suggestion, and a value outside a vocabulary
 * is answered with the valid ones.
 */
#include "cli.h"
#include "envelope.h"
#include "error.h"
#include "hub_entry.h"
#include "outbox.h"
#include "rules.h"
#include "sequencer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef HUIJI_VERSION
#define HUIJI_VERSION "unknown"
#endif

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
	int w = 14;
	for (int i = 0; c->opts[i].name; i++)
		if ((int)strlen(c->opts[i].name) > w)
			w = (int)strlen(c->opts[i].name);
	printf("usage: huiji %s [options]\n\noptions:\n", c->cmd);
	for (int i = 0; c->opts[i].name; i++)
		printf("  --%-*s %s%s\n", w, c->opts[i].name, c->opts[i].has_arg ? "VALUE  " : "       ", c->opts[i].help);
	if (!c->no_dir)
		printf("  --%-*s VALUE  %s\n", w, dir_opt.name, dir_opt.help);
	int n = 0;
	while (c->opts[n].name)
		n++;
	if (c->opts[n].help) /* the terminator's help is the example */
		printf("\nexample:\n  %s\n", c->opts[n].help);
}

static const char *dir_value;

int cli_parse(cli *c, const char *cmd, const cli_opt *opts, int argc, char **argv)
{
	return cli_parse_flags(c, cmd, opts, 0, argc, argv);
}

int cli_parse_flags(cli *c, const char *cmd, const cli_opt *opts, int flags, int argc, char **argv)
{
	memset(c, 0, sizeof *c);
	c->cmd = cmd;
	c->opts = opts;
	c->no_dir = (flags & CLI_NO_DIR) != 0;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			print_help(c);
			return 1;
		}
		if (strncmp(a, "--", 2) != 0)
			return hj_error_set(HJ_EINVALID, "%s: unexpected argument '%s' (see --help)", cmd, a);
		const char *name = a + 2;
		if (strcmp(name, "dir") == 0 && !c->no_dir) {
			if (i + 1 >= argc)
				return hj_error_set(HJ_EINVALID, "%s: --dir needs a value", cmd);
			dir_value = argv[++i];
			continue;
		}
		int k = find_opt(c, name);
		if (k < 0) {
			const char *near = cli_suggest(name, &opts[0].name, sizeof opts[0]);
			if (near)
				return hj_error_set(HJ_EINVALID, "%s: unknown option --%s: did you mean --%s? (see --help)",
						    cmd, name, near);
			return hj_error_set(HJ_EINVALID, "%s: unknown option --%s (see --help)", cmd, name);
		}
		c->set[k] = 1;
		if (opts[k].has_arg) {
			if (i + 1 >= argc)
				return hj_error_set(HJ_EINVALID, "%s: --%s needs a value", cmd, name);
			c->vals[k] = argv[++i];
		}
	}
	return 0;
}

int cli_parse_file(cli *c, const char **path, const char *cmd, const cli_opt *opts, int argc, char **argv)
{
	*path = NULL;
	if (argc < 1 || strncmp(argv[0], "-", 1) == 0) {
		for (int i = 0; i < argc; i++)
			if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
				return cli_parse(c, cmd, opts, 1, argv + i);
		return hj_error_set(HJ_EINVALID, "usage: huiji %s [options] (see --help)", cmd);
	}
	*path = argv[0];
	return cli_parse(c, cmd, opts, argc - 1, argv + 1);
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

int cli_exit_code(int rc)
{
	switch (rc) {
	case 0:
		return CLI_EXIT_OK;
	case HJ_EBADSIG:
	case HJ_ECORRUPT:
	case HJ_ECONFLICT:
		return CLI_EXIT_REFUSED;
	case HJ_ENOTFOUND:
		return CLI_EXIT_NOTFOUND;
	case HJ_ERROR:
	case HJ_ENOMEM:
		return CLI_EXIT_IO;
	case HJ_ENET:
		return CLI_EXIT_NET;
	case HJ_EVERSION:
		return CLI_EXIT_VERSION;
	case HJ_EPERM:
		return CLI_EXIT_PERM;
	default: /* HJ_EINVALID, HJ_EEXISTS, HJ_ETOOBIG */
		return CLI_EXIT_USAGE;
	}
}

int cli_fail(int rc)
{
	if (rc == 0)
		return 0;
	fprintf(stderr, "huiji: %s\n", hj_error_last());
	return cli_exit_code(rc);
}

/* Edit distance with adjacent transpositions (optimal string alignment),
 * on bytes: names are ASCII. Stops counting past 9. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), d[33][33];
	if (la > 32 || lb > 32)
		return 99;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	return d[la][lb];
}

const char *cli_suggest(const char *typed, const char *const *names, size_t stride)
{
	const char *best = NULL;
	size_t bestd = 99, tl = strlen(typed);
	if (!stride)
		stride = sizeof *names;
	for (const char *const *p = names; *p; p = (const char *const *)(const void *)((const char *)p + stride)) {
		size_t d = distance(typed, *p);
		/* A prefix of one name ("stat" for status) is as near as a typo. */
		if (tl >= 3 && strncmp(*p, typed, tl) == 0)
			d = 1;
		if (d < bestd)
			bestd = d, best = *p;
	}
	/* At most two edits, and fewer than half the word: "x" suggests nothing. */
	return best && bestd <= 2 && bestd * 2 < (tl > 1 ? tl : 2) + 1 ? best : NULL;
}

static void list_subs(FILE *f, const char *cmd, const cli_sub *subs)
{
	size_t w = 4;
	for (const cli_sub *s = subs; s->name; s++)
		if (strlen(s->name) > w)
			w = strlen(s->name);
	if (cmd)
		fprintf(f, "usage: huiji %s <subcommand> [options]   (huiji %s <subcommand> --help)\n\nsubcommands:\n", cmd,
			cmd);
	else
		fprintf(f, "usage: huiji <command> [options]   (huiji <command> --help; huiji --version)\n\ncommands:\n");
	for (const cli_sub *s = subs; s->name; s++)
		if (s->help) /* NULL: an alias kept for old scripts, not listed */
			fprintf(f, "  %-*s  %s\n", (int)w, s->name, s->help);
	if (cmd)
		fprintf(f, "\nexample:\n  huiji %s %s --help\n", cmd, subs[0].name);
}

int cli_dispatch(const char *cmd, const cli_sub *subs, int argc, char **argv)
{
	if (argc < 1) {
		list_subs(stderr, cmd, subs);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "help") == 0) {
		list_subs(stdout, cmd, subs);
		return 0;
	}
	for (const cli_sub *s = subs; s->name; s++)
		if (strcmp(argv[0], s->name) == 0)
			return s->fn(argc - 1, argv + 1);
	if (argv[0][0] == '-') { /* an option where the word belongs: say so in one line */
		fprintf(stderr, "huiji: %s%s%s comes first, before %s (huiji %s%s--help lists them)\n", cmd ? "huiji " : "",
			cmd ? cmd : "the command", cmd ? ": the subcommand" : "", argv[0], cmd ? cmd : "", cmd ? " " : "");
		return CLI_EXIT_USAGE;
	}
	const char *near = cli_suggest(argv[0], &subs[0].name, sizeof subs[0]);
	char what[80], hint[64];
	if (cmd)
		snprintf(what, sizeof what, "subcommand '%.32s' of huiji %s", argv[0], cmd);
	else
		snprintf(what, sizeof what, "command '%.32s'", argv[0]);
	snprintf(hint, sizeof hint, "huiji %s%s--help lists them", cmd ? cmd : "", cmd ? " " : "");
	if (near)
		fprintf(stderr, "huiji: unknown %s: did you mean '%s'? (%s)\n", what, near, hint);
	else
		fprintf(stderr, "huiji: unknown %s (%s)\n", what, hint);
	return CLI_EXIT_USAGE;
}

/* The vocabulary tables a value may be checked against; the SQL names
 * only these (never a table named by the caller's text). */
static const struct {
	const char *table, *sql;
} vocabs[] = {
	{"worker_group", "SELECT code FROM worker_group ORDER BY sort, code"},
	{"channel", "SELECT code FROM channel ORDER BY sort, code"},
	{"platform", "SELECT code FROM platform ORDER BY sort, code"},
	{"org_kind", "SELECT code FROM org_kind ORDER BY sort, code"},
	{"service_kind", "SELECT code FROM service_kind ORDER BY sort, code"},
};

int cli_check_vocab(hj_node *n, const char *what, const char *table, const char *value, int show_value)
{
	size_t k = 0;
	while (k < sizeof vocabs / sizeof vocabs[0] && strcmp(vocabs[k].table, table) != 0)
		k++;
	if (!value || k == sizeof vocabs / sizeof vocabs[0])
		return 0;
	sqlite3_stmt *st = hj_db_stmt(n->db, vocabs[k].sql);
	hj_buf list = HJ_BUF_INIT;
	int rc, found = 0;
	if (!st)
		return HJ_ERROR;
	while ((rc = hj_db_step(n->db, st)) == 1) {
		const char *code = hj_db_col_text(st, 0);
		found |= strcmp(code, value) == 0;
		if (list.len)
			hj_buf_put(&list, ", ", 2);
		hj_buf_put(&list, code, strlen(code));
	}
	hj_db_release(n->db, st);
	hj_buf_put(&list, "", 1);
	if (rc == 0 && !found)
		rc = show_value ? hj_error_set(HJ_EINVALID, "unknown %s '%.40s': one of %s", what, value,
					       list.rc ? "?" : (const char *)list.data)
				: hj_error_set(HJ_EINVALID, "unknown %s: one of %s", what, list.rc ? "?" : (const char *)list.data);
	hj_buf_free(&list);
	return rc < 0 ? rc : 0;
}

int cli_check_choice(const char *what, const char *value, const char *const *choices)
{
	char list[512];
	size_t at = 0;
	if (!value)
		return 0;
	list[0] = '\0';
	for (const char *const *c = choices; *c; c++) {
		if (strcmp(*c, value) == 0)
			return 0;
		at += (size_t)snprintf(list + at, at < sizeof list ? sizeof list - at : 0, "%s%s", at ? ", " : "", *c);
		if (at >= sizeof list)
			at = sizeof list - 1;
	}
	return hj_error_set(HJ_EINVALID, "unknown %s '%.40s': one of %s", what, value, list);
}

void cli_time_ms(char out[CLI_TIME_MAX], int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (!localtime_r(&t, &tm) || !strftime(out, CLI_TIME_MAX, "%Y-%m-%d %H:%M %z", &tm))
		snprintf(out, CLI_TIME_MAX, "%lld ms", (long long)ms);
}

void cli_time_iso(char out[CLI_TIME_MAX], const char *iso)
{
	struct tm tm = {0};
	int used = 0;
	if (sscanf(iso, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
		   &tm.tm_sec, &used) != 6 || iso[used]) {
		snprintf(out, CLI_TIME_MAX, "%s", iso);
		return;
	}
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	cli_time_ms(out, (int64_t)timegm(&tm) * 1000);
}

void cli_jlist_begin(cli_jlist *l)
{
	l->n = 0;
	fputs("[", stdout);
}

int cli_jlist_add(cli_jlist *l, hj_json *o)
{
	hj_buf b = HJ_BUF_INIT;
	int rc = o ? hj_json_write(&b, o) : hj_error_set(HJ_ENOMEM, "out of memory");
	if (!rc && b.rc)
		rc = hj_error_set(HJ_ENOMEM, "out of memory");
	if (!rc)
		printf("%s%s", l->n++ ? ",\n" : "\n", (const char *)b.data);
	hj_buf_free(&b);
	hj_json_free(o);
	return rc;
}

void cli_jlist_end(cli_jlist *l)
{
	fputs(l->n ? "\n]\n" : "]\n", stdout);
}

int cli_version(int argc, char **argv)
{
	static const cli_opt opts[] = {
		{"json", 0, "print one JSON object"},
		{NULL, 0, "huiji version --json"},
	};
	cli c;
	int rc = cli_parse_flags(&c, "version", opts, CLI_NO_DIR, argc, argv);
	if (rc)
		return rc > 0 ? 0 : cli_fail(rc);
	if (cli_flag(&c, "json")) {
		hj_json *o = hj_json_new(HJ_JOBJ);
		if (o && (hj_json_set_str(o, "version", HUIJI_VERSION) || hj_json_set_int(o, "op_version", HJ_OP_VERSION) ||
			  hj_json_set_int(o, "hub_entry_version", HJ_HUB_ENTRY_VERSION) ||
			  hj_json_set_int(o, "rules_version", HJ_RULES_VERSION) ||
			  hj_json_set_int(o, "envelope_version", HJ_ENVELOPE_VERSION)))
			o = (hj_json_free(o), NULL);
		return cli_fail(cli_json_line(o));
	}
	printf("huiji %s\nformats: op v%d, hub entry v%d, rules v%d, change set envelope v%d\n", HUIJI_VERSION,
	       HJ_OP_VERSION, HJ_HUB_ENTRY_VERSION, HJ_RULES_VERSION, HJ_ENVELOPE_VERSION);
	return 0;
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
