/*
 * csv.c — RFC 4180 reader with hard limits, line numbers and
 * resynchronisation, the encoding decision (UTF-8 or GB18030, from the
 * whole input), and the matching writer. The input is read whole into
 * memory (bounded), so a refused record can be read again from the line
 * after its start and its bytes handed to a reject file. Fields are checked
 * with the one UTF-8 validator (utf8.h) the JSON writer uses, so a row the
 * reader passes can be signed.
 */
#include "csv.h"
#include "error.h"
#include "utf8.h"

#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>

struct hj_csv {
	char *text; /* the whole input as UTF-8, NUL after the last byte */
	size_t size, pos;
	long line;  /* physical line at pos */
	int first;  /* BOM check pending */
	int width;  /* fields of the first record returned, 0 before */
	int max_breaks;
	long swallowed; /* first line inside the open quoted field that reads as a row, or 0 */
	hj_csv_encoding enc;
	size_t raw_start, raw_end; /* the last record's bytes */
	char buf[HJ_CSV_MAX_RECORD + 1];
	size_t len;
	char *fields[HJ_CSV_MAX_FIELDS];
	size_t starts[HJ_CSV_MAX_FIELDS];
};

/* ---- reading the input whole ---- */

static int slurp(char **out, size_t *n, FILE *f)
{
	size_t cap = 1 << 16, len = 0;
	char *p = malloc(cap + 1);
	*out = NULL;
	*n = 0;
	if (!p)
		return hj_error_set(HJ_ENOMEM, "out of memory");
	for (;;) {
		if (len == cap) {
			if (cap >= HJ_CSV_MAX_INPUT) {
				free(p);
				return hj_error_set(HJ_ETOOBIG, "the file is over %u MiB", HJ_CSV_MAX_INPUT >> 20);
			}
			char *q = realloc(p, cap * 2 + 1);
			if (!q) {
				free(p);
				return hj_error_set(HJ_ENOMEM, "out of memory");
			}
			p = q;
			cap *= 2;
		}
		size_t got = fread(p + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		free(p);
		return hj_error_set(HJ_ERROR, "read error: %s", strerror(errno));
	}
	p[len] = '\0';
	*out = p;
	*n = len;
	return 0;
}

/* 1 + the number of line breaks (LF, CR, CRLF) before offset `off`. */
static long line_of(const char *t, size_t off)
{
	long line = 1;
	for (size_t i = 0; i < off; i++)
		if (t[i] == '\n' || (t[i] == '\r' && t[i + 1] != '\n'))
			line++;
	return line;
}

/* ---- the encoding decision (csv.h) ---- */

/* Decode GB18030 to UTF-8 with glibc's iconv. On bytes it does not use,
 * HJ_EINVALID naming their line. CONSTRUCTOR: *out freed with free(). */
static int gb18030_decode(char **out, size_t *outn, const char *in, size_t n)
{
	*out = NULL;
	iconv_t cd = iconv_open("UTF-8", "GB18030");
	if (cd == (iconv_t)-1)
		return hj_error_set(HJ_ERROR, "GB18030 decoding is not available here (iconv: %s)", strerror(errno));
	size_t cap = n / 2 * 3 + 8; /* 2 bytes become at most 3, 1 and 4 no more */
	char *o = malloc(cap + 1), *ip = (char *)in, *op = o;
	size_t il = n, ol = cap;
	int rc = 0;
	if (!o) {
		rc = hj_error_set(HJ_ENOMEM, "out of memory");
	} else if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 || iconv(cd, NULL, NULL, &op, &ol) == (size_t)-1) {
		rc = errno == E2BIG ? hj_error_set(HJ_ERROR, "GB18030 decoding overflowed")
				    : hj_error_set(HJ_EINVALID, "line %ld holds bytes GB18030 does not use",
						   line_of(in, (size_t)(ip - in)));
	}
	iconv_close(cd);
	if (rc) {
		free(o);
		return rc;
	}
	*op = '\0';
	*out = o;
	*outn = (size_t)(op - o);
	return 0;
}

typedef struct enc_stats {
	size_t high;      /* non-ASCII bytes */
	size_t in_utf8;   /* of them, bytes of well-formed UTF-8 sequences */
	size_t chars;     /* non-ASCII characters of those sequences */
	size_t two_byte;  /* of them U+0080..U+07FF, but U+00B7 */
} enc_stats;

static void utf8_stats(enc_stats *s, const char *t, size_t n)
{
	const unsigned char *u = (const unsigned char *)t;
	memset(s, 0, sizeof *s);
	for (size_t i = 0; i < n;) {
		if (u[i] < 0x80) {
			i++;
			continue;
		}
		size_t k = hj_utf8_seq(u + i, n - i);
		if (!k) {
			s->high++;
			i++;
			continue;
		}
		s->high += k;
		s->in_utf8 += k;
		s->chars++;
		s->two_byte += k == 2 && !(u[i] == 0xC2 && u[i + 1] == 0xB7);
		i += k;
	}
}

/* Decide AUTO (csv.h) and decode if need be; on success c->text holds
 * UTF-8 and c->enc what it was. Takes `raw` (freed or kept). */
static int csv_decide(hj_csv *c, char *raw, size_t n, hj_csv_encoding enc)
{
	enc_stats s;
	char *dec = NULL;
	size_t dn = 0;
	int rc, detected = enc == HJ_CSV_AUTO;
	if (detected) {
		utf8_stats(&s, raw, n);
		if (n >= 3 && memcmp(raw, "\xEF\xBB\xBF", 3) == 0)
			enc = HJ_CSV_UTF8;
		else if (s.in_utf8 == s.high) {
			enc = HJ_CSV_UTF8;
			rc = s.chars >= 2 && s.two_byte * 2 > s.chars ? gb18030_decode(&dec, &dn, raw, n) : HJ_EINVALID;
			free(dec);
			if (rc != HJ_EINVALID) { /* decodes, or a failure: neither is a decision */
				free(raw);
				return rc ? rc : hj_error_set(HJ_EINVALID, "the file is valid UTF-8 but reads like GB18030 "
							      "(GBK) text: say which it is (--encoding utf-8 or "
							      "--encoding gb18030)");
			}
		} else
			enc = s.in_utf8 * 2 >= s.high ? HJ_CSV_UTF8 : HJ_CSV_GB18030;
	}
	if (enc == HJ_CSV_GB18030) {
		rc = gb18030_decode(&dec, &dn, raw, n);
		free(raw);
		if (rc == HJ_EINVALID)
			return hj_error_wrap(rc, detected ? "the file is neither UTF-8 nor GB18030: " : "not GB18030: ");
		if (rc)
			return rc;
		raw = dec;
		n = dn;
	}
	c->text = raw;
	c->size = n;
	c->enc = enc;
	return 0;
}

int hj_csv_open_enc(hj_csv **out, FILE *f, hj_csv_encoding enc)
{
	char *raw;
	size_t n;
	int rc;
	if (!(*out = calloc(1, sizeof **out)))
		return hj_error_set(HJ_ENOMEM, "out of memory");
	(*out)->line = 1;
	(*out)->first = 1;
	(*out)->max_breaks = HJ_CSV_MAX_BREAKS;
	if ((rc = slurp(&raw, &n, f)) || (rc = csv_decide(*out, raw, n, enc))) {
		hj_csv_close(*out);
		*out = NULL;
	}
	return rc;
}

int hj_csv_open(hj_csv **out, FILE *f)
{
	return hj_csv_open_enc(out, f, HJ_CSV_UTF8);
}

void hj_csv_close(hj_csv *c)
{
	if (c)
		free(c->text);
	free(c);
}

hj_csv_encoding hj_csv_encoding_of(const hj_csv *c)
{
	return c->enc;
}

const char *hj_csv_encoding_name(hj_csv_encoding e)
{
	return e == HJ_CSV_GB18030 ? "GB18030" : e == HJ_CSV_UTF8 ? "UTF-8" : "auto";
}

void hj_csv_set_max_breaks(hj_csv *c, int n)
{
	c->max_breaks = n < 0 ? 0 : n > HJ_CSV_MAX_BREAKS ? HJ_CSV_MAX_BREAKS : n;
}

void hj_csv_raw(const hj_csv *c, const char **p, size_t *n)
{
	*p = c->text + c->raw_start;
	*n = c->raw_end - c->raw_start;
}

/* ---- records ---- */

/* Bytes of the line break at t[p]: 2 for CRLF, 1 for LF or a lone CR, 0
 * for none (t is NUL-terminated, so t[p + 1] is readable). */
static size_t brk(const char *t, size_t p)
{
	if (t[p] == '\n')
		return 1;
	if (t[p] == '\r')
		return t[p + 1] == '\n' ? 2 : 1;
	return 0;
}

/* Does the physical line starting at `p` read as a complete record by
 * itself: no quote, ended by a line break, as many fields as the first
 * record (csv.h: a stray quote is taking in whole rows)? */
static int looks_like_record(const hj_csv *c, size_t p)
{
	int fields = 1;
	if (c->width < 2 || p >= c->size || brk(c->text, p))
		return 0;
	for (; p < c->size && !brk(c->text, p); p++) {
		if (c->text[p] == '"')
			return 0;
		fields += c->text[p] == ',';
	}
	return p < c->size && fields == c->width;
}

static int put(hj_csv *c, char ch)
{
	if (c->len == HJ_CSV_MAX_RECORD)
		return hj_error_set(HJ_EINVALID, "record too long (over %d bytes)", HJ_CSV_MAX_RECORD);
	c->buf[c->len++] = ch;
	return 0;
}

/* A byte inside quotes at c->pos. Returns 1 when it closed the field, 0
 * when it was stored, or HJ_EINVALID (a bound of csv.h broken). */
static int scan_quoted(hj_csv *c, int *breaks, size_t qstart)
{
	const char *t = c->text;
	size_t p = c->pos, bl;
	if (t[p] == '"') {
		if (t[p + 1] != '"') {
			c->pos++;
			return 1;
		}
		c->pos += 2;
		return put(c, '"');
	}
	if ((bl = brk(t, p))) {
		if (++*breaks > c->max_breaks)
			return c->max_breaks
				       ? hj_error_set(HJ_EINVALID, "unterminated quote? a quoted field runs over more than %d "
							  "lines", c->max_breaks)
				       : hj_error_set(HJ_EINVALID, "unterminated quoted field: no closing quote on its line "
							  "(this list's fields are one line each)");
		c->line++;
		for (size_t i = 0; i < bl; i++)
			if (put(c, t[p + i]))
				return HJ_EINVALID;
		c->pos += bl;
		if (!c->swallowed && looks_like_record(c, c->pos))
			c->swallowed = c->line;
		return 0;
	}
	if (*breaks && p - qstart > HJ_CSV_MAX_SPAN)
		return hj_error_set(HJ_EINVALID, "unterminated quote? a quoted field spanning lines runs over %d bytes",
				    HJ_CSV_MAX_SPAN);
	c->pos++;
	return put(c, t[p]);
}

/* The field scanner: one record from c->pos into c->buf as NUL-separated
 * fields at c->starts[]; *nf the count, *end where its bytes end. Returns 0
 * or HJ_EINVALID for a malformed record (the caller resynchronises). */
static int scan_fields(hj_csv *c, int *nf_out, size_t *end)
{
	const char *t = c->text;
	int quoted = 0, after_quote = 0, nf = 0, breaks = 0, rc;
	size_t qstart = 0, bl;

	c->len = 0;
	c->starts[nf++] = 0;
	for (;;) {
		*end = c->pos;
		if (c->pos >= c->size) {
			if (quoted)
				return hj_error_set(HJ_EINVALID, "unterminated quoted field: no closing quote before the end "
						    "of the file");
			break;
		}
		char ch = t[c->pos];
		if (quoted) {
			if ((rc = scan_quoted(c, &breaks, qstart)) < 0)
				return rc;
			if (rc == 1) {
				quoted = 0;
				after_quote = 1;
			}
			continue;
		}
		if ((bl = brk(t, c->pos))) {
			c->pos += bl;
			c->line++;
			break;
		}
		if (ch == ',') {
			if (nf == HJ_CSV_MAX_FIELDS)
				return hj_error_set(HJ_EINVALID, "too many fields (over %d)", HJ_CSV_MAX_FIELDS);
			if (put(c, '\0'))
				return HJ_EINVALID;
			c->starts[nf++] = c->len;
			after_quote = 0;
		} else if (ch == '"') {
			if (after_quote || c->len != c->starts[nf - 1])
				return hj_error_set(HJ_EINVALID, "a quote inside an unquoted field");
			quoted = 1;
			qstart = c->pos;
			breaks = 0;
		} else if (after_quote) {
			return hj_error_set(HJ_EINVALID, "text after a closing quote");
		} else if (put(c, ch)) {
			return HJ_EINVALID;
		}
		c->pos++;
	}
	c->buf[c->len] = '\0';
	*nf_out = nf;
	return 0;
}

/* scan_fields, and the rule that a quoted field must not take in a line
 * that reads as a row of its own; that is the likelier cause of whatever
 * else went wrong after it, so it is what the message says. */
static int scan_record(hj_csv *c, int *nf_out, size_t *end)
{
	c->swallowed = 0;
	int rc = scan_fields(c, nf_out, end);
	if (c->swallowed)
		return hj_error_set(HJ_EINVALID, "unterminated quote? a quoted field takes in line %ld, which reads as a "
				    "row of its own", c->swallowed);
	return rc;
}

/* Go on at the line after `start` (line `sline`): what a malformed record
 * took in is read again (csv.h). Its raw bytes are its first line. */
static void resync(hj_csv *c, size_t start, long sline)
{
	size_t p = start;
	while (p < c->size && !brk(c->text, p))
		p++;
	c->raw_start = start;
	c->raw_end = p;
	c->pos = p < c->size ? p + brk(c->text, p) : p;
	c->line = sline + 1;
}

/* Fields are C strings: a NUL would cut one short unseen. */
static int check_fields(hj_csv *c, int nf)
{
	for (int i = 0; i < nf; i++) {
		size_t flen = (i + 1 < nf ? c->starts[i + 1] - 1 : c->len) - c->starts[i], bad = 0;
		c->fields[i] = c->buf + c->starts[i];
		if (memchr(c->fields[i], '\0', flen))
			return hj_error_set(HJ_EINVALID, "a NUL byte in field %d", i + 1);
		if (!hj_utf8_valid(c->fields[i], flen, &bad))
			return hj_error_set(HJ_EINVALID, "field %d is not valid UTF-8 (byte %zu)", i + 1, bad + 1);
	}
	return 0;
}

/* A leading UTF-8 byte-order mark is dropped; a broken one refuses line 1. */
static int csv_skip_bom(hj_csv *c)
{
	c->first = 0;
	if (c->size >= 3 && memcmp(c->text, "\xEF\xBB\xBF", 3) == 0) {
		c->pos = 3;
	} else if (c->size && (unsigned char)c->text[0] == 0xEF && c->enc == HJ_CSV_UTF8 &&
		   !hj_utf8_seq((const unsigned char *)c->text, c->size)) {
		/* EF not starting a character (U+F000..FFFF, e.g. full-width
		 * Ａ, would): a BOM cut short. */
		resync(c, 0, 1);
		return hj_error_set(HJ_EINVALID, "not UTF-8 (a broken byte-order mark)");
	}
	return 0;
}

int hj_csv_next(hj_csv *c, char ***fields, size_t *n, long *line)
{
	int nf = 0, rc;
	size_t end;

	*line = c->line;
	if (c->first && (rc = csv_skip_bom(c)) < 0)
		return rc;
	for (size_t bl; c->pos < c->size && (bl = brk(c->text, c->pos)); c->pos += bl)
		c->line++;
	*line = c->line;
	c->raw_start = c->raw_end = c->pos;
	if (c->pos >= c->size)
		return 0;
	size_t start = c->pos;
	if ((rc = scan_record(c, &nf, &end))) {
		resync(c, start, *line);
		return rc;
	}
	c->raw_start = start;
	c->raw_end = end;
	if ((rc = check_fields(c, nf)))
		return rc;
	if (!c->width)
		c->width = nf;
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
