/*
 * test_envelope.c — cmocka tests for the change-set envelope (sync/envelope.c).
 *
 * Covers the round trip, the chain rules, raw storage of incompressible
 * payloads, every single-byte corruption and every truncation, lying lengths,
 * bad magic, newer versions, a properly signed zip bomb (refused with bounded
 * memory) and node id rules. The test builds some envelopes by hand from the
 * documented layout, which also cross-checks the encoder against the spec.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>
#include <zlib.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "buf.h"
#include "envelope.h"
#include "error.h"

static uint8_t pk[32], sk[64], pk2[32], sk2[64];

static int setup_keys(void **state)
{
	uint8_t seed[32];
	(void)state;
	assert_true(sodium_init() >= 0);
	memset(seed, 0x11, sizeof seed);
	crypto_sign_seed_keypair(pk, sk, seed);
	memset(seed, 0x22, sizeof seed);
	crypto_sign_seed_keypair(pk2, sk2, seed);
	return 0;
}

static int teardown_all(void **state)
{
	(void)state;
	hj_envelope_thread_cleanup();
	return 0;
}

static const char *sample_json =
	"{\"ops\":[{\"op\":\"member.add\",\"id\":\"m-0001\",\"name\":\"Wang Fang\","
	"\"union\":\"u-042\"},{\"op\":\"member.add\",\"id\":\"m-0002\",\"name\":"
	"\"Li Wei\",\"union\":\"u-042\"},{\"op\":\"member.add\",\"id\":\"m-0003\","
	"\"name\":\"Zhang Min\",\"union\":\"u-042\"}]}";

/* A valid compressed envelope of sample_json, seq 1. */
static void make_sample(hj_buf *b)
{
	assert_int_equal(hj_envelope_encode(b, "county-07", 1, NULL, 1700000000123,
					    sample_json, strlen(sample_json), pk, sk),
			 0);
}

/* Build an envelope by hand from the documented layout, signing with sk_
 * (unless sign == 0, then the signature is zeros). */
static void build_raw(hj_buf *b, uint8_t version, uint8_t flags,
		      const char *node, uint64_t seq, const uint8_t prev[32],
		      int64_t created, const uint8_t kid_pk[32],
		      const void *payload, uint32_t plen, const uint8_t *sk_)
{
	uint8_t kid[8], sig[64] = {0}, zero[32] = {0};
	size_t start = b->len;
	hj_key_id(kid, kid_pk);
	hj_buf_put(b, "HJCS", 4);
	hj_buf_put_u8(b, version);
	hj_buf_put_u8(b, flags);
	hj_buf_put_u8(b, (uint8_t)strlen(node));
	hj_buf_puts(b, node);
	hj_buf_put_u64le(b, seq);
	hj_buf_put(b, prev ? prev : zero, 32);
	hj_buf_put_u64le(b, (uint64_t)created);
	hj_buf_put(b, kid, 8);
	hj_buf_put_u32le(b, plen);
	hj_buf_put(b, payload, plen);
	assert_int_equal(b->rc, 0);
	if (sk_)
		crypto_sign_detached(sig, NULL, b->data + start, b->len - start, sk_);
	hj_buf_put(b, sig, 64);
	assert_int_equal(b->rc, 0);
}

static void test_round_trip(void **state)
{
	hj_buf b = HJ_BUF_INIT;
	hj_envelope e;
	uint8_t prev[32], kid[8], h[32];
	(void)state;

	for (int i = 0; i < 32; i++)
		prev[i] = (uint8_t)(i * 7 + 1);
	assert_int_equal(hj_envelope_encode(&b, "county-07.hub_a", 42, prev,
					    -5, sample_json, strlen(sample_json),
					    pk, sk),
			 0);
	assert_int_equal(hj_envelope_verify(b.data, b.len, pk), 0);
	assert_int_equal(hj_envelope_decode(&e, b.data, b.len), 0);
	assert_int_equal(e.version, 1);
	assert_int_equal(e.flags, 1); /* JSON shrinks: deflated */
	assert_string_equal(e.node, "county-07.hub_a");
	assert_int_equal(e.seq, 42);
	assert_memory_equal(e.prev, prev, 32);
	assert_true(e.created_at == -5);
	hj_key_id(kid, pk);
	assert_memory_equal(e.key_id, kid, 8);
	assert_int_equal(e.payload_len, strlen(sample_json));
	assert_memory_equal(e.payload, sample_json, e.payload_len);
	assert_int_equal(e.payload[e.payload_len], 0);
	assert_memory_equal(e.sig, b.data + b.len - 64, 64);
	hj_hash32(h, b.data, b.len);
	assert_memory_equal(e.hash, h, 32);
	/* Hash is BLAKE2b-256 of every byte, signature included. */
	crypto_generichash(h, 32, b.data, b.len, NULL, 0);
	assert_memory_equal(e.hash, h, 32);
	hj_envelope_free(&e);
	hj_envelope_free(&e); /* zeroed struct is fine */

	/* Appends: a second envelope after the first, first left intact. */
	size_t first = b.len;
	make_sample(&b);
	assert_int_equal(hj_envelope_verify(b.data, first, pk), 0);
	assert_int_equal(hj_envelope_verify(b.data + first, b.len - first, pk), 0);
	hj_buf_free(&b);

	/* Empty payload round-trips (stored raw) with a non-NULL payload. */
	assert_int_equal(hj_envelope_encode(&b, "n1", 1, NULL, 0, NULL, 0, pk, sk), 0);
	assert_int_equal(hj_envelope_decode(&e, b.data, b.len), 0);
	assert_int_equal(e.flags, 0);
	assert_int_equal(e.payload_len, 0);
	assert_non_null(e.payload);
	assert_int_equal(e.payload[0], 0);
	hj_envelope_free(&e);
	hj_buf_free(&b);
}

static void test_layout_matches_spec(void **state)
{
	hj_buf b = HJ_BUF_INIT, r = HJ_BUF_INIT;
	uint8_t noise[300];
	(void)state;
	randombytes_buf_deterministic(noise, sizeof noise,
				      (const uint8_t *)"0123456789abcdef0123456789abcdef");
	assert_int_equal(hj_envelope_encode(&b, "abc", 3, pk2, 77, noise,
					    sizeof noise, pk, sk),
			 0);
	/* Ed25519 is deterministic: a hand-built raw envelope is identical. */
	build_raw(&r, 1, 0, "abc", 3, pk2, 77, pk, noise, sizeof noise, sk);
	assert_int_equal(b.len, r.len);
	assert_memory_equal(b.data, r.data, b.len);
	hj_buf_free(&b);
	hj_buf_free(&r);
}

static void test_chain_rules(void **state)
{
	hj_buf b = HJ_BUF_INIT, r = HJ_BUF_INIT;
	hj_envelope e;
	uint8_t prev[32] = {0}, zero[32] = {0};
	(void)state;

	prev[31] = 1;
	/* seq 1 with a non-zero prev: encoder refuses, buffer untouched. */
	assert_int_equal(hj_envelope_encode(&b, "n1", 1, prev, 0, "x", 1, pk, sk),
			 HJ_EINVALID);
	assert_int_equal(b.len, 0);
	/* ... and the decoder refuses a hand-built, properly signed one. */
	build_raw(&r, 1, 0, "n1", 1, prev, 0, pk, "x", 1, sk);
	assert_int_equal(hj_envelope_decode(&e, r.data, r.len), HJ_ECORRUPT);
	assert_non_null(strstr(hj_error_last(), "non-zero prev"));
	hj_buf_free(&r);
	/* seq 0 is never valid. */
	assert_int_equal(hj_envelope_encode(&b, "n1", 0, NULL, 0, "x", 1, pk, sk),
			 HJ_EINVALID);
	build_raw(&r, 1, 0, "n1", 0, NULL, 0, pk, "x", 1, sk);
	assert_int_equal(hj_envelope_decode(&e, r.data, r.len), HJ_ECORRUPT);
	hj_buf_free(&r);
	/* seq > 1 accepts any prev, zeros included. */
	for (uint64_t seq = 2; seq < 5; seq++) {
		const uint8_t *p = seq == 3 ? zero : prev;
		hj_buf_reset(&b);
		assert_int_equal(hj_envelope_encode(&b, "n1", seq, p, 0, "x", 1, pk, sk), 0);
		assert_int_equal(hj_envelope_verify(b.data, b.len, pk), 0);
		assert_int_equal(hj_envelope_decode(&e, b.data, b.len), 0);
		assert_memory_equal(e.prev, p, 32);
		hj_envelope_free(&e);
	}
	uint64_t big = UINT64_MAX;
	hj_buf_reset(&b);
	assert_int_equal(hj_envelope_encode(&b, "n1", big, prev, INT64_MIN, "x", 1, pk, sk), 0);
	assert_int_equal(hj_envelope_decode(&e, b.data, b.len), 0);
	assert_true(e.seq == UINT64_MAX);
	assert_true(e.created_at == INT64_MIN);
	hj_envelope_free(&e);
	hj_buf_free(&b);
}

static void test_incompressible_raw(void **state)
{
	hj_buf b = HJ_BUF_INIT;
	hj_envelope e;
	uint8_t noise[4096];
	(void)state;
	randombytes_buf(noise, sizeof noise);
	assert_int_equal(hj_envelope_encode(&b, "n1", 1, NULL, 0, noise,
					    sizeof noise, pk, sk),
			 0);
	assert_int_equal(b.data[5], 0); /* flags: raw */
	assert_int_equal(hj_envelope_decode(&e, b.data, b.len), 0);
	assert_int_equal(e.flags, 0);
	assert_int_equal(e.payload_len, sizeof noise);
	assert_memory_equal(e.payload, noise, sizeof noise);
	hj_envelope_free(&e);
	hj_buf_free(&b);
	/* One byte cannot shrink either. */
	assert_int_equal(hj_envelope_encode(&b, "n1", 1, NULL, 0, "a", 1, pk, sk), 0);
	assert_int_equal(b.data[5], 0);
	hj_buf_free(&b);
}

static void test_every_byte_flip(void **state)
{
	hj_buf b = HJ_BUF_INIT;
	hj_envelope e;
	(void)state;
	make_sample(&b);
	for (size_t i = 0; i < b.len; i++) {
		static const uint8_t masks[] = {0x01, 0x80, 0xff};
		for (size_t m = 0; m < sizeof masks; m++) {
			b.data[i] ^= masks[m];
			int vr = hj_envelope_verify(b.data, b.len, pk);
			int dr = hj_envelope_decode(&e, b.data, b.len);
			if (vr == 0 && dr == 0)
				fail_msg("flip 0x%02x at byte %zu accepted", masks[m], i);
			assert_true(vr < 0 || dr < 0);
			if (dr == 0)
				hj_envelope_free(&e);
			else
				assert_null(e.payload);
			b.data[i] ^= masks[m];
		}
	}
	assert_int_equal(hj_envelope_verify(b.data, b.len, pk), 0);
	hj_buf_free(&b);
}

static void test_wrong_key(void **state)
{
	hj_buf b = HJ_BUF_INIT, r = HJ_BUF_INIT;
	(void)state;
	make_sample(&b);
	assert_int_equal(hj_envelope_verify(b.data, b.len, pk2), HJ_EBADSIG);
	assert_non_null(strstr(hj_error_last(), "signed by key id"));
	assert_non_null(strstr(hj_error_last(), "expected"));
	/* Key id of pk but signed by sk2: the signature itself fails. */
	build_raw(&r, 1, 0, "n1", 1, NULL, 0, pk, "x", 1, sk2);
	assert_int_equal(hj_envelope_verify(r.data, r.len, pk), HJ_EBADSIG);
	assert_non_null(strstr(hj_error_last(), "does not verify"));
	/* pk/sk mismatch is caught by the encoder's verify-after-sign. */
	hj_buf_reset(&b);
	assert_int_equal(hj_envelope_encode(&b, "n1", 1, NULL, 0, "x", 1, pk2, sk),
			 HJ_EBADSIG);
	assert_int_equal(b.len, 0);
	hj_buf_free(&b);
	hj_buf_free(&r);
}

static void test_truncation(void **state)
{
	hj_buf b = HJ_BUF_INIT;
	hj_envelope e;
	(void)state;
	make_sample(&b);
	for (size_t n = 0; n < b.len; n++) {
		/* A fresh copy of exactly n bytes so ASan sees any overread. */
		uint8_t *cut = malloc(n ? n : 1);
		assert_non_null(cut);
		memcpy(cut, b.data, n);
		assert_int_equal(hj_envelope_decode(&e, cut, n), HJ_ECORRUPT);
		assert_null(e.payload);
		assert_int_equal(hj_envelope_verify(cut, n, pk), HJ_ECORRUPT);
		free(cut);
	}
	/* Trailing bytes after the signature. */
	hj_buf_put_u8(&b, 0);
	assert_int_equal(hj_envelope_decode(&e, b.data, b.len), HJ_ECORRUPT);
	assert_non_null(strstr(hj_error_last(), "trailing"));
	assert_int_equal(hj_envelope_verify(b.data, b.len, pk), HJ_ECORRUPT);
	hj_buf_free(&b);
}

static void test_oversized_length(void **state)
{
	hj_buf b = HJ_BUF_INIT;
	hj_envelope e;
	(void)state;
	make_sample(&b);
	size_t plen_off = 7 + strlen("county-07") + 8 + 32 + 8 + 8;
	b.data[plen_off] = b.data[plen_off + 1] = b.data[plen_off + 2] =
		b.data[plen_off + 3] = 0xff;
	assert_int_equal(hj_envelope_decode(&e, b.data, b.len), HJ_ECORRUPT);
	assert_non_null(strstr(hj_error_last(), "truncated at byte"));
	assert_non_null(strstr(hj_error_last(), "payload length 4294967295"));
	assert_int_equal(hj_envelope_verify(b.data, b.len, pk), HJ_ECORRUPT);
	/* Whole-envelope size cap is checked before reading anything. */
	assert_int_equal(hj_envelope_decode(&e, b.data, HJ_ENVELOPE_MAX_BYTES + 1u),
			 HJ_ETOOBIG);
	/* Encoder refuses payloads over the inflated cap. */
	hj_buf_reset(&b);
	assert_int_equal(hj_envelope_encode(&b, "n1", 1, NULL, 0, "",
					    HJ_PAYLOAD_MAX_BYTES + 1u, pk, sk),
			 HJ_ETOOBIG);
	assert_int_equal(b.len, 0);
	hj_buf_free(&b);
}

static void test_bad_magic_version_flags(void **state)
{
	hj_buf b = HJ_BUF_INIT;
	hj_envelope e;
	(void)state;
	make_sample(&b);
	b.data[0] = 'X';
	assert_int_equal(hj_envelope_decode(&e, b.data, b.len), HJ_ECORRUPT);
	assert_string_equal(hj_error_last(), "envelope: bad magic");
	b.data[0] = 'H';
	b.data[4] = 2;
	assert_int_equal(hj_envelope_decode(&e, b.data, b.len), HJ_EVERSION);
	assert_string_equal(hj_error_last(),
			    "envelope version 2 is newer than this huiji (1): upgrade huiji");
	assert_int_equal(hj_envelope_verify(b.data, b.len, pk), HJ_EVERSION);
	b.data[4] = 0;
	assert_int_equal(hj_envelope_decode(&e, b.data, b.len), HJ_ECORRUPT);
	b.data[4] = 1;
	b.data[5] |= 0x02;
	assert_int_equal(hj_envelope_decode(&e, b.data, b.len), HJ_ECORRUPT);
	assert_non_null(strstr(hj_error_last(), "flag"));
	hj_buf_free(&b);
}

static void test_bad_zlib(void **state)
{
	hj_buf r = HJ_BUF_INIT;
	hj_envelope e;
	uint8_t z[64];
	uLongf zl = sizeof z;
	(void)state;
	/* Properly signed, flag says zlib, bytes are not zlib. */
	build_raw(&r, 1, 1, "n1", 1, NULL, 0, pk, "not zlib at all", 15, sk);
	assert_int_equal(hj_envelope_verify(r.data, r.len, pk), 0);
	assert_int_equal(hj_envelope_decode(&e, r.data, r.len), HJ_ECORRUPT);
	assert_non_null(strstr(hj_error_last(), "envelope: zlib stream corrupt"));
	hj_buf_free(&r);
	/* A truncated zlib stream, and one followed by junk. */
	assert_int_equal(compress2(z, &zl, (const Bytef *)sample_json,
				   20, 6), Z_OK);
	build_raw(&r, 1, 1, "n1", 1, NULL, 0, pk, z, (uint32_t)zl - 3, sk);
	assert_int_equal(hj_envelope_decode(&e, r.data, r.len), HJ_ECORRUPT);
	hj_buf_free(&r);
	z[zl] = 'J';
	build_raw(&r, 1, 1, "n1", 1, NULL, 0, pk, z, (uint32_t)zl + 1, sk);
	assert_int_equal(hj_envelope_decode(&e, r.data, r.len), HJ_ECORRUPT);
	assert_non_null(strstr(hj_error_last(), "after the end of the zlib stream"));
	hj_buf_free(&r);
	build_raw(&r, 1, 1, "n1", 1, NULL, 0, pk, z, (uint32_t)zl, sk);
	assert_int_equal(hj_envelope_decode(&e, r.data, r.len), 0);
	assert_int_equal(e.payload_len, 20);
	hj_envelope_free(&e);
	hj_buf_free(&r);
}

static long max_rss_kib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* Deflate `total` zero bytes (streamed: the test itself stays small). */
static void deflate_zeros(hj_buf *out, size_t total)
{
	static uint8_t zeros[1 << 16];
	uint8_t chunk[1 << 14];
	z_stream zs;
	memset(&zs, 0, sizeof zs);
	assert_int_equal(deflateInit(&zs, 9), Z_OK);
	int zrc;
	do {
		size_t n = total < sizeof zeros ? total : sizeof zeros;
		total -= n;
		zs.next_in = zeros;
		zs.avail_in = (uInt)n;
		int flush = total ? Z_NO_FLUSH : Z_FINISH;
		do {
			zs.next_out = chunk;
			zs.avail_out = sizeof chunk;
			zrc = deflate(&zs, flush);
			assert_true(zrc == Z_OK || zrc == Z_STREAM_END || zrc == Z_BUF_ERROR);
			hj_buf_put(out, chunk, sizeof chunk - zs.avail_out);
		} while (zs.avail_out == 0);
	} while (zrc != Z_STREAM_END);
	deflateEnd(&zs);
	assert_int_equal(out->rc, 0);
}

static void test_zip_bomb(void **state)
{
	hj_buf z = HJ_BUF_INIT, r = HJ_BUF_INIT;
	hj_envelope e;
	(void)state;

	deflate_zeros(&z, (size_t)64 << 20);
	assert_true(z.len < 200000); /* ~1000:1 */
	build_raw(&r, 1, 1, "bomb", 1, NULL, 0, pk, z.data, (uint32_t)z.len, sk);
	hj_buf_free(&z);
	/* It is a genuine, properly signed envelope ... */
	assert_int_equal(hj_envelope_verify(r.data, r.len, pk), 0);

	long before = max_rss_kib();
	int rc = hj_envelope_decode(&e, r.data, r.len);
	long grew_kib = max_rss_kib() - before;
	/* ... refused, */
	assert_true(rc == HJ_ECORRUPT || rc == HJ_ETOOBIG);
	assert_non_null(strstr(hj_error_last(),
			       "envelope: inflated payload exceeds 8388608 bytes"));
	assert_null(e.payload);
	/* ... without inflating all 64 MiB: peak RSS grew by about the cap
	 * (8 MiB buffer plus realloc copies and ASan shadow), far from 64. */
	if (grew_kib > 40 * 1024)
		fail_msg("decode of a zip bomb grew RSS by %ld KiB", grew_kib);

	/* Exactly at the cap is fine: 8 MiB of zeros inflates. */
	hj_buf_free(&r);
	deflate_zeros(&z, HJ_PAYLOAD_MAX_BYTES);
	build_raw(&r, 1, 1, "edge", 1, NULL, 0, pk, z.data, (uint32_t)z.len, sk);
	assert_int_equal(hj_envelope_decode(&e, r.data, r.len), 0);
	assert_int_equal(e.payload_len, HJ_PAYLOAD_MAX_BYTES);
	hj_envelope_free(&e);
	hj_buf_free(&r);
	hj_buf_reset(&z);
	/* One byte over is a bomb. */
	deflate_zeros(&z, HJ_PAYLOAD_MAX_BYTES + 1u);
	build_raw(&r, 1, 1, "edge", 1, NULL, 0, pk, z.data, (uint32_t)z.len, sk);
	assert_int_equal(hj_envelope_decode(&e, r.data, r.len), HJ_ECORRUPT);
	hj_buf_free(&r);
	hj_buf_free(&z);
}

static void test_node_id(void **state)
{
	char long_ok[HJ_NODE_ID_MAX + 1], too_long[HJ_NODE_ID_MAX + 2];
	hj_buf b = HJ_BUF_INIT, r = HJ_BUF_INIT;
	hj_envelope e;
	(void)state;
	memset(long_ok, 'a', HJ_NODE_ID_MAX);
	long_ok[HJ_NODE_ID_MAX] = '\0';
	memset(too_long, 'a', HJ_NODE_ID_MAX + 1);
	too_long[HJ_NODE_ID_MAX + 1] = '\0';

	static const char *good[] = {"a", "0", "county-07", "hub.main_2",
				     "9-._", "x-y.z"};
	static const char *bad[] = {"", "-abc", ".abc", "_abc", "Abc", "abC",
				    "a b", "a/b", "a\\b", "a:b", "\xe5\x8e\xbf"};
	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		assert_int_equal(hj_node_id_check(good[i]), 0);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		assert_int_equal(hj_node_id_check(bad[i]), HJ_EINVALID);
		assert_int_equal(hj_envelope_encode(&b, bad[i], 1, NULL, 0, "x", 1,
						    pk, sk),
				 HJ_EINVALID);
	}
	assert_int_equal(hj_node_id_check(long_ok), 0);
	assert_int_equal(hj_node_id_check(too_long), HJ_EINVALID);
	assert_int_equal(hj_node_id_check(NULL), HJ_EINVALID);
	assert_int_equal(b.len, 0);

	/* The longest id round-trips. */
	assert_int_equal(hj_envelope_encode(&b, long_ok, 1, NULL, 0, "x", 1, pk, sk), 0);
	assert_int_equal(hj_envelope_decode(&e, b.data, b.len), 0);
	assert_string_equal(e.node, long_ok);
	hj_envelope_free(&e);
	hj_buf_free(&b);

	/* The decoder applies the same rules to signed envelopes. */
	build_raw(&r, 1, 0, "Bad/Id", 1, NULL, 0, pk, "x", 1, sk);
	assert_int_equal(hj_envelope_decode(&e, r.data, r.len), HJ_ECORRUPT);
	assert_int_equal(hj_envelope_verify(r.data, r.len, pk), HJ_ECORRUPT);
	hj_buf_free(&r);
	build_raw(&r, 1, 0, too_long, 1, NULL, 0, pk, "x", 1, sk);
	assert_int_equal(hj_envelope_decode(&e, r.data, r.len), HJ_ECORRUPT);
	assert_non_null(strstr(hj_error_last(), "node id length 65"));
	hj_buf_free(&r);
}

static void test_hex(void **state)
{
	uint8_t in[4] = {0x00, 0xab, 0x7f, 0xff}, out[4];
	char hex[9];
	(void)state;
	hj_hex_encode(hex, in, 4);
	assert_string_equal(hex, "00ab7fff");
	assert_int_equal(hj_hex_decode(out, 4, hex), 0);
	assert_memory_equal(out, in, 4);
	assert_int_equal(hj_hex_decode(out, 4, "00AB7FFF"), 0);
	assert_memory_equal(out, in, 4);
	assert_int_equal(hj_hex_decode(out, 4, "00ab7ff"), HJ_EINVALID);
	assert_int_equal(hj_hex_decode(out, 4, "00ab7fff0"), HJ_EINVALID);
	assert_int_equal(hj_hex_decode(out, 4, "00ab7fgf"), HJ_EINVALID);
	assert_int_equal(hj_hex_decode(out, 4, NULL), HJ_EINVALID);
	assert_int_equal(hj_hex_decode(out, 0, ""), 0);
	hj_hex_encode(hex, in, 0);
	assert_string_equal(hex, "");
}

static void test_thread_cleanup_reuse(void **state)
{
	hj_buf b = HJ_BUF_INIT;
	hj_envelope e;
	(void)state;
	/* Streams are re-created after cleanup, and reuse gives equal bytes. */
	make_sample(&b);
	size_t n = b.len;
	hj_envelope_thread_cleanup();
	hj_envelope_thread_cleanup();
	make_sample(&b);
	assert_int_equal(b.len, 2 * n);
	assert_memory_equal(b.data, b.data + n, n);
	assert_int_equal(hj_envelope_decode(&e, b.data + n, n), 0);
	hj_envelope_free(&e);
	hj_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* First, so the RSS peak it measures is not hidden by others. */
		cmocka_unit_test(test_zip_bomb),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_layout_matches_spec),
		cmocka_unit_test(test_chain_rules),
		cmocka_unit_test(test_incompressible_raw),
		cmocka_unit_test(test_every_byte_flip),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_oversized_length),
		cmocka_unit_test(test_bad_magic_version_flags),
		cmocka_unit_test(test_bad_zlib),
		cmocka_unit_test(test_node_id),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_thread_cleanup_reuse),
	};
	return cmocka_run_group_tests(tests, setup_keys, teardown_all);
}
