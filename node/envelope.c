/*
 * envelope.c — encode, sign, verify and decode change-set envelopes (v1).
 *
 * The decoder trusts nothing it reads: every length is checked against the
 * bytes actually left before use, and the inflated payload grows in bounded
 * steps that never exceed HJ_PAYLOAD_MAX_BYTES (+2 bytes of slack), so a
 * hostile envelope costs at most that much memory. The encoder verifies its
 * own signature before handing bytes out.
 */
#include "envelope.h"
#include "error.h"

#include <sodium.h>
#include <zlib.h>

#include <stdlib.h>
#include <string.h>

/*
 * Byte format, version 1. All integers little-endian. Offsets for a node id
 * of length N:
 *
 *   off        size  field
 *   0          4     magic "HJCS"
 *   4          1     version (= 1; > 1 is HJ_EVERSION, 0 is corrupt)
 *   5          1     flags: bit0 = payload is a zlib stream (RFC 1950);
 *                    bits 1..7 must be 0
 *   6          1     node id length N (1..64)
 *   7          N     node id, ASCII [a-z0-9._-], first char [a-z0-9]
 *   7+N        8     seq u64 (>= 1)
 *   15+N       32    prev: hash of the previous change set of this feed;
 *                    all zeros when seq == 1 (any value accepted for seq > 1)
 *   47+N       8     created_at i64, ms since the epoch (author's clock)
 *   55+N       8     key id = first 8 bytes of BLAKE2b-256(Ed25519 pk)
 *   63+N       4     payload length L u32 (stored bytes, after deflate)
 *   67+N       L     payload (zlib stream if bit0, else raw); inflated size
 *                    <= HJ_PAYLOAD_MAX_BYTES either way
 *   67+N+L     64    Ed25519 signature (crypto_sign_detached) over bytes
 *                    [0, 67+N+L)
 *
 * Nothing may follow the signature. Whole envelope <= HJ_ENVELOPE_MAX_BYTES.
 * Change-set hash = BLAKE2b-256 (crypto_generichash, no key) of all bytes,
 * signature included.
 */

#define ENV_MAGIC "HJCS"
#define ENV_FLAG_ZLIB 0x01u
#define ENV_SIG_BYTES 64u
#define ENV_ZLIB_LEVEL 6
/* First inflate step; the buffer doubles from here up to the cap, so a small
 * payload costs a small allocation and a bomb costs at most the cap. */
#define ENV_INFLATE_FIRST (64u << 10)

/* One deflate and one inflate stream per thread: deflateInit allocates
 * ~268 KB of state, and paying that per record is 24x slower (NOTES). */
static _Thread_local struct {
	z_stream def, inf;
	int def_ready, inf_ready;
} tls_z;

/* The parsed fixed fields plus pointers into the caller's bytes. */
struct env_view {
	uint8_t version, flags;
	char node[HJ_NODE_ID_MAX + 1];
	uint64_t seq;
	const uint8_t *prev;
	int64_t created_at;
	const uint8_t *key_id;
	const uint8_t *payload;
	uint32_t payload_len;
	const uint8_t *sig;
	size_t signed_len;
};

struct env_reader {
	const uint8_t *p;
	size_t len, off;
};

static int sodium_ready(void)
{
	/* sodium_init is idempotent and thread-safe; -1 means no usable RNG or
	 * CPU feature probe, which signing does not survive either. */
	if (sodium_init() < 0)
		return hj_error_set(HJ_ERROR, "libsodium failed to initialise");
	return 0;
}

void hj_hash32(uint8_t out[32], const void *bytes, size_t len)
{
	/* generichash works before sodium_init (reference implementation);
	 * initialising first only selects a faster one. */
	(void)sodium_ready();
	crypto_generichash(out, 32, bytes, len, NULL, 0);
}

void hj_key_id(uint8_t out[8], const uint8_t pk[32])
{
	uint8_t h[32];
	hj_hash32(h, pk, 32);
	memcpy(out, h, 8);
}

static int node_char_ok(uint8_t c, int first)
{
	if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return 1;
	return !first && (c == '.' || c == '_' || c == '-');
}

/* Index of the first bad byte of a node id, or -1 if every byte is fine.
 * Shared by the user-facing check and the decoder so they cannot drift. */
static long node_bad_index(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!node_char_ok(s[i], i == 0))
			return (long)i;
	return -1;
}

int hj_node_id_check(const char *node)
{
	if (!node)
		return hj_error_set(HJ_EINVALID, "node id: missing");
	size_t n = strnlen(node, HJ_NODE_ID_MAX + 1);
	if (n == 0)
		return hj_error_set(HJ_EINVALID, "node id: empty");
	if (n > HJ_NODE_ID_MAX)
		return hj_error_set(HJ_EINVALID,
				    "node id \"%.20s...\": longer than %d characters",
				    node, HJ_NODE_ID_MAX);
	long bad = node_bad_index((const uint8_t *)node, n);
	if (bad >= 0)
		return hj_error_set(HJ_EINVALID,
				    "node id \"%s\": character %ld (0x%02x) not allowed: "
				    "use [a-z0-9._-], starting with a letter or digit",
				    node, bad + 1, (unsigned)(uint8_t)node[bad]);
	return 0;
}

static int is_zero32(const uint8_t *p)
{
	uint8_t acc = 0;
	for (int i = 0; i < 32; i++)
		acc |= p[i];
	return acc == 0;
}

/* ---- decoding ------------------------------------------------------------ */

static int rd_need(struct env_reader *r, size_t n, const char *what)
{
	size_t left = r->len - r->off;
	if (left < n)
		return hj_error_set(HJ_ECORRUPT,
				    "envelope: truncated at byte %zu (%s needs %zu "
				    "bytes, %zu left)",
				    r->off, what, n, left);
	return 0;
}

static const uint8_t *rd_take(struct env_reader *r, size_t n)
{
	const uint8_t *p = r->p + r->off;
	r->off += n;
	return p;
}

/* The header: magic, version, flags and the node id. */
static int env_parse_header(struct env_view *v, struct env_reader *r)
{
	int rc = 0;

	if ((rc = rd_need(r, 4, "magic")))
		goto done;
	if (memcmp(rd_take(r, 4), ENV_MAGIC, 4) != 0) {
		rc = hj_error_set(HJ_ECORRUPT, "envelope: bad magic");
		goto done;
	}
	/* Version before flags: a newer version may define more flags, and
	 * "upgrade huiji" is the useful answer then. */
	if ((rc = rd_need(r, 1, "version")))
		goto done;
	v->version = *rd_take(r, 1);
	if (v->version > HJ_ENVELOPE_VERSION) {
		rc = hj_error_set(HJ_EVERSION,
				  "envelope version %u is newer than this huiji "
				  "(%d): upgrade huiji",
				  v->version, HJ_ENVELOPE_VERSION);
		goto done;
	}
	if (v->version == 0) {
		rc = hj_error_set(HJ_ECORRUPT, "envelope: version 0 is not valid");
		goto done;
	}
	if ((rc = rd_need(r, 1, "flags")))
		goto done;
	v->flags = *rd_take(r, 1);
	if (v->flags & ~ENV_FLAG_ZLIB) {
		rc = hj_error_set(HJ_ECORRUPT,
				  "envelope: unknown flag bits 0x%02x at byte 5",
				  v->flags & ~ENV_FLAG_ZLIB);
		goto done;
	}

	if ((rc = rd_need(r, 1, "node id length")))
		goto done;
	size_t nlen = *rd_take(r, 1);
	if (nlen == 0 || nlen > HJ_NODE_ID_MAX) {
		rc = hj_error_set(HJ_ECORRUPT,
				  "envelope: node id length %zu at byte 6 is not "
				  "in 1..%d",
				  nlen, HJ_NODE_ID_MAX);
		goto done;
	}
	if ((rc = rd_need(r, nlen, "node id")))
		goto done;
	size_t node_off = r->off;
	const uint8_t *node = rd_take(r, nlen);
	long bad = node_bad_index(node, nlen);
	if (bad >= 0) {
		/* Print the offending byte, not the id: it is hostile text. */
		rc = hj_error_set(HJ_ECORRUPT,
				  "envelope: node id byte 0x%02x at byte %zu not "
				  "allowed",
				  node[bad], node_off + (size_t)bad);
		goto done;
	}
	memcpy(v->node, node, nlen);
	v->node[nlen] = '\0';
done:
	return rc;
}

/* The body: seq, prev hash, created_at, key id and the payload (bounded
 * here when stored raw; env_inflate bounds a zlib one). */
static int env_parse_body(struct env_view *v, struct env_reader *r)
{
	int rc = 0;

	if ((rc = rd_need(r, 8, "seq")))
		goto done;
	size_t seq_off = r->off;
	v->seq = hj_get_u64le(rd_take(r, 8));
	if (v->seq == 0) {
		rc = hj_error_set(HJ_ECORRUPT, "envelope: seq 0 at byte %zu "
				  "(feeds start at 1)", seq_off);
		goto done;
	}
	if ((rc = rd_need(r, 32, "prev hash")))
		goto done;
	v->prev = rd_take(r, 32);
	if (v->seq == 1 && !is_zero32(v->prev)) {
		rc = hj_error_set(HJ_ECORRUPT,
				  "envelope: seq 1 has a non-zero prev hash");
		goto done;
	}
	if ((rc = rd_need(r, 8, "created_at")))
		goto done;
	uint64_t ts = hj_get_u64le(rd_take(r, 8));
	/* Two's complement without implementation-defined conversion. */
	v->created_at = ts <= INT64_MAX ? (int64_t)ts
					: -(int64_t)(~ts) - 1;
	if ((rc = rd_need(r, 8, "key id")))
		goto done;
	v->key_id = rd_take(r, 8);

	if ((rc = rd_need(r, 4, "payload length")))
		goto done;
	v->payload_len = hj_get_u32le(rd_take(r, 4));
	size_t left = r->len - r->off;
	if (v->payload_len > left) {
		rc = hj_error_set(HJ_ECORRUPT,
				  "envelope: truncated at byte %zu (payload length "
				  "%u, %zu bytes left)",
				  r->off, v->payload_len, left);
		goto done;
	}
	if (!(v->flags & ENV_FLAG_ZLIB) && v->payload_len > HJ_PAYLOAD_MAX_BYTES) {
		rc = hj_error_set(HJ_ECORRUPT,
				  "envelope: payload of %u bytes exceeds %u bytes",
				  v->payload_len, HJ_PAYLOAD_MAX_BYTES);
		goto done;
	}
	v->payload = rd_take(r, v->payload_len);
done:
	return rc;
}

/* The trailer: the signature, and nothing after it. */
static int env_parse_trailer(struct env_view *v, struct env_reader *r)
{
	int rc = 0;

	if ((rc = rd_need(r, ENV_SIG_BYTES, "signature")))
		goto done;
	v->signed_len = r->off;
	v->sig = rd_take(r, ENV_SIG_BYTES);
	if (r->off != r->len) {
		rc = hj_error_set(HJ_ECORRUPT,
				  "envelope: %zu trailing bytes after the signature "
				  "at byte %zu",
				  r->len - r->off, r->off);
		goto done;
	}
done:
	return rc;
}

/* Parse the structure (no inflate, no signature check) into *v, pointing
 * into `bytes`. Checks everything that can be checked without crypto or
 * zlib, in wire order, so the first problem is the one reported. */
static int env_parse(struct env_view *v, const uint8_t *bytes, size_t len)
{
	struct env_reader r = {bytes, len, 0};
	int rc = 0;

	memset(v, 0, sizeof *v);
	if (len > HJ_ENVELOPE_MAX_BYTES)
		return hj_error_set(HJ_ETOOBIG,
				    "envelope: %zu bytes exceeds the limit of %u bytes",
				    len, HJ_ENVELOPE_MAX_BYTES);
	if (!bytes && len)
		return hj_error_set(HJ_ECORRUPT, "envelope: no bytes");

	if ((rc = env_parse_header(v, &r)))
		goto done;
	if ((rc = env_parse_body(v, &r)))
		goto done;
	if ((rc = env_parse_trailer(v, &r)))
		goto done;
done:
	return rc;
}

/* Ready this thread's inflate stream (made once, reset after) to read `in`. */
static int env_inflate_begin(z_stream *zs, const uint8_t *in, uint32_t in_len)
{
	int rc = 0;

	if (!tls_z.inf_ready) {
		memset(zs, 0, sizeof *zs);
		if (inflateInit(zs) != Z_OK) {
			rc = hj_error_set(HJ_ENOMEM, "envelope: inflateInit failed");
			goto done;
		}
		tls_z.inf_ready = 1;
	} else if (inflateReset(zs) != Z_OK) {
		rc = hj_error_set(HJ_ERROR, "envelope: inflateReset failed");
		goto done;
	}
	zs->next_in = (Bytef *)in; /* zlib's API is not const-correct */
	zs->avail_in = in_len;
done:
	return rc;
}

/* Double the output buffer (the first step is ENV_INFLATE_FIRST), never past
 * `limit` data bytes plus the NUL; reaching the limit proves the bomb. On
 * failure *buf is unchanged and still the caller's to free. */
static int env_inflate_grow(uint8_t **buf, size_t *cap, size_t limit)
{
	int rc = 0;

	if (*cap == limit) {
		rc = hj_error_set(HJ_ECORRUPT,
				  "envelope: inflated payload exceeds %u bytes",
				  HJ_PAYLOAD_MAX_BYTES);
		goto done;
	}
	size_t ncap = *cap ? *cap * 2 : ENV_INFLATE_FIRST;
	if (ncap > limit)
		ncap = limit;
	uint8_t *p = realloc(*buf, ncap + 1);
	if (!p) {
		rc = hj_error_set(HJ_ENOMEM,
				  "envelope: out of memory inflating "
				  "%zu bytes", ncap);
		goto done;
	}
	*buf = p;
	*cap = ncap;
done:
	return rc;
}

/* Inflate a zlib stream into a fresh malloc'd buffer (NUL-terminated),
 * never holding more than HJ_PAYLOAD_MAX_BYTES + 2 bytes: output space is
 * capped at cap+1 so one byte past the cap proves the bomb without
 * inflating the rest. */
static int env_inflate(uint8_t **out, size_t *out_len, const uint8_t *in,
		       uint32_t in_len)
{
	const size_t limit = (size_t)HJ_PAYLOAD_MAX_BYTES + 1; /* data bytes */
	z_stream *zs = &tls_z.inf;
	uint8_t *buf = NULL;
	size_t cap = 0, len = 0; /* cap counts data bytes; +1 for the NUL */
	int rc = 0, zrc;

	*out = NULL;
	*out_len = 0;
	if ((rc = env_inflate_begin(zs, in, in_len)))
		goto done;

	for (;;) {
		if (len == cap && (rc = env_inflate_grow(&buf, &cap, limit)))
			goto done;
		zs->next_out = buf + len;
		zs->avail_out = (uInt)(cap - len);
		zrc = inflate(zs, Z_NO_FLUSH);
		len = cap - zs->avail_out;
		if (zrc == Z_STREAM_END)
			break;
		if (zrc == Z_OK)
			continue;
		if (zrc == Z_BUF_ERROR && zs->avail_out == 0)
			continue; /* only needs more room */
		if (zrc == Z_BUF_ERROR) {
			rc = hj_error_set(HJ_ECORRUPT,
					  "envelope: zlib stream truncated");
			goto done;
		}
		if (zrc == Z_MEM_ERROR) {
			rc = hj_error_set(HJ_ENOMEM, "envelope: zlib out of memory");
			goto done;
		}
		rc = hj_error_set(HJ_ECORRUPT, "envelope: zlib stream corrupt%s%s",
				  zs->msg ? ": " : "", zs->msg ? zs->msg : "");
		goto done;
	}
	if (len > HJ_PAYLOAD_MAX_BYTES) {
		rc = hj_error_set(HJ_ECORRUPT,
				  "envelope: inflated payload exceeds %u bytes",
				  HJ_PAYLOAD_MAX_BYTES);
		goto done;
	}
	if (zs->avail_in != 0) {
		/* Signed bytes the reader would silently ignore: refuse. */
		rc = hj_error_set(HJ_ECORRUPT,
				  "envelope: %u bytes after the end of the zlib stream",
				  zs->avail_in);
		goto done;
	}
	if (!buf) { /* unreachable (first pass allocates), keeps analysers calm */
		rc = hj_error_set(HJ_ERROR, "envelope: inflate produced no buffer");
		goto done;
	}
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	buf = NULL;
done:
	free(buf);
	return rc;
}

int hj_envelope_created_at(int64_t *out, const uint8_t *bytes, size_t len)
{
	struct env_view v;
	int rc = env_parse(&v, bytes, len);
	*out = rc ? 0 : v.created_at;
	return rc;
}

int hj_envelope_decode(hj_envelope *out, const uint8_t *bytes, size_t len)
{
	struct env_view v;
	int rc;

	memset(out, 0, sizeof *out);
	if ((rc = env_parse(&v, bytes, len)))
		goto done;

	if (v.flags & ENV_FLAG_ZLIB) {
		if ((rc = env_inflate(&out->payload, &out->payload_len, v.payload,
				      v.payload_len)))
			goto done;
	} else {
		out->payload = malloc((size_t)v.payload_len + 1);
		if (!out->payload) {
			rc = hj_error_set(HJ_ENOMEM,
					  "envelope: out of memory for %u-byte payload",
					  v.payload_len);
			goto done;
		}
		if (v.payload_len)
			memcpy(out->payload, v.payload, v.payload_len);
		out->payload[v.payload_len] = '\0';
		out->payload_len = v.payload_len;
	}
	out->version = v.version;
	out->flags = v.flags;
	memcpy(out->node, v.node, sizeof out->node);
	out->seq = v.seq;
	memcpy(out->prev, v.prev, 32);
	out->created_at = v.created_at;
	memcpy(out->key_id, v.key_id, 8);
	memcpy(out->sig, v.sig, ENV_SIG_BYTES);
	hj_hash32(out->hash, bytes, len);
done:
	if (rc)
		hj_envelope_free(out);
	return rc;
}

int hj_envelope_verify(const uint8_t *bytes, size_t len, const uint8_t pk[32])
{
	struct env_view v;
	uint8_t want[8];
	char got_hex[17], want_hex[17];
	int rc;

	if ((rc = sodium_ready()))
		goto done;
	if ((rc = env_parse(&v, bytes, len)))
		goto done;
	hj_key_id(want, pk);
	if (memcmp(want, v.key_id, 8) != 0) {
		hj_hex_encode(got_hex, v.key_id, 8);
		hj_hex_encode(want_hex, want, 8);
		rc = hj_error_set(HJ_EBADSIG,
				  "envelope: signed by key id %s, expected %s",
				  got_hex, want_hex);
		goto done;
	}
	if (crypto_sign_verify_detached(v.sig, bytes, v.signed_len, pk) != 0) {
		rc = hj_error_set(HJ_EBADSIG,
				  "envelope: signature of %s seq %llu does not verify",
				  v.node, (unsigned long long)v.seq);
		goto done;
	}
done:
	return rc;
}

void hj_envelope_free(hj_envelope *e)
{
	if (!e)
		return;
	free(e->payload);
	memset(e, 0, sizeof *e);
}

void hj_envelope_thread_cleanup(void)
{
	if (tls_z.def_ready)
		deflateEnd(&tls_z.def);
	if (tls_z.inf_ready)
		inflateEnd(&tls_z.inf);
	memset(&tls_z, 0, sizeof tls_z);
}

/* ---- encoding ------------------------------------------------------------ */

/* Deflate `in` into dst (room for dst_room bytes). Returns 0 and *dst_len,
 * or 1 if the result would not be smaller than dst_room (store raw), or a
 * negative code. */
static int env_deflate(uint8_t *dst, size_t dst_room, size_t *dst_len,
		       const void *in, size_t in_len)
{
	z_stream *zs = &tls_z.def;
	int zrc;

	if (!tls_z.def_ready) {
		memset(zs, 0, sizeof *zs);
		if (deflateInit(zs, ENV_ZLIB_LEVEL) != Z_OK)
			return hj_error_set(HJ_ENOMEM, "envelope: deflateInit failed");
		tls_z.def_ready = 1;
	} else if (deflateReset(zs) != Z_OK) {
		return hj_error_set(HJ_ERROR, "envelope: deflateReset failed");
	}
	zs->next_in = (Bytef *)in;
	zs->avail_in = (uInt)in_len;
	zs->next_out = dst;
	zs->avail_out = (uInt)dst_room;
	zrc = deflate(zs, Z_FINISH);
	if (zrc == Z_STREAM_END) {
		*dst_len = dst_room - zs->avail_out;
		return 0;
	}
	if (zrc == Z_OK || zrc == Z_BUF_ERROR)
		return 1; /* ran out of room: deflate did not shrink it */
	return hj_error_set(HJ_ERROR, "envelope: deflate failed (%d)", zrc);
}

/* The caller's arguments, checked before a byte is written. */
static int env_encode_check(const char *node, uint64_t seq,
			    const uint8_t prev[32], const void *payload,
			    size_t payload_len)
{
	int rc = 0;

	if ((rc = hj_node_id_check(node)))
		goto done;
	if (seq == 0) {
		rc = hj_error_set(HJ_EINVALID, "envelope: seq must be >= 1");
		goto done;
	}
	if (seq == 1 && !is_zero32(prev)) {
		rc = hj_error_set(HJ_EINVALID,
				  "envelope: seq 1 must have an all-zero prev hash");
		goto done;
	}
	if (payload_len > HJ_PAYLOAD_MAX_BYTES) {
		rc = hj_error_set(HJ_ETOOBIG,
				  "envelope: payload of %zu bytes exceeds %u bytes",
				  payload_len, HJ_PAYLOAD_MAX_BYTES);
		goto done;
	}
	if (!payload && payload_len) {
		rc = hj_error_set(HJ_EINVALID, "envelope: payload is NULL");
		goto done;
	}
done:
	return rc;
}

/* The payload at out->len (room for it and the signature reserved by the
 * caller), deflated when that beats raw by a byte; sets the zlib flag at
 * flags_off and the stored length at plen_off. */
static int env_put_payload(hj_buf *out, size_t flags_off, size_t plen_off,
			   const void *payload, size_t payload_len)
{
	size_t stored = 0;
	int rc;

	rc = payload_len > 1
		     ? env_deflate(out->data + out->len, payload_len - 1, &stored,
				   payload, payload_len)
		     : 1;
	if (rc < 0)
		goto done;
	if (rc == 0) {
		out->data[flags_off] = ENV_FLAG_ZLIB;
	} else {
		rc = 0;
		stored = payload_len;
		if (payload_len)
			memcpy(out->data + out->len, payload, payload_len);
	}
	out->len += stored;
	out->data[out->len] = '\0';
	out->data[plen_off] = (uint8_t)stored;
	out->data[plen_off + 1] = (uint8_t)(stored >> 8);
	out->data[plen_off + 2] = (uint8_t)(stored >> 16);
	out->data[plen_off + 3] = (uint8_t)(stored >> 24);
done:
	return rc;
}

/* Sign bytes [start, out->len) and append the signature (room reserved by
 * the caller), after checking it verifies. */
static int env_sign_append(hj_buf *out, size_t start, const uint8_t pk[32],
			   const uint8_t sk[64])
{
	uint8_t sig[ENV_SIG_BYTES];
	int rc = 0;

	const uint8_t *msg = out->data + start;
	size_t msg_len = out->len - start;
	if (crypto_sign_detached(sig, NULL, msg, msg_len, sk) != 0) {
		rc = hj_error_set(HJ_ERROR, "envelope: signing failed");
		goto done;
	}
	/* minisign habit: a pk/sk mismatch or a fault must not leave here as a
	 * change set nobody can verify. */
	if (crypto_sign_verify_detached(sig, msg, msg_len, pk) != 0) {
		rc = hj_error_set(HJ_EBADSIG,
				  "envelope: fresh signature does not verify: the "
				  "public key does not match the secret key");
		goto done;
	}
	hj_buf_put(out, sig, sizeof sig); /* room reserved above: cannot fail */
done:
	return rc;
}

int hj_envelope_encode(hj_buf *out, const char *node, uint64_t seq,
		       const uint8_t prev[32], int64_t created_at,
		       const void *payload, size_t payload_len,
		       const uint8_t pk[32], const uint8_t sk[64])
{
	static const uint8_t zero32[32];
	size_t start = out->len, flags_off, plen_off;
	uint8_t key_id[8];
	int rc = 0;

	if (out->rc)
		return hj_error_set(out->rc, "envelope: output buffer already failed");
	if ((rc = sodium_ready()))
		goto done;
	if (!prev)
		prev = zero32;
	if ((rc = env_encode_check(node, seq, prev, payload, payload_len)))
		goto done;

	size_t nlen = strlen(node);
	hj_key_id(key_id, pk);
	hj_buf_put(out, ENV_MAGIC, 4);
	hj_buf_put_u8(out, HJ_ENVELOPE_VERSION);
	flags_off = out->len;
	hj_buf_put_u8(out, 0);
	hj_buf_put_u8(out, (uint8_t)nlen);
	hj_buf_put(out, node, nlen);
	hj_buf_put_u64le(out, seq);
	hj_buf_put(out, prev, 32);
	hj_buf_put_u64le(out, (uint64_t)created_at);
	hj_buf_put(out, key_id, 8);
	plen_off = out->len;
	hj_buf_put_u32le(out, 0);
	/* Room for the raw payload and the signature: deflate writes straight
	 * into the buffer and is only kept if it beats raw by a byte. */
	if (hj_buf_grow(out, payload_len + ENV_SIG_BYTES)) {
		rc = hj_error_set(HJ_ENOMEM, "envelope: out of memory");
		goto done;
	}
	if ((rc = env_put_payload(out, flags_off, plen_off, payload, payload_len)))
		goto done;
	if ((rc = env_sign_append(out, start, pk, sk)))
		goto done;
done:
	/* On failure leave `out` as the caller gave it (the sticky rc aside). */
	if (rc && out->len > start) {
		out->len = start;
		out->data[start] = '\0';
	}
	return rc;
}
