/*
 * csv.c — RFC 4180 reader with hard limits and line numbers, and the
 * matching writer. Fields are checked with the one UTF-8 validator
 * (utf8.h) the JSON writer uses, so a row the reader passes can be signed.
 */
#include "csv.h"
#include "error.h"
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

struct hj_csv {
	FILE *f;
	long line;     /* current physical line */
	int first;     /* BOM check pending */
	char buf[HJ_CSV_MAX_RECORD + 1];
	size_t len;
	char *fields[HJ_CSV_MAX_FIELDS];
	size_t starts[HJ_CSV_MAX_FIELDS];
};

int hj_csv_open(hj_csv **out, FILE *f)
{
	*out = calloc(1, sizeof **out);
	if (!*out)
		return hj_error_set(HJ_ENOMEM, "out of memory");
	(*out)->f = f;
	(*out)->line = 1;
	(*out)->first = 1;
	return 0;
}

void hj_csv_close(hj_csv *c)
{
	free(c);
}

/* Skip to just after the next newline (resynchronise after an error). */
static void skip_line(hj_csv *c)
{
	int ch;
	while ((ch = getc(c->f)) != EOF && ch != '\n')
		;
	if (ch == '\n')
		c->line++;
}

/* A leading UTF-8 byte-order mark is dropped; a broken one refuses line 1. */
static int csv_skip_bom(hj_csv *c, long *line)
{
	c->first = 0;
	int b0 = getc(c->f);
	if (b0 == 0xEF) {
		int b1 = getc(c->f), b2 = getc(c->f);
		if (b1 != 0xBB || b2 != 0xBF) {
			*line = c->line;
			skip_line(c);
			return hj_error_set(HJ_EINVALID, "not UTF-8 (a broken byte-order mark)");
		}
	} else if (b0 != EOF) {
		ungetc(b0, c->f);
	}
	return 0;
}

/* Skip blank lines (LF, CR or CRLF, each counted); returns the first byte
 * of the next record, or EOF. */
static int csv_skip_blank(hj_csv *c)
{
	int ch;
	for (;;) {
		ch = getc(c->f);
		if (ch == '\r') {
			int nx = getc(c->f);
			if (nx != '\n' && nx != EOF)
				ungetc(nx, c->f);
			ch = '\n';
		}
		if (ch != '\n')
			return ch;
		c->line++;
	}
}

/* One byte inside quotes. Returns 1 when it is the closing quote (nothing to
 * store), 0 when the byte is field text: "" stands for one quote, and line
 * breaks inside quotes still count toward the line number. */
static int csv_quoted_byte(hj_csv *c, int ch)
{
	if (ch == '"') {
		int nx = getc(c->f);
		if (nx == '"')
			return 0;
		if (nx != EOF)
			ungetc(nx, c->f);
		return 1;
	}
	if (ch == '\n') {
		c->line++;
	} else if (ch == '\r') {
		/* a lone CR breaks a line here as it does outside
		 * quotes; CRLF counts once, at its LF */
		int nx = getc(c->f);
		if (nx != EOF)
			ungetc(nx, c->f);
		if (nx != '\n')
			c->line++;
	}
	return 0;
}

/* The field scanner: reads one record, whose first byte *ch was read
 * already, into c->buf as NUL-separated fields starting at c->starts[].
 * Returns NULL, or why the record is refused. On return *ch is the byte it
 * stopped at, *nf the field count and *quoted whether a quote is open. */
static const char *csv_scan_record(hj_csv *c, int *ch_io, int *nf_out, int *quoted_out)
{
	int ch = *ch_io, quoted = 0, after_quote = 0, nf = 0;
	const char *err = NULL;

	c->len = 0;
	c->starts[nf++] = 0;
	for (;; ch = getc(c->f)) {
		if (ch == EOF) {
			if (quoted)
				err = "unterminated quoted field";
			break;
		}
		if (quoted) {
			if (csv_quoted_byte(c, ch)) {
				quoted = 0;
				after_quote = 1;
				continue;
			}
		} else if (ch == '\r' || ch == '\n') {
			if (ch == '\r') {
				int nx = getc(c->f);
				if (nx != '\n' && nx != EOF)
					ungetc(nx, c->f);
			}
			c->line++;
			break;
		} else if (ch == ',') {
			if (nf == HJ_CSV_MAX_FIELDS) {
				err = "too many fields";
				break;
			}
			if (c->len == HJ_CSV_MAX_RECORD) {
				err = "record too long";
				break;
			}
			c->buf[c->len++] = '\0';
			c->starts[nf++] = c->len;
			after_quote = 0;
			continue;
		} else if (ch == '"') {
			if (after_quote || c->len != c->starts[nf - 1]) {
				err = "a quote inside an unquoted field";
				break;
			}
			quoted = 1;
			continue;
		} else if (after_quote) {
			err = "text after a closing quote";
			break;
		}
		if (ch == '\0') {
			/* fields are C strings: a NUL would cut one short unseen */
			err = "a NUL byte in a field";
			break;
		}
		if (c->len == HJ_CSV_MAX_RECORD) {
			err = "record too long";
			break;
		}
		c->buf[c->len++] = (char)ch;
	}
	c->buf[c->len] = '\0';
	*ch_io = ch;
	*nf_out = nf;
	*quoted_out = quoted;
	return err;
}

int hj_csv_next(hj_csv *c, char ***fields, size_t *n, long *line)
{
	int ch, quoted = 0, nf = 0, rc;

	if (c->first && (rc = csv_skip_bom(c, line)) < 0)
		return rc;
	ch = csv_skip_blank(c);
	*line = c->line;
	if (ch == EOF)
		return 0;
	/* Where the record starts, to come back to if a quote never closes. */
	long start = ftell(c->f);
	if (start > 0)
		start--; /* ch was read already */
	const char *err = csv_scan_record(c, &ch, &nf, &quoted);
	if (err && quoted && start >= 0 && fseek(c->f, start, SEEK_SET) == 0) {
		/* An opening quote that never closes would swallow every row
		 * after it: refuse only its own line and read on from the next. */
		c->line = *line;
		skip_line(c);
	} else if (err && ch != '\n' && ch != EOF) {
		skip_line(c);
	}
	if (err) {
		return hj_error_set(HJ_EINVALID, "%s", err);
	}
	for (int i = 0; i < nf; i++) {
		c->fields[i] = c->buf + c->starts[i];
		size_t bad = 0;
		if (!hj_utf8_valid(c->fields[i], strlen(c->fields[i]), &bad))
			return hj_error_set(HJ_EINVALID, "field %d is not valid UTF-8 (byte %zu)", i + 1, bad + 1);
	}
	*fields = c->fields;
	*n = (size_t)nf;
	return 1;
}

/* RFC 4180 §2.6: these make a field need quotes. */
static int needs_quotes(const char *s)
{
	return strpbrk(s, ",\"\r\n") != NULL;
}

int hj_csv_put_row(hj_buf *out, const char *const *fields, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *s = fields[i] ? fields[i] : "";
		if (i)
			hj_buf_put_u8(out, ',');
		if (!needs_quotes(s)) {
			hj_buf_puts(out, s);
			continue;
		}
		hj_buf_put_u8(out, '"');
		for (; *s; s++) {
			if (*s == '"')
				hj_buf_put_u8(out, '"'); /* §2.7: a quote inside is "" */
			hj_buf_put_u8(out, (uint8_t)*s);
		}
		hj_buf_put_u8(out, '"');
	}
	hj_buf_put_u8(out, '\n');
	return out->rc;
}
