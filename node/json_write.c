/*
 * json_write.c — the compact and pretty JSON writers.
 *
 * Writing is a pure function of the tree (objects keep insertion order), and
 * everything the writers emit the parser (json.c) accepts back: strings are
 * checked with the same UTF-8 validator (utf8.h), NUL bytes and nesting
 * deeper than HJ_JSON_MAX_DEPTH are refused before anything is signed.
 */
#include "json.h"
#include "error.h"
#include "utf8.h"

#include <inttypes.h>
#include <string.h>

static int write_str(hj_buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t k = 0, run = 0; /* run: start of bytes copied verbatim */
	hj_buf_put_u8(out, '"');
	while (k < n) {
		unsigned char c = p[k];
		if (c >= 0x80) {
			size_t len = hj_utf8_seq(p + k, n - k);
			if (!len)
				return hj_error_set(HJ_EINVALID,
						    "json: string is not valid "
						    "UTF-8 at byte %zu", k);
			k += len;
			continue;
		}
		if (c >= 0x20 && c != '"' && c != '\\') {
			k++;
			continue;
		}
		if (c == 0)
			return hj_error_set(HJ_EINVALID,
					    "json: string holds a NUL byte at "
					    "byte %zu", k);
		hj_buf_put(out, p + run, k - run);
		char esc[7] = {'\\', 0, 0, 0, 0, 0, 0};
		size_t elen = 2;
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\n': esc[1] = 'n'; break;
		case '\t': esc[1] = 't'; break;
		case '\r': esc[1] = 'r'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xF];
			elen = 6;
		}
		hj_buf_put(out, esc, elen);
		k++;
		run = k;
	}
	hj_buf_put(out, p + run, n - run);
	hj_buf_put_u8(out, '"');
	return 0;
}

/* pretty < 0: compact; else the current indentation level. */
static void write_nl(hj_buf *out, int pretty)
{
	hj_buf_put_u8(out, '\n');
	for (int k = 0; k < pretty; k++)
		hj_buf_put(out, "  ", 2);
}

static int write_value(hj_buf *out, const hj_json *v, int depth, int pretty)
{
	int rc = 0;
	if (!v)
		return hj_error_set(HJ_EINVALID, "json: NULL value");
	switch (v->type) {
	case HJ_JNULL:
		hj_buf_put(out, "null", 4);
		break;
	case HJ_JBOOL:
		hj_buf_puts(out, v->i ? "true" : "false");
		break;
	case HJ_JINT:
		hj_buf_printf(out, "%" PRId64, v->i);
		break;
	case HJ_JSTR:
		rc = write_str(out, v->s ? v->s : "", v->s ? v->slen : 0);
		break;
	case HJ_JARR:
	case HJ_JOBJ: {
		int obj = v->type == HJ_JOBJ;
		if (depth >= HJ_JSON_MAX_DEPTH)
			return hj_error_set(HJ_EINVALID,
					    "json: nesting deeper than %d",
					    HJ_JSON_MAX_DEPTH);
		hj_buf_put_u8(out, obj ? '{' : '[');
		for (size_t k = 0; k < v->count; k++) {
			if (k)
				hj_buf_put_u8(out, ',');
			if (pretty >= 0)
				write_nl(out, pretty + 1);
			if (obj) {
				const char *key = v->keys[k];
				rc = write_str(out, key, strlen(key));
				if (rc)
					goto done;
				hj_buf_puts(out, pretty >= 0 ? ": " : ":");
			}
			rc = write_value(out, v->items[k], depth + 1,
					 pretty >= 0 ? pretty + 1 : -1);
			if (rc)
				goto done;
		}
		if (pretty >= 0 && v->count)
			write_nl(out, pretty);
		hj_buf_put_u8(out, obj ? '}' : ']');
		break;
	}
	default:
		return hj_error_set(HJ_EINVALID, "json: bad type %d",
				    (int)v->type);
	}
done:
	return rc;
}

static int write_top(hj_buf *out, const hj_json *v, int pretty)
{
	if (out->rc)
		return hj_error_set(out->rc, "json: out of memory");
	size_t start = out->len;
	int rc = write_value(out, v, 0, pretty);
	if (!rc && out->rc)
		rc = hj_error_set(out->rc, "json: out of memory");
	if (rc && out->len > start) {
		out->len = start;
		out->data[start] = '\0';
	}
	return rc;
}

int hj_json_write(hj_buf *out, const hj_json *v)
{
	return write_top(out, v, -1);
}

int hj_json_write_pretty(hj_buf *out, const hj_json *v, int indent)
{
	return write_top(out, v, indent < 0 ? 0 : indent);
}
