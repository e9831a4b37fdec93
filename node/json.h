/*
 * json.h — a small, strict, deterministic JSON value tree.
 *
 * Objects keep insertion order (parsed objects keep the order of the text),
 * so the same tree always writes the same bytes; the compact writer is what
 * goes into signed change sets. The parser is strict RFC 8259 restricted to
 * int64 integers, valid UTF-8, unique keys and nesting depth <= 32, and
 * never reads past the length it is given.
 */
#ifndef HJ_JSON_H
#define HJ_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Maximum nesting of arrays/objects accepted by the parser and writers. */
#define HJ_JSON_MAX_DEPTH 32

typedef enum {
	HJ_JNULL,
	HJ_JBOOL,
	HJ_JINT,
	HJ_JSTR,
	HJ_JARR,
	HJ_JOBJ
} hj_jtype;

typedef struct hj_json hj_json;

struct hj_json {
	hj_jtype type;
	int64_t i;      /* HJ_JBOOL (0/1) and HJ_JINT */
	char *s;        /* HJ_JSTR: never NULL, NUL-terminated after slen */
	size_t slen;    /* HJ_JSTR: length in bytes, excluding the NUL */
	hj_json **items; /* HJ_JARR / HJ_JOBJ: children, owned */
	char **keys;    /* HJ_JOBJ only: keys[k] names items[k], owned */
	size_t count;   /* HJ_JARR / HJ_JOBJ: number of children */
	size_t cap;     /* allocated slots in items (and keys) */
};

/*
 * Constructors. Each returns a new node owned by the caller (free it with
 * hj_json_free, or hand it to hj_json_append / hj_json_set), or NULL with
 * HJ_ENOMEM recorded if allocation failed (HJ_EINVALID for a bad type or a
 * NULL string). Strings are copied.
 */
hj_json *hj_json_new(hj_jtype type); /* empty/zero value of that type */
hj_json *hj_json_str(const char *s);
hj_json *hj_json_strn(const char *s, size_t n); /* n bytes, may hold any */
hj_json *hj_json_int(int64_t v);
hj_json *hj_json_bool(int v);                   /* stored as 0 or 1 */
hj_json *hj_json_null(void);

/* Free a node and everything under it. Accepts NULL. */
void hj_json_free(hj_json *v);

/*
 * Append `child` to array `arr`. Always takes ownership of `child`: on
 * failure it is freed. A NULL child (a constructor that failed) returns
 * HJ_ENOMEM, so `hj_json_append(a, hj_json_int(1))` needs one check.
 * Returns 0, HJ_EINVALID (arr is not an array) or HJ_ENOMEM.
 */
int hj_json_append(hj_json *arr, hj_json *child);

/*
 * Set `key` in object `obj` to `child` (the key is copied). An existing key
 * is replaced in place, keeping its position; a new key is appended, so
 * objects keep insertion order. Ownership of `child` as for hj_json_append.
 * Returns 0, HJ_EINVALID (obj not an object, key NULL) or HJ_ENOMEM.
 */
int hj_json_set(hj_json *obj, const char *key, hj_json *child);
/* Convenience setters. hj_json_set_str with val == NULL does nothing and
 * returns 0 (an absent optional field). */
int hj_json_set_str(hj_json *obj, const char *key, const char *val);
int hj_json_set_int(hj_json *obj, const char *key, int64_t val);
int hj_json_set_bool(hj_json *obj, const char *key, int val);

/* The value of `key`, borrowed from `obj`; NULL if absent or obj is not an
 * object. */
const hj_json *hj_json_get(const hj_json *obj, const char *key);
/* The string value of `key`, borrowed; NULL if absent or not a string. */
const char *hj_json_get_str(const hj_json *obj, const char *key);
/* Store the integer value of `key` in *out. Returns 0, HJ_ENOTFOUND (absent
 * or obj not an object) or HJ_EINVALID (present but not an integer). */
int hj_json_get_int(const hj_json *obj, const char *key, int64_t *out);

/*
 * Append the compact encoding of `v` to `out`: no whitespace, keys in
 * insertion order, integers in decimal, strings escaped minimally (" \ and
 * bytes < 0x20; bytes >= 0x80 are copied as they are). The same tree always
 * gives the same bytes, and hj_json_parse accepts them back: so a string or
 * key that is not valid UTF-8 or holds a NUL byte, or nesting deeper than
 * HJ_JSON_MAX_DEPTH, is refused with HJ_EINVALID. Returns 0, HJ_EINVALID or
 * HJ_ENOMEM; on failure `out` is restored to its previous length.
 */
int hj_json_write(hj_buf *out, const hj_json *v);

/*
 * Append a human-readable encoding of `v` to `out`: one member per line,
 * two spaces per level, `"key": value`, empty containers as {} and [].
 * `indent` is the starting level (0 at top level), for embedding in a larger
 * display; the first line is not indented and no newline is added at the
 * end. Escaping, checks and return values as for hj_json_write.
 */
int hj_json_write_pretty(hj_buf *out, const hj_json *v, int indent);

/*
 * Parse exactly `len` bytes of `text` (need not be NUL-terminated) as one
 * JSON value, optionally surrounded by whitespace. On success *out is a new
 * tree owned by the caller (free with hj_json_free) and 0 is returned. On
 * failure *out is NULL and HJ_ECORRUPT is returned with a message naming the
 * byte offset ("json: ... at offset N"), or HJ_ENOMEM / HJ_EINVALID.
 * Beyond RFC 8259 it refuses: non-integer numbers and integers outside
 * int64, nesting deeper than HJ_JSON_MAX_DEPTH, duplicate object keys,
 * invalid UTF-8 (overlong, surrogates, > U+10FFFF), lone \u surrogates,
 * \u0000, and anything after the value. "-0" parses as 0.
 */
int hj_json_parse(hj_json **out, const char *text, size_t len);

#endif
