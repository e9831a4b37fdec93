/*
 * pack.c — a git pack reader that survives damage: object headers, zlib
 * streams and deltas read here, one object at a time, so that an audit
 * keeps every object of a pack except the damaged ones (libgit2's indexer
 * takes a pack whole or not at all). Sound objects are written loose into
 * the destination's object database through libgit2's odb.
 */
#include "pack.h"

#include "error.h"
#include "giterr.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* No object of a huiji repository comes near this; a header claiming
 * more is damage, not a reason to allocate. */
#define OBJ_MAX (256u << 20)

enum { T_OFS_DELTA = 6, T_REF_DELTA = 7 };

/* One object as it sits in the pack, inflated. */
typedef struct raw_obj {
	int type;           /* 1..4, or a delta type */
	uint64_t base_off;  /* T_OFS_DELTA */
	git_oid base_id;    /* T_REF_DELTA */
	uint8_t *data;      /* inflated; owned */
	size_t len;
	uint64_t next;      /* offset of the following object */
} raw_obj;

/* Sound objects by offset (read in increasing offset order). */
typedef struct seen {
	uint64_t off;
	git_oid id;
	git_object_t type;
} seen;

/* A REF_DELTA whose base was not there yet (it may come later). */
typedef struct deferred {
	uint64_t off;
	git_oid base;
	uint8_t *delta;
	size_t len;
} deferred;

typedef struct salvage {
	const uint8_t *p;
	size_t end;           /* where the trailer starts */
	git_odb *odb;
	seen *seen;
	size_t nseen, capseen;
	deferred *later;
	size_t nlater, caplater;
	hj_pack_stats *st;
	hj_pack_cb cb;
	void *ctx;
} salvage;

/* Type and inflated size: 3 type bits and 4 size bits, then 7 bits a byte. */
static int parse_header(const uint8_t *p, size_t avail, size_t *used, int *type, uint64_t *size)
{
	size_t i = 0;
	if (!avail)
		return -1;
	uint8_t c = p[i++];
	*type = (c >> 4) & 7;
	uint64_t sz = c & 15;
	unsigned shift = 4;
	while (c & 0x80) {
		if (i >= avail || shift > 57)
			return -1;
		c = p[i++];
		sz |= (uint64_t)(c & 0x7f) << shift;
		shift += 7;
	}
	*used = i;
	*size = sz;
	return 0;
}

/* Inflate exactly `size` bytes from one zlib stream: anything else (a bad
 * stream, a wrong length, a checksum mismatch) is damage. */
static int inflate_exact(const uint8_t *p, size_t avail, uint64_t size, uint8_t **out, size_t *consumed)
{
	/* A zlib header (deflate, checksum multiple of 31) first: cheap, and
	 * what makes scanning for the next object after damage fast. */
	/* deflate expands at most ~1032:1: a header claiming more than the
	 * bytes left can give is not allocated for. */
	if (avail < 2 || (p[0] & 0x0f) != 8 || (p[0] >> 4) > 7 || ((p[0] << 8) | p[1]) % 31 != 0 || size > OBJ_MAX ||
	    size > (uint64_t)avail * 1032 + 64)
		return -1;
	uint8_t *buf = malloc(size ? size : 1);
	z_stream z;
	memset(&z, 0, sizeof z);
	if (!buf || inflateInit(&z) != Z_OK) {
		free(buf);
		return -1;
	}
	z.next_in = (uint8_t *)p;
	z.avail_in = avail > UINT32_MAX ? UINT32_MAX : (uInt)avail;
	z.next_out = buf;
	z.avail_out = (uInt)size;
	int zr = inflate(&z, Z_FINISH);
	/* A stream that wants to give more than `size` stops at Z_BUF_ERROR. */
	if (zr == Z_BUF_ERROR && z.avail_out == 0 && z.total_out == size) {
		uint8_t extra;
		z.next_out = &extra;
		z.avail_out = 1;
		zr = inflate(&z, Z_FINISH);
	}
	int ok = zr == Z_STREAM_END && z.total_out == size;
	*consumed = z.total_in;
	inflateEnd(&z);
	if (!ok) {
		free(buf);
		return -1;
	}
	*out = buf;
	return 0;
}

/* Parse and inflate the object at `off`; -1 if it is not a sound one. */
static int read_at(raw_obj *o, const salvage *s, uint64_t off)
{
	const uint8_t *p = s->p + off;
	size_t avail = s->end - off, used, consumed;
	uint64_t size;
	memset(o, 0, sizeof *o);
	if (parse_header(p, avail, &used, &o->type, &size) || o->type == 0 || o->type == 5)
		return -1;
	if (o->type == T_OFS_DELTA) {
		/* Big-endian base-128 with an offset of one per extra byte. */
		size_t i = used;
		if (i >= avail)
			return -1;
		uint8_t c = p[i++];
		uint64_t back = c & 0x7f;
		while (c & 0x80) {
			if (i >= avail || back > (UINT64_MAX >> 8))
				return -1;
			c = p[i++];
			back = ((back + 1) << 7) | (c & 0x7f);
		}
		if (back == 0 || back > off - 12)
			return -1;
		o->base_off = off - back;
		used = i;
	} else if (o->type == T_REF_DELTA) {
		if (avail - used < GIT_OID_RAWSZ)
			return -1;
		git_oid_fromraw(&o->base_id, p + used);
		used += GIT_OID_RAWSZ;
	}
	if (inflate_exact(p + used, avail - used, size, &o->data, &consumed))
		return -1;
	o->len = (size_t)size;
	o->next = off + used + consumed;
	return 0;
}

static uint64_t delta_varint(const uint8_t **d, const uint8_t *end, int *bad)
{
	uint64_t v = 0;
	unsigned shift = 0;
	uint8_t c;
	do {
		if (*d >= end || shift > 57) {
			*bad = 1;
			return 0;
		}
		c = *(*d)++;
		v |= (uint64_t)(c & 0x7f) << shift;
		shift += 7;
	} while (c & 0x80);
	return v;
}

/* git's delta: source size, result size, then copy and insert commands. */
static int delta_apply(uint8_t **out, size_t *outlen, const uint8_t *base, size_t blen, const uint8_t *d, size_t dlen)
{
	const uint8_t *end = d + dlen;
	int bad = 0;
	uint64_t srclen = delta_varint(&d, end, &bad), reslen = delta_varint(&d, end, &bad);
	if (bad || srclen != blen || reslen > OBJ_MAX)
		return -1;
	uint8_t *r = malloc(reslen ? reslen : 1);
	size_t at = 0;
	if (!r)
		return -1;
	while (!bad && d < end) {
		uint8_t op = *d++;
		if (op & 0x80) {
			uint64_t cofs = 0, csz = 0;
			for (unsigned i = 0; i < 4; i++)
				if (op & (1u << i)) {
					bad |= d >= end;
					cofs |= bad ? 0 : (uint64_t)*d++ << (8 * i);
				}
			for (unsigned i = 0; i < 3; i++)
				if (op & (0x10u << i)) {
					bad |= d >= end;
					csz |= bad ? 0 : (uint64_t)*d++ << (8 * i);
				}
			if (!csz)
				csz = 0x10000;
			bad |= cofs + csz > blen || csz > reslen - at;
			if (!bad)
				memcpy(r + at, base + cofs, csz);
			at += bad ? 0 : csz;
		} else if (op) {
			bad |= op > (size_t)(end - d) || op > reslen - at;
			if (!bad)
				memcpy(r + at, d, op);
			d += bad ? 0 : op;
			at += bad ? 0 : op;
		} else {
			bad = 1; /* reserved */
		}
	}
	if (bad || at != reslen) {
		free(r);
		return -1;
	}
	*out = r;
	*outlen = at;
	return 0;
}

static const seen *find_seen(const salvage *s, uint64_t off)
{
	size_t lo = 0, hi = s->nseen;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->seen[mid].off == off)
			return &s->seen[mid];
		if (s->seen[mid].off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Write one whole object and remember it; negative only if writing fails. */
static int keep(salvage *s, uint64_t off, const uint8_t *data, size_t len, git_object_t type)
{
	git_oid id;
	int rc = git_odb_write(&id, s->odb, data, len, type);
	if (rc < 0)
		return hj_git_error(rc, "pack salvage: write object");
	if (s->nseen == s->capseen) {
		size_t cap = s->capseen ? 2 * s->capseen : 256;
		seen *p = realloc(s->seen, cap * sizeof *p);
		if (!p)
			return hj_error_set(HJ_ENOMEM, "out of memory");
		s->seen = p;
		s->capseen = cap;
	}
	/* Deferred deltas resolve out of offset order: keep the array sorted. */
	size_t at = s->nseen;
	while (at > 0 && s->seen[at - 1].off > off)
		at--;
	memmove(&s->seen[at + 1], &s->seen[at], (s->nseen - at) * sizeof *s->seen);
	s->seen[at] = (seen){off, id, type};
	s->nseen++;
	s->st->sound++;
	return s->cb ? s->cb(s->ctx, off, &id, type) : 0;
}

/* Resolve a delta against a base in the destination: 1 if the base is not
 * there (or unreadable), 0 when written, negative on a write failure. */
static int resolve(salvage *s, uint64_t off, const git_oid *base_id, const uint8_t *delta, size_t dlen)
{
	git_odb_object *base = NULL;
	uint8_t *res = NULL;
	size_t rlen;
	if (git_odb_read(&base, s->odb, base_id) < 0)
		return 1;
	int rc = 1;
	if (delta_apply(&res, &rlen, git_odb_object_data(base), git_odb_object_size(base), delta, dlen) == 0)
		rc = keep(s, off, res, rlen, git_odb_object_type(base));
	free(res);
	git_odb_object_free(base);
	return rc;
}

static int defer(salvage *s, raw_obj *o, uint64_t off)
{
	if (s->nlater == s->caplater) {
		size_t cap = s->caplater ? 2 * s->caplater : 16;
		deferred *p = realloc(s->later, cap * sizeof *p);
		if (!p)
			return hj_error_set(HJ_ENOMEM, "out of memory");
		s->later = p;
		s->caplater = cap;
	}
	s->later[s->nlater++] = (deferred){off, o->base_id, o->data, o->len};
	o->data = NULL;
	return 0;
}

static void damage(salvage *s, uint64_t off)
{
	if (!s->st->damaged)
		s->st->first_damage = off;
	s->st->damaged++;
}

/* One sound raw object: whole, an offset delta, or a ref delta. */
static int take(salvage *s, raw_obj *o, uint64_t off)
{
	int rc;
	if (o->type <= 4)
		return keep(s, off, o->data, o->len, (git_object_t)o->type);
	if (o->type == T_OFS_DELTA) {
		const seen *b = find_seen(s, o->base_off);
		rc = b ? resolve(s, off, &b->id, o->data, o->len) : 1;
	} else if ((rc = resolve(s, off, &o->base_id, o->data, o->len)) == 1) {
		return defer(s, o, off);
	}
	if (rc == 1)
		damage(s, off);
	return rc < 0 ? rc : 0;
}

/* Ref deltas whose bases came later in the pack, until none resolves. */
static int drain_deferred(salvage *s)
{
	int progress = 1, rc;
	while (progress && s->nlater) {
		progress = 0;
		for (size_t i = 0; i < s->nlater;) {
			deferred *d = &s->later[i];
			if ((rc = resolve(s, d->off, &d->base, d->delta, d->len)) < 0)
				return rc;
			if (rc == 1) {
				i++;
				continue;
			}
			free(d->delta);
			s->later[i] = s->later[--s->nlater];
			progress = 1;
		}
	}
	for (size_t i = 0; i < s->nlater; i++)
		damage(s, s->later[i].off);
	return 0;
}

static int walk(salvage *s)
{
	uint64_t off = 12;
	raw_obj o;
	int rc = 0;
	while (!rc && off < s->end) {
		if (read_at(&o, s, off) == 0) {
			rc = take(s, &o, off);
			free(o.data);
			off = o.next;
			continue;
		}
		/* Where a damaged object ends is unknown: resume at the next
		 * offset where a sound object starts. */
		damage(s, off);
		uint64_t p = off + 1;
		while (p < s->end && read_at(&o, s, p) != 0)
			p++;
		if (p < s->end)
			free(o.data);
		off = p;
	}
	return rc ? rc : drain_deferred(s);
}

int hj_pack_salvage(hj_pack_stats *st, const char *pack_path, const char *dst_objects, hj_pack_cb cb, void *ctx)
{
	salvage s = {.st = st, .cb = cb, .ctx = ctx};
	struct stat sb;
	void *map = MAP_FAILED;
	int rc, fd = open(pack_path, O_RDONLY | O_CLOEXEC);

	memset(st, 0, sizeof *st);
	if (fd < 0 || fstat(fd, &sb) < 0) {
		rc = hj_error_set(HJ_ERROR, "pack salvage: cannot open the pack");
		goto done;
	}
	if (sb.st_size < 12 + 20 ||
	    (map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED) {
		rc = hj_error_set(HJ_ECORRUPT, "pack salvage: too short to be a pack, or unreadable");
		goto done;
	}
	s.p = map;
	s.end = (size_t)sb.st_size - 20;
	uint32_t ver = (uint32_t)s.p[4] << 24 | (uint32_t)s.p[5] << 16 | (uint32_t)s.p[6] << 8 | s.p[7];
	if (memcmp(s.p, "PACK", 4) != 0 || (ver != 2 && ver != 3)) {
		rc = hj_error_set(HJ_ECORRUPT, "pack salvage: not a version 2 or 3 pack");
		goto done;
	}
	st->declared = (size_t)s.p[8] << 24 | (size_t)s.p[9] << 16 | (size_t)s.p[10] << 8 | s.p[11];
	git_libgit2_init();
	if ((rc = git_odb_open(&s.odb, dst_objects)) < 0)
		rc = hj_git_error(rc, "pack salvage: open the destination's objects");
	else
		rc = walk(&s);
	git_odb_free(s.odb);
	git_libgit2_shutdown();
done:
	for (size_t i = 0; i < s.nlater; i++)
		free(s.later[i].delta);
	free(s.later);
	free(s.seen);
	if (map != MAP_FAILED)
		munmap(map, (size_t)sb.st_size);
	if (fd >= 0)
		close(fd);
	return rc;
}
