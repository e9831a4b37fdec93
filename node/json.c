/*
 * json.c — strict, deterministic JSON values: build, look up, parse.
 *
 * The tree and its parser; the writers are in json_write.c. The parser
 * bounds recursion at HJ_JSON_MAX_DEPTH, never reads past `len`, checks
 * UTF-8 with the one validator (utf8.h) the writer also uses, and reports
 * every error with its byte offset.
 */
#include "json.h"
#include "error.h"
#include "utf8.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- build */

static hj_json *json_alloc(hj_jtype type)
{
	hj_json *v = calloc(1, sizeof *v);
	if (!v) {
		hj_error_set(HJ_ENOMEM, "json: out of memory");
		return NULL;
	}
	v->type = type;
	return v;
}

/* Take ownership of the malloc'd string `s` of `n` bytes (NUL after). */
static hj_json *json_str_own(char *s, size_t n)
{
	hj_json *v = json_alloc(HJ_JSTR);
	if (!v) {
		free(s);
		return NULL;
	}
	v->s = s;
	v->slen = n;
	return v;
}

hj_json *hj_json_strn(const char *s, size_t n)
{
	if (!s && n) {
		hj_error_set(HJ_EINVALID, "json: NULL string");
		return NULL;
	}
	if (n == SIZE_MAX) {
		hj_error_set(HJ_ENOMEM, "json: out of memory");
		return NULL;
	}
	char *copy = malloc(n + 1);
	if (!copy) {
		hj_error_set(HJ_ENOMEM, "json: out of memory");
		return NULL;
	}
	if (n)
		memcpy(copy, s, n);
	copy[n] = '\0';
	return json_str_own(copy, n);
}

hj_json *hj_json_str(const char *s)
{
	if (!s) {
		hj_error_set(HJ_EINVALID, "json: NULL string");
		return NULL;
	}
	return hj_json_strn(s, strlen(s));
}

hj_json *hj_json_new(hj_jtype type)
{
	switch (type) {
	case HJ_JSTR:
		return hj_json_strn("", 0);
	case HJ_JNULL:
	case HJ_JBOOL:
	case HJ_JINT:
	case HJ_JARR:
	case HJ_JOBJ:
		return json_alloc(type);
	}
	hj_error_set(HJ_EINVALID, "json: bad type %d", (int)type);
	return NULL;
}

hj_json *hj_json_int(int64_t v)
{
	hj_json *j = json_alloc(HJ_JINT);
	if (j)
		j->i = v;
	return j;
}

hj_json *hj_json_bool(int v)
{
	hj_json *j = json_alloc(HJ_JBOOL);
	if (j)
		j->i = v ? 1 : 0;
	return j;
}

hj_json *hj_json_null(void)
{
	return json_alloc(HJ_JNULL);
}

void hj_json_free(hj_json *v)
{
	if (!v)
		return;
	for (size_t k = 0; k < v->count; k++) {
		hj_json_free(v->items[k]);
		if (v->keys)
			free(v->keys[k]);
	}
	free(v->items);
	free(v->keys);
	free(v->s);
	free(v);
}

/* Append (key, child) to container `c`, taking ownership of both (`key` is
 * NULL for arrays). On failure both are freed. */
static int json_push(hj_json *c, char *key, hj_json *child)
{
	int rc = 0;
	if (c->count == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 4;
		if (cap > SIZE_MAX / sizeof(void *)) {
			rc = hj_error_set(HJ_ENOMEM, "json: out of memory");
			goto done;
		}
		hj_json **items = realloc(c->items, cap * sizeof *items);
		if (!items) {
			rc = hj_error_set(HJ_ENOMEM, "json: out of memory");
			goto done;
		}
		c->items = items;
		if (c->type == HJ_JOBJ) {
			char **keys = realloc(c->keys, cap * sizeof *keys);
			if (!keys) {
				rc = hj_error_set(HJ_ENOMEM,
						  "json: out of memory");
				goto done;
			}
			c->keys = keys;
		}
		c->cap = cap;
	}
	c->items[c->count] = child;
	if (c->type == HJ_JOBJ)
		c->keys[c->count] = key;
	c->count++;
	key = NULL;
	child = NULL;
done:
	free(key);
	hj_json_free(child);
	return rc;
}

int hj_json_append(hj_json *arr, hj_json *child)
{
	if (!child)
		return HJ_ENOMEM; /* the constructor recorded the message */
	if (!arr || arr->type != HJ_JARR || arr == child) {
		hj_json_free(child == arr ? NULL : child);
		return hj_error_set(HJ_EINVALID, "json: append to a non-array");
	}
	return json_push(arr, NULL, child);
}

/* Index of `key` in `obj`, or obj->count if absent. */
static size_t json_find(const hj_json *obj, const char *key)
{
	size_t k = 0;
	while (k < obj->count && strcmp(obj->keys[k], key) != 0)
		k++;
	return k;
}

int hj_json_set(hj_json *obj, const char *key, hj_json *child)
{
	int rc = 0;
	if (!child)
		return HJ_ENOMEM; /* the constructor recorded the message */
	if (!obj || obj->type != HJ_JOBJ || obj == child || !key) {
		if (obj == child)
			child = NULL;
		rc = hj_error_set(HJ_EINVALID, "json: set on a non-object");
		goto done;
	}
	size_t at = json_find(obj, key);
	if (at < obj->count) {
		hj_json_free(obj->items[at]);
		obj->items[at] = child;
		child = NULL;
		goto done;
	}
	char *k = strdup(key);
	if (!k) {
		rc = hj_error_set(HJ_ENOMEM, "json: out of memory");
		goto done;
	}
	rc = json_push(obj, k, child);
	child = NULL;
done:
	hj_json_free(child);
	return rc;
}

int hj_json_set_str(hj_json *obj, const char *key, const char *val)
{
	if (!val)
		return 0;
	return hj_json_set(obj, key, hj_json_str(val));
}

int hj_json_set_int(hj_json *obj, const char *key, int64_t val)
{
	return hj_json_set(obj, key, hj_json_int(val));
}

int hj_json_set_bool(hj_json *obj, const char *key, int val)
{
	return hj_json_set(obj, key, hj_json_bool(val));
}

/* --------------------------------------------------------------- lookup */

const hj_json *hj_json_get(const hj_json *obj, const char *key)
{
	if (!obj || obj->type != HJ_JOBJ || !key)
		return NULL;
	size_t at = json_find(obj, key);
	return at < obj->count ? obj->items[at] : NULL;
}

const char *hj_json_get_str(const hj_json *obj, const char *key)
{
	const hj_json *v = hj_json_get(obj, key);
	return v && v->type == HJ_JSTR ? v->s : NULL;
}

int hj_json_get_int(const hj_json *obj, const char *key, int64_t *out)
{
	const hj_json *v = hj_json_get(obj, key);
	if (!v)
		return hj_error_set(HJ_ENOTFOUND, "json: no key \"%s\"",
				    key ? key : "(null)");
	if (v->type != HJ_JINT)
		return hj_error_set(HJ_EINVALID,
				    "json: key \"%s\" is not an integer", key);
	if (out)
		*out = v->i;
	return 0;
}

/* ---------------------------------------------------------------- parse */

/* Append code point `cp` of an escape (already checked: not 0, not a lone
 * surrogate, <= U+10FFFF) as UTF-8. */
static void utf8_put(hj_buf *b, uint32_t cp)
{
	uint8_t u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (uint8_t)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (uint8_t)(0xC0 | cp >> 6);
		u[1] = (uint8_t)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (uint8_t)(0xE0 | cp >> 12);
		u[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
		u[2] = (uint8_t)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		u[0] = (uint8_t)(0xF0 | cp >> 18);
		u[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
		u[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
		u[3] = (uint8_t)(0x80 | (cp & 0x3F));
		n = 4;
	}
	hj_buf_put(b, u, n);
}

typedef struct {
	const unsigned char *p;
	size_t len;
	size_t pos;
} json_parser;

static int perr(size_t at, const char *what)
{
	return hj_error_set(HJ_ECORRUPT, "json: %s at offset %zu", what, at);
}

static int perr_here(const json_parser *ps, const char *what)
{
	if (ps->pos >= ps->len)
		return perr(ps->pos, "unexpected end of input");
	return perr(ps->pos, what);
}

static void skip_ws(json_parser *ps)
{
	while (ps->pos < ps->len) {
		unsigned char c = ps->p[ps->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		ps->pos++;
	}
}

static int hex4(json_parser *ps, uint32_t *out)
{
	uint32_t v = 0;
	if (ps->len - ps->pos < 4) {
		ps->pos = ps->len;
		return perr_here(ps, "");
	}
	for (int k = 0; k < 4; k++) {
		unsigned char c = ps->p[ps->pos];
		uint32_t d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return perr(ps->pos, "bad hex digit in \\u escape");
		v = v << 4 | d;
		ps->pos++;
	}
	*out = v;
	return 0;
}

/* The \u escape whose 'u' was just read (the backslash is at `at`): one
 * code point, or a surrogate pair written as two escapes, appended as UTF-8. */
static int parse_u_escape(json_parser *ps, hj_buf *b, size_t at)
{
	uint32_t cp, lo;
	int rc = hex4(ps, &cp);
	if (rc)
		goto done;
	if (cp == 0) {
		rc = perr(at, "\\u0000 in string");
		goto done;
	}
	if (cp >= 0xDC00 && cp <= 0xDFFF) {
		rc = perr(at, "lone low surrogate");
		goto done;
	}
	if (cp >= 0xD800 && cp <= 0xDBFF) {
		if (ps->len - ps->pos < 2 ||
		    ps->p[ps->pos] != '\\' ||
		    ps->p[ps->pos + 1] != 'u') {
			rc = perr(at, "lone high surrogate");
			goto done;
		}
		ps->pos += 2;
		rc = hex4(ps, &lo);
		if (rc)
			goto done;
		if (lo < 0xDC00 || lo > 0xDFFF) {
			rc = perr(at, "lone high surrogate");
			goto done;
		}
		cp = 0x10000 + ((cp - 0xD800) << 10) +
		     (lo - 0xDC00);
	}
	utf8_put(b, cp);
done:
	return rc;
}

/* The escape decoder: the backslash at ps->pos (offset `at`) and what
 * follows, appended to b decoded. */
static int parse_escape(json_parser *ps, hj_buf *b, size_t at)
{
	int rc = 0;
	ps->pos++;
	if (ps->pos >= ps->len) {
		rc = perr_here(ps, "");
		goto done;
	}
	unsigned char c = ps->p[ps->pos++];
	switch (c) {
	case '"': hj_buf_put_u8(b, '"'); break;
	case '\\': hj_buf_put_u8(b, '\\'); break;
	case '/': hj_buf_put_u8(b, '/'); break;
	case 'b': hj_buf_put_u8(b, '\b'); break;
	case 'f': hj_buf_put_u8(b, '\f'); break;
	case 'n': hj_buf_put_u8(b, '\n'); break;
	case 'r': hj_buf_put_u8(b, '\r'); break;
	case 't': hj_buf_put_u8(b, '\t'); break;
	case 'u':
		rc = parse_u_escape(ps, b, at);
		break;
	default:
		rc = perr(at, "bad escape in string");
		goto done;
	}
done:
	return rc;
}

/* Parse the string whose opening quote is at ps->pos. On success *out is a
 * malloc'd NUL-terminated copy owned by the caller, *outlen its length. */
static int parse_string(json_parser *ps, char **out, size_t *outlen)
{
	hj_buf b = HJ_BUF_INIT;
	int rc = 0;
	ps->pos++; /* '"' */
	for (;;) {
		if (ps->pos >= ps->len) {
			rc = perr_here(ps, "");
			goto done;
		}
		size_t at = ps->pos;
		unsigned char c = ps->p[at];
		if (c == '"') {
			ps->pos++;
			break;
		}
		if (c < 0x20) {
			rc = perr(at, "control character in string");
			goto done;
		}
		if (c >= 0x80) {
			size_t n = hj_utf8_seq(ps->p + at, ps->len - at);
			if (!n) {
				rc = perr(at, "invalid UTF-8 in string");
				goto done;
			}
			hj_buf_put(&b, ps->p + at, n);
			ps->pos += n;
			continue;
		}
		if (c != '\\') {
			/* copy a run of plain ASCII at once */
			size_t end = at + 1;
			while (end < ps->len && ps->p[end] >= 0x20 &&
			       ps->p[end] < 0x80 && ps->p[end] != '"' &&
			       ps->p[end] != '\\')
				end++;
			hj_buf_put(&b, ps->p + at, end - at);
			ps->pos = end;
			continue;
		}
		if ((rc = parse_escape(ps, &b, at)))
			goto done;
	}
	if (b.rc) {
		rc = hj_error_set(HJ_ENOMEM, "json: out of memory");
		goto done;
	}
	if (!b.data) {
		b.data = malloc(1);
		if (!b.data) {
			rc = hj_error_set(HJ_ENOMEM, "json: out of memory");
			goto done;
		}
		b.data[0] = '\0';
	}
	*outlen = b.len;
	*out = (char *)b.data;
	b.data = NULL;
done:
	hj_buf_free(&b);
	return rc;
}

static int parse_number(json_parser *ps, hj_json **out)
{
	size_t start = ps->pos;
	int neg = 0;
	uint64_t mag = 0;
	if (ps->p[ps->pos] == '-') {
		neg = 1;
		ps->pos++;
	}
	if (ps->pos >= ps->len || ps->p[ps->pos] < '0' || ps->p[ps->pos] > '9')
		return perr_here(ps, "expected a digit");
	uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	if (ps->p[ps->pos] == '0') {
		ps->pos++;
		if (ps->pos < ps->len && ps->p[ps->pos] >= '0' &&
		    ps->p[ps->pos] <= '9')
			return perr(start, "leading zero in number");
	} else {
		while (ps->pos < ps->len && ps->p[ps->pos] >= '0' &&
		       ps->p[ps->pos] <= '9') {
			unsigned d = ps->p[ps->pos] - '0';
			if (mag > (limit - d) / 10)
				return perr(start, "integer out of range");
			mag = mag * 10 + d;
			ps->pos++;
		}
	}
	if (ps->pos < ps->len &&
	    (ps->p[ps->pos] == '.' || ps->p[ps->pos] == 'e' ||
	     ps->p[ps->pos] == 'E'))
		return perr(start, "non-integer number");
	int64_t v;
	if (neg)
		v = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
	else
		v = (int64_t)mag;
	*out = hj_json_int(v);
	return *out ? 0 : HJ_ENOMEM;
}

static int parse_value(json_parser *ps, hj_json **out, int depth);

static int parse_literal(json_parser *ps, const char *word, hj_json *v,
			 hj_json **out)
{
	size_t n = strlen(word);
	int rc = 0;
	if (!v) {
		rc = HJ_ENOMEM;
		goto done;
	}
	for (size_t k = 0; k < n; k++) {
		if (ps->pos + k >= ps->len) {
			ps->pos = ps->len;
			rc = perr_here(ps, "");
			goto done;
		}
		if (ps->p[ps->pos + k] != (unsigned char)word[k]) {
			rc = perr(ps->pos, "unexpected character");
			goto done;
		}
	}
	ps->pos += n;
	*out = v;
	v = NULL;
done:
	hj_json_free(v);
	return rc;
}

typedef struct {
	const char *key;
	size_t idx;
} key_ref;

static int key_ref_cmp(const void *a, const void *b)
{
	const key_ref *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Refuse duplicate keys in a parsed object, naming the offset of the first
 * key (in text order) that repeats an earlier one. Sorting (key, index)
 * pairs keeps this O(n log n), so a huge object cannot make it quadratic. */
static int check_dups(const hj_json *obj, const size_t *offs)
{
	int rc = 0;
	key_ref *refs = NULL;
	size_t first = SIZE_MAX;
	if (obj->count < 2)
		goto done;
	refs = malloc(obj->count * sizeof *refs);
	if (!refs) {
		rc = hj_error_set(HJ_ENOMEM, "json: out of memory");
		goto done;
	}
	for (size_t k = 0; k < obj->count; k++) {
		refs[k].key = obj->keys[k];
		refs[k].idx = k;
	}
	qsort(refs, obj->count, sizeof *refs, key_ref_cmp);
	/* in a run of equal keys the second entry is the first repeat */
	for (size_t k = 1; k < obj->count; k++)
		if (!strcmp(refs[k - 1].key, refs[k].key) &&
		    (k < 2 || strcmp(refs[k - 2].key, refs[k].key)) &&
		    refs[k].idx < first)
			first = refs[k].idx;
	if (first != SIZE_MAX)
		rc = perr(offs[first], "duplicate object key");
done:
	free(refs);
	return rc;
}

/* An object member's key and the ':' after it. The key's offset goes in
 * (*offs)[idx], grown as needed, for check_dups. *key and *offs stay the
 * caller's to free, on failure too. */
static int parse_member_key(json_parser *ps, char **key, size_t **offs,
			    size_t *offcap, size_t idx)
{
	size_t klen, at = ps->pos;
	int rc = 0;
	if (ps->pos >= ps->len || ps->p[ps->pos] != '"') {
		rc = perr_here(ps, "expected a string key");
		goto done;
	}
	rc = parse_string(ps, key, &klen);
	if (rc)
		goto done;
	if (idx == *offcap) {
		size_t ncap = *offcap ? *offcap * 2 : 8;
		size_t *n = realloc(*offs, ncap * sizeof *n);
		if (!n) {
			rc = hj_error_set(HJ_ENOMEM, "json: out of memory");
			goto done;
		}
		*offs = n;
		*offcap = ncap;
	}
	(*offs)[idx] = at;
	skip_ws(ps);
	if (ps->pos >= ps->len || ps->p[ps->pos] != ':') {
		rc = perr_here(ps, "expected ':'");
		goto done;
	}
	ps->pos++;
done:
	return rc;
}

static int parse_container(json_parser *ps, hj_json **out, int depth)
{
	int obj = ps->p[ps->pos] == '{';
	size_t open = ps->pos;
	size_t *offs = NULL, offcap = 0;
	char *key = NULL;
	hj_json *c = NULL, *child = NULL;
	int rc = 0;
	if (depth >= HJ_JSON_MAX_DEPTH) {
		rc = perr(open, "nesting too deep");
		goto done;
	}
	c = hj_json_new(obj ? HJ_JOBJ : HJ_JARR);
	if (!c) {
		rc = HJ_ENOMEM;
		goto done;
	}
	ps->pos++;
	skip_ws(ps);
	if (ps->pos < ps->len && ps->p[ps->pos] == (obj ? '}' : ']')) {
		ps->pos++;
		goto ok;
	}
	for (;;) {
		skip_ws(ps);
		if (obj && (rc = parse_member_key(ps, &key, &offs, &offcap,
						   c->count)))
			goto done;
		rc = parse_value(ps, &child, depth + 1);
		if (rc)
			goto done;
		rc = json_push(c, key, child);
		key = NULL;
		child = NULL;
		if (rc)
			goto done;
		skip_ws(ps);
		if (ps->pos >= ps->len) {
			rc = perr_here(ps, "");
			goto done;
		}
		if (ps->p[ps->pos] == ',') {
			ps->pos++;
			continue;
		}
		if (ps->p[ps->pos] == (obj ? '}' : ']')) {
			ps->pos++;
			break;
		}
		rc = perr(ps->pos, obj ? "expected ',' or '}'"
					    : "expected ',' or ']'");
		goto done;
	}
	if (obj) {
		rc = check_dups(c, offs);
		if (rc)
			goto done;
	}
ok:
	*out = c;
	c = NULL;
done:
	free(offs);
	free(key);
	hj_json_free(child);
	hj_json_free(c);
	return rc;
}

static int parse_value(json_parser *ps, hj_json **out, int depth)
{
	skip_ws(ps);
	if (ps->pos >= ps->len)
		return perr_here(ps, "");
	unsigned char c = ps->p[ps->pos];
	switch (c) {
	case '{':
	case '[':
		return parse_container(ps, out, depth);
	case '"': {
		char *s = NULL;
		size_t n = 0;
		int rc = parse_string(ps, &s, &n);
		if (rc)
			return rc;
		*out = json_str_own(s, n);
		return *out ? 0 : HJ_ENOMEM;
	}
	case 't':
		return parse_literal(ps, "true", hj_json_bool(1), out);
	case 'f':
		return parse_literal(ps, "false", hj_json_bool(0), out);
	case 'n':
		return parse_literal(ps, "null", hj_json_null(), out);
	default:
		if (c == '-' || (c >= '0' && c <= '9'))
			return parse_number(ps, out);
		return perr(ps->pos, "unexpected character");
	}
}

int hj_json_parse(hj_json **out, const char *text, size_t len)
{
	json_parser ps = {(const unsigned char *)text, len, 0};
	hj_json *v = NULL;
	int rc = 0;
	if (!out)
		return hj_error_set(HJ_EINVALID, "json: NULL out");
	*out = NULL;
	if (!text && len) {
		rc = hj_error_set(HJ_EINVALID, "json: NULL text");
		goto done;
	}
	if (!text)
		ps.p = (const unsigned char *)"";
	rc = parse_value(&ps, &v, 0);
	if (rc)
		goto done;
	skip_ws(&ps);
	if (ps.pos < ps.len) {
		rc = perr(ps.pos, "trailing data after value");
		goto done;
	}
	*out = v;
	v = NULL;
done:
	hj_json_free(v);
	return rc;
}
