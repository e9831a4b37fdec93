/*
 * test_seal.c — node/seal.c: sealed personal fields. Every recipient opens
 * what was sealed to it and nobody else does; any changed byte of the
 * ciphertext, nonce, commitment or a wrap is refused; a county that wraps
 * different keys to the hub and the auditor (objects forged here by hand,
 * from the format as seal.c documents it) is caught; the hub's re-wrap
 * opens at the receiving node; the encoding is canonical; malformed
 * objects are refused with the right code, and no message names a
 * person's data; an object sealed once with fixed keys still opens and
 * writes back to the same bytes. Fake people only (hj_idnum_make).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "hex.h"
#include "idnum.h"
#include "json.h"
#include "seal.h"

/* A hub and a county with node (Ed25519) keys, the audit committee with
 * its own X25519 pair. */
typedef struct party {
	const char *id;
	uint8_t ed_pk[32], ed_sk[64];
	uint8_t pk[32], sk[32]; /* X25519 */
} party;

typedef struct fx {
	party hub, audit, county, other;
	char idno[19];
	char plain[256];
	size_t len;
	hj_buf text; /* sealed to hub + audit */
	hj_sealed s;
} fx;

static void node_party(party *p, const char *id)
{
	p->id = id;
	assert_int_equal(crypto_sign_keypair(p->ed_pk, p->ed_sk), 0);
	assert_int_equal(hj_seal_pk_from_node(p->pk, p->ed_pk), 0);
	assert_int_equal(hj_seal_sk_from_node(p->sk, p->ed_sk), 0);
}

static void seal_to(hj_buf *out, fx *f, const party *const *ps, size_t n)
{
	hj_seal_to to[HJ_SEAL_RECIPIENTS_MAX];
	for (size_t i = 0; i < n; i++) {
		to[i].id = ps[i]->id;
		memcpy(to[i].pk, ps[i]->pk, 32);
	}
	assert_int_equal(hj_seal(out, (const uint8_t *)f->plain, f->len, to, n), 0);
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof *f);
	assert_non_null(f);
	assert_true(sodium_init() >= 0);
	node_party(&f->hub, "hub");
	node_party(&f->county, "630103-county");
	node_party(&f->other, "630104-county");
	f->audit.id = "audit";
	assert_int_equal(hj_seal_keypair(f->audit.pk, f->audit.sk), 0);
	assert_int_equal(hj_idnum_make(f->idno, "630103", 1990, 5, 17, 42), 0);
	f->len = (size_t)snprintf(f->plain, sizeof f->plain,
				  "{\"name\":\"测试人甲\",\"id_number\":\"%s\",\"phone\":\"13900001234\","
				  "\"plate\":\"青A12345\"}",
				  f->idno);
	/* given audit first: the encoding sorts */
	const party *ps[] = {&f->hub, &f->audit};
	seal_to(&f->text, f, ps, 2);
	assert_int_equal(hj_sealed_parse(&f->s, (const char *)f->text.data, f->text.len), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	hj_buf_free(&f->text);
	free(f);
	return 0;
}

/* No message may carry the person's data. */
static void no_leak(const fx *f)
{
	const char *m = hj_error_last();
	if (strstr(m, f->idno) || strstr(m, "测试人甲") || strstr(m, "13900001234") || strstr(m, "A12345"))
		fail_msg("message names personal data: %s", m);
}

static void expect_open(const fx *f, const hj_sealed *s, const party *p)
{
	hj_buf out = HJ_BUF_INIT;
	hj_buf_puts(&out, "prefix:");
	int rc = hj_unseal(&out, s, p->id, p->pk, p->sk);
	if (rc)
		fail_msg("%s cannot open: %s", p->id, hj_error_last());
	assert_int_equal(out.len, 7 + f->len);
	assert_memory_equal(out.data, "prefix:", 7);
	assert_memory_equal(out.data + 7, f->plain, f->len);
	hj_buf_free(&out);
}

static void expect_refused(const fx *f, const hj_sealed *s, const party *p, int code)
{
	hj_buf out = HJ_BUF_INIT;
	hj_buf_puts(&out, "prefix:");
	int rc = hj_unseal(&out, s, p->id, p->pk, p->sk);
	if (rc != code)
		fail_msg("%s: got %s, want %s (%s)", p->id, hj_error_name(rc), hj_error_name(code), hj_error_last());
	assert_int_equal(out.len, 7); /* left as it was */
	assert_string_equal((char *)out.data, "prefix:");
	no_leak(f);
	hj_buf_free(&out);
}

/* ---- round trip ------------------------------------------------------------ */

static void test_round_trip(void **state)
{
	fx *f = *state;
	expect_open(f, &f->s, &f->hub);
	expect_open(f, &f->s, &f->audit);
	/* the text holds none of it */
	assert_null(strstr((char *)f->text.data, f->idno));
	assert_null(strstr((char *)f->text.data, "13900001234"));
	assert_int_equal(f->s.nto, 2);
	assert_string_equal(f->s.to[0].id, "audit");
	assert_string_equal(f->s.to[1].id, "hub");
	assert_int_equal(f->s.ctlen, f->len + HJ_SEAL_ABYTES);
	/* not a recipient: not found; a recipient's id with the wrong keys: refused */
	expect_refused(f, &f->s, &f->county, HJ_ENOTFOUND);
	party liar = f->county;
	liar.id = "hub";
	expect_refused(f, &f->s, &liar, HJ_EBADSIG);
	/* the audit key is not the hub's */
	liar = f->audit;
	liar.id = "hub";
	expect_refused(f, &f->s, &liar, HJ_EBADSIG);
	assert_null(hj_sealed_wrap(&f->s, "630103-county"));
	assert_non_null(hj_sealed_wrap(&f->s, "audit"));
	assert_null(hj_sealed_wrap(&f->s, "audi"));
	assert_null(hj_sealed_wrap(&f->s, "auditx"));
}

/* Sealed to hj_seal_pk_from_node(ed_pk), opened with the secret key made
 * from ed_sk; the two conversions agree; a small-order point is refused. */
static void test_node_keys(void **state)
{
	fx *f = *state;
	uint8_t derived[32];
	assert_int_equal(crypto_scalarmult_base(derived, f->county.sk), 0);
	assert_memory_equal(derived, f->county.pk, 32);
	/* round trip through the node key only */
	hj_buf t = HJ_BUF_INIT;
	hj_sealed s;
	const party *ps[] = {&f->county};
	seal_to(&t, f, ps, 1);
	assert_int_equal(hj_sealed_parse(&s, (const char *)t.data, t.len), 0);
	expect_open(f, &s, &f->county);
	/* another node's converted keys do not open it */
	party p = f->other;
	p.id = f->county.id;
	expect_refused(f, &s, &p, HJ_EBADSIG);
	hj_buf_free(&t);
	/* the Ed25519 identity point (small order) has no usable box key */
	uint8_t ident[32] = {1};
	assert_int_equal(hj_seal_pk_from_node(derived, ident), HJ_EINVALID);
	assert_int_equal(hj_seal_pk_from_node(NULL, ident), HJ_EINVALID);
}

/* ---- tampering ------------------------------------------------------------- */

static void test_tamper(void **state)
{
	fx *f = *state;
	hj_sealed t;
	for (size_t i = 0; i < f->s.ctlen; i += 7) {
		t = f->s;
		t.ct[i] ^= 0x01;
		expect_refused(f, &t, &f->hub, HJ_EBADSIG);
		expect_refused(f, &t, &f->audit, HJ_EBADSIG);
	}
	t = f->s;
	t.ctlen--; /* a truncated ciphertext */
	expect_refused(f, &t, &f->hub, HJ_EBADSIG);
	for (size_t i = 0; i < 24; i++) {
		t = f->s;
		t.nonce[i] ^= 0x80;
		expect_refused(f, &t, &f->hub, HJ_EBADSIG);
	}
	for (size_t i = 0; i < 32; i++) {
		t = f->s;
		t.commit[i] ^= 0x10;
		expect_refused(f, &t, &f->audit, HJ_EBADSIG);
	}
	for (size_t i = 0; i < HJ_SEAL_WRAP_BYTES; i += 3) {
		t = f->s;
		t.to[1].wrap[i] ^= 0x04; /* the hub's */
		expect_refused(f, &t, &f->hub, HJ_EBADSIG);
		expect_open(f, &t, &f->audit); /* each wrap stands alone */
	}
	/* the hub's wrap copied into the audit slot opens for neither: wraps are
	 * to a key, not to a name */
	t = f->s;
	memcpy(t.to[0].wrap, t.to[1].wrap, HJ_SEAL_WRAP_BYTES);
	expect_refused(f, &t, &f->audit, HJ_EBADSIG);
	/* a hand-built struct with an impossible length is a caller mistake */
	t = f->s;
	t.ctlen = 3;
	expect_refused(f, &t, &f->hub, HJ_EINVALID);
	t.ctlen = sizeof t.ct + 1;
	expect_refused(f, &t, &f->hub, HJ_EINVALID);
}

/* ---- forged objects: a county showing the hub and the auditor different data */

/* c = BLAKE2b-256 keyed with k over "huiji-seal-v1\0" || m, as seal.c says. */
static void commit_by_hand(uint8_t c[32], const uint8_t k[32], const char *m, size_t len)
{
	uint8_t *buf = malloc(14 + len);
	assert_non_null(buf);
	memcpy(buf, "huiji-seal-v1", 14);
	memcpy(buf + 14, m, len);
	crypto_generichash(c, 32, buf, 14 + len, k, 32);
	free(buf);
}

/* An object with commitment over (kc, mc), ciphertext of me under ke, and
 * wrap_audit / wrap_hub wrapping those keys: built from the documented
 * format, with libsodium alone. */
static void forge(hj_sealed *s, const fx *f, const uint8_t kc[32], const char *mc, const uint8_t ke[32],
		  const char *me, const uint8_t k_audit[32], const uint8_t k_hub[32])
{
	uint8_t ad[45];
	unsigned long long clen;
	memset(s, 0, sizeof *s);
	commit_by_hand(s->commit, kc, mc, strlen(mc));
	randombytes_buf(s->nonce, 24);
	memcpy(ad, "huiji-seal-v1", 13);
	memcpy(ad + 13, s->commit, 32);
	assert_int_equal(crypto_aead_xchacha20poly1305_ietf_encrypt(s->ct, &clen, (const uint8_t *)me, strlen(me), ad,
								    45, NULL, s->nonce, ke),
			 0);
	s->ctlen = (size_t)clen;
	s->nto = 2;
	strcpy(s->to[0].id, "audit");
	strcpy(s->to[1].id, "hub");
	assert_int_equal(crypto_box_seal(s->to[0].wrap, k_audit, 32, f->audit.pk), 0);
	assert_int_equal(crypto_box_seal(s->to[1].wrap, k_hub, 32, f->hub.pk), 0);
}

static void test_forged(void **state)
{
	fx *f = *state;
	uint8_t k1[32], k2[32];
	hj_sealed s;
	char other[256];
	randombytes_buf(k1, 32);
	randombytes_buf(k2, 32);
	snprintf(other, sizeof other, "{\"name\":\"测试人乙\",\"id_number\":\"%s\"}", f->idno);

	/* honest, by hand: the format as documented opens, and writes canonically */
	forge(&s, f, k1, f->plain, k1, f->plain, k1, k1);
	expect_open(f, &s, &f->hub);
	expect_open(f, &s, &f->audit);
	hj_buf t = HJ_BUF_INIT;
	hj_sealed back;
	assert_int_equal(hj_sealed_write(&t, &s), 0);
	assert_int_equal(hj_sealed_parse(&back, (const char *)t.data, t.len), 0);
	assert_memory_equal(&back, &s, sizeof s);
	hj_buf_free(&t);

	/* the hub gets k1 (the real data), the auditor k2: the AEAD fails there */
	forge(&s, f, k1, f->plain, k1, f->plain, k2, k1);
	expect_open(f, &s, &f->hub);
	expect_refused(f, &s, &f->audit, HJ_EBADSIG);

	/* commitment over (k1, real data), ciphertext of other data under k2,
	 * k2 to both: both decrypt, only the commitment catches it */
	forge(&s, f, k1, f->plain, k2, other, k2, k2);
	expect_refused(f, &s, &f->hub, HJ_EBADSIG);
	assert_non_null(strstr(hj_error_last(), "commitment"));
	expect_refused(f, &s, &f->audit, HJ_EBADSIG);
	assert_non_null(strstr(hj_error_last(), "commitment"));
	char hex[HJ_SEAL_WRAP_HEX + 1];
	assert_int_equal(hj_seal_rewrap(hex, &s, "hub", f->hub.pk, f->hub.sk, f->county.pk), HJ_EBADSIG);

	/* the same data committed under k1 but encrypted under k2: the
	 * commitment is keyed, so it binds the key too */
	forge(&s, f, k1, f->plain, k2, f->plain, k1, k2);
	expect_refused(f, &s, &f->audit, HJ_EBADSIG); /* k1: the AEAD fails */
	assert_non_null(strstr(hj_error_last(), "authenticate"));
	expect_refused(f, &s, &f->hub, HJ_EBADSIG); /* k2 decrypts; the commitment under k2 fails */
	assert_non_null(strstr(hj_error_last(), "commitment"));
}

/* ---- the format, frozen ------------------------------------------------------ */

/* Sealed once by this code (keys from fixed seeds: the hub's node key from
 * 32 bytes of 0x01, the audit pair from 32 of 0x02; a fake person from
 * hj_idnum_make). Every later huiji must open it and write it back to the
 * same bytes: the format is part of signed ops. */
static const char golden[] =
	"{\"v\":1,\"c\":\"869e98f688666ddaa1caa440a6c80e6425a480cb51c02c00b216a77493ebb3d6\",\"n\":\"e4b2"
	"bf2b8322a0cf431ba198bc7897fe8fc5f28e1ab2e0ef\",\"ct\":\"8ccd9ae8224be3d99ea2871182e2d95a11d31ecf"
	"de82c7fadf70d1153e5258ef7ecc77a92fcd2a8dc36ffb7b23d330d0837b15991fcddb98ea30f5fa4771fd4b821707b4"
	"47b458dd\",\"to\":[[\"audit\",\"151313f9273ecb09497d035c6eb3b22e88b6a8ac2ee95a0a899e354d8bbf2363"
	"6851dc9d33c65171166b55fd53bdfe6883d3178983ba8ea4f98f56123dfcc5b9e8aafe8ac222567babf8b7557a6f9cc8"
	"\"],[\"hub\",\"34af8be37f51db0c845149671fc0bfdb64e4fc594a0330b69b691bc4fca2b842c913eaaa41dd6ac0f"
	"1e49f06ec92d584d8204927e70fb73111832add7130e531c5bbb7b3105ec2a7e24e1c03ab8e151d\"]]}";

static void test_golden(void **state)
{
	fx *f = *state;
	uint8_t seed[32], ed_pk[32], ed_sk[64], c[32];
	party hub = {"hub", {0}, {0}, {0}, {0}}, audit = {"audit", {0}, {0}, {0}, {0}};
	char idno[19], want[128];
	memset(seed, 1, 32);
	assert_int_equal(crypto_sign_seed_keypair(ed_pk, ed_sk, seed), 0);
	assert_int_equal(hj_seal_pk_from_node(hub.pk, ed_pk), 0);
	assert_int_equal(hj_seal_sk_from_node(hub.sk, ed_sk), 0);
	memset(seed, 2, 32);
	assert_int_equal(crypto_box_seed_keypair(audit.pk, audit.sk, seed), 0);
	assert_int_equal(hj_idnum_make(idno, "630103", 1990, 5, 17, 4), 0);
	snprintf(want, sizeof want, "{\"name\":\"测试人丙\",\"id_number\":\"%s\"}", idno);
	hj_sealed s;
	assert_int_equal(hj_sealed_parse(&s, golden, strlen(golden)), 0);
	const party *ps[] = {&hub, &audit};
	for (size_t i = 0; i < 2; i++) {
		hj_buf out = HJ_BUF_INIT;
		assert_int_equal(hj_unseal(&out, &s, ps[i]->id, ps[i]->pk, ps[i]->sk), 0);
		assert_string_equal((char *)out.data, want);
		hj_buf_free(&out);
	}
	/* the commitment is what seal.c documents, recomputed by hand from the
	 * data key the hub's wrap holds */
	uint8_t k[32];
	assert_int_equal(crypto_box_seal_open(k, hj_sealed_wrap(&s, "hub"), 80, hub.pk, hub.sk), 0);
	commit_by_hand(c, k, want, strlen(want));
	assert_memory_equal(c, s.commit, 32);
	hj_buf t = HJ_BUF_INIT;
	assert_int_equal(hj_sealed_write(&t, &s), 0);
	assert_string_equal((char *)t.data, golden);
	hj_buf_free(&t);
	(void)f;
}

/* ---- rewrap ---------------------------------------------------------------- */

static void test_rewrap(void **state)
{
	fx *f = *state;
	char hex[HJ_SEAL_WRAP_HEX + 1];
	hj_buf out = HJ_BUF_INIT;
	assert_int_equal(hj_seal_rewrap(hex, &f->s, "hub", f->hub.pk, f->hub.sk, f->county.pk), 0);
	assert_int_equal(strlen(hex), HJ_SEAL_WRAP_HEX);
	assert_true(hj_hex_is_lower(hex, HJ_SEAL_WRAP_BYTES));
	/* the county is not in the object, but its inbox wrap opens it */
	expect_refused(f, &f->s, &f->county, HJ_ENOTFOUND);
	assert_int_equal(hj_unseal_with(&out, &f->s, hex, f->county.pk, f->county.sk), 0);
	assert_int_equal(out.len, f->len);
	assert_memory_equal(out.data, f->plain, f->len);
	/* the auditor can re-wrap too */
	assert_int_equal(hj_seal_rewrap(hex, &f->s, "audit", f->audit.pk, f->audit.sk, f->other.pk), 0);
	hj_buf_reset(&out);
	assert_int_equal(hj_unseal_with(&out, &f->s, hex, f->other.pk, f->other.sk), 0);
	assert_memory_equal(out.data, f->plain, f->len);
	/* the wrap is to that key only */
	hj_buf_reset(&out);
	assert_int_equal(hj_unseal_with(&out, &f->s, hex, f->county.pk, f->county.sk), HJ_EBADSIG);
	assert_int_equal(out.len, 0);
	/* malformed wraps */
	char bad[HJ_SEAL_WRAP_HEX + 2];
	memcpy(bad, hex, sizeof hex);
	bad[HJ_SEAL_WRAP_HEX - 1] = '\0';
	assert_int_equal(hj_unseal_with(&out, &f->s, bad, f->other.pk, f->other.sk), HJ_ECORRUPT);
	memcpy(bad, hex, sizeof hex);
	bad[5] = 'A';
	assert_int_equal(hj_unseal_with(&out, &f->s, bad, f->other.pk, f->other.sk), HJ_ECORRUPT);
	memcpy(bad, hex, HJ_SEAL_WRAP_HEX);
	memcpy(bad + HJ_SEAL_WRAP_HEX, "0", 2);
	assert_int_equal(hj_unseal_with(&out, &f->s, bad, f->other.pk, f->other.sk), HJ_ECORRUPT);
	assert_int_equal(hj_unseal_with(&out, &f->s, NULL, f->other.pk, f->other.sk), HJ_EINVALID);
	/* not a recipient, a tampered object, a low-order target key */
	assert_int_equal(hj_seal_rewrap(hex, &f->s, f->county.id, f->county.pk, f->county.sk, f->other.pk),
			 HJ_ENOTFOUND);
	hj_sealed t = f->s;
	t.ct[0] ^= 1;
	assert_int_equal(hj_seal_rewrap(hex, &t, "hub", f->hub.pk, f->hub.sk, f->county.pk), HJ_EBADSIG);
	uint8_t zero[32] = {0};
	assert_int_equal(hj_seal_rewrap(hex, &f->s, "hub", f->hub.pk, f->hub.sk, zero), HJ_EINVALID);
	hj_buf_free(&out);
}

/* ---- canonical encoding ---------------------------------------------------- */

static void test_canonical(void **state)
{
	fx *f = *state;
	/* decode -> write gives the same bytes */
	hj_buf t = HJ_BUF_INIT;
	assert_int_equal(hj_sealed_write(&t, &f->s), 0);
	assert_int_equal(t.len, f->text.len);
	assert_memory_equal(t.data, f->text.data, t.len);
	assert_memory_equal(f->text.data, "{\"v\":1,\"c\":\"", 12);
	/* any order in, sorted out: four recipients given in every rotation */
	const party *ps[] = {&f->other, &f->hub, &f->county, &f->audit};
	for (size_t r = 0; r < 4; r++) {
		const party *rot[4];
		hj_sealed s;
		for (size_t i = 0; i < 4; i++)
			rot[i] = ps[(i + r) % 4];
		hj_buf_reset(&t);
		seal_to(&t, f, rot, 4);
		assert_int_equal(hj_sealed_parse(&s, (const char *)t.data, t.len), 0);
		assert_string_equal(s.to[0].id, "630103-county");
		assert_string_equal(s.to[1].id, "630104-county");
		assert_string_equal(s.to[2].id, "audit");
		assert_string_equal(s.to[3].id, "hub");
		for (size_t i = 0; i < 4; i++)
			expect_open(f, &s, ps[i]);
	}
	/* the writer refuses what the decoder would refuse */
	hj_sealed s = f->s;
	strcpy(s.to[0].id, "zzz");
	assert_int_equal(hj_sealed_write(&t, &s), HJ_EINVALID);
	strcpy(s.to[0].id, "hub");
	assert_int_equal(hj_sealed_write(&t, &s), HJ_EINVALID);
	/* the tree, embedded in an op and read back */
	hj_json *tree = NULL, *op = hj_json_new(HJ_JOBJ), *back = NULL;
	assert_int_equal(hj_seal_json(&tree, (const uint8_t *)f->plain, f->len,
				      (hj_seal_to[]){{"hub", {0}}}, 0),
			 HJ_EINVALID);
	assert_null(tree);
	hj_seal_to one = {"hub", {0}};
	memcpy(one.pk, f->hub.pk, 32);
	assert_int_equal(hj_seal_json(&tree, (const uint8_t *)f->plain, f->len, &one, 1), 0);
	assert_int_equal(hj_json_set(op, "sealed", tree), 0);
	hj_buf_reset(&t);
	assert_int_equal(hj_json_write(&t, op), 0);
	assert_int_equal(hj_json_parse(&back, (const char *)t.data, t.len), 0);
	assert_int_equal(hj_sealed_decode(&s, hj_json_get(back, "sealed")), 0);
	expect_open(f, &s, &f->hub);
	hj_json_free(op);
	hj_json_free(back);
	hj_buf_free(&t);
}

/* What hj_seal refuses: caller mistakes are HJ_EINVALID; the bounds hold. */
static void test_seal_args(void **state)
{
	fx *f = *state;
	hj_buf t = HJ_BUF_INIT;
	hj_seal_to to[HJ_SEAL_RECIPIENTS_MAX + 1];
	char ids[HJ_SEAL_RECIPIENTS_MAX + 1][8];
	for (size_t i = 0; i <= HJ_SEAL_RECIPIENTS_MAX; i++) {
		snprintf(ids[i], sizeof ids[i], "n%02zu", i);
		to[i].id = ids[i];
		memcpy(to[i].pk, f->county.pk, 32);
	}
	uint8_t *big = calloc(1, HJ_SEAL_PLAIN_MAX + 1);
	assert_non_null(big);
	assert_int_equal(hj_seal(&t, big, HJ_SEAL_PLAIN_MAX + 1, to, 1), HJ_EINVALID);
	assert_int_equal(hj_seal(&t, big, 10, to, 0), HJ_EINVALID);
	assert_int_equal(hj_seal(&t, big, 10, to, HJ_SEAL_RECIPIENTS_MAX + 1), HJ_EINVALID);
	assert_int_equal(hj_seal(&t, NULL, 10, to, 1), HJ_EINVALID);
	assert_int_equal(t.len, 0);
	/* the largest plaintext and 32 recipients: sealed, decoded, opened */
	hj_sealed s;
	memset(big, 'x', HJ_SEAL_PLAIN_MAX);
	assert_int_equal(hj_seal(&t, big, HJ_SEAL_PLAIN_MAX, to, HJ_SEAL_RECIPIENTS_MAX), 0);
	assert_int_equal(hj_sealed_parse(&s, (const char *)t.data, t.len), 0);
	hj_buf out = HJ_BUF_INIT;
	assert_int_equal(hj_unseal(&out, &s, "n31", f->county.pk, f->county.sk), 0);
	assert_int_equal(out.len, HJ_SEAL_PLAIN_MAX);
	assert_memory_equal(out.data, big, HJ_SEAL_PLAIN_MAX);
	/* empty plaintext */
	hj_buf_reset(&t);
	hj_buf_reset(&out);
	assert_int_equal(hj_seal(&t, NULL, 0, to, 1), 0);
	assert_int_equal(hj_sealed_parse(&s, (const char *)t.data, t.len), 0);
	assert_int_equal(hj_unseal(&out, &s, "n00", f->county.pk, f->county.sk), 0);
	assert_int_equal(out.len, 0);
	/* bad ids, a repeated id, a low-order key */
	hj_buf_reset(&t);
	char id65[66], id64[65];
	memset(id65, 'x', 65);
	id65[65] = '\0';
	memcpy(id64, id65, 64);
	id64[64] = '\0';
	const char *const bad_ids[] = {"", "a b", "caf\xc3\xa9", "tab\t", id65};
	for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
		to[1].id = bad_ids[i];
		assert_int_equal(hj_seal(&t, big, 10, to, 2), HJ_EINVALID);
	}
	to[1].id = NULL;
	assert_int_equal(hj_seal(&t, big, 10, to, 2), HJ_EINVALID);
	to[1].id = "n00";
	assert_int_equal(hj_seal(&t, big, 10, to, 3), HJ_EINVALID);
	assert_non_null(strstr(hj_error_last(), "twice"));
	to[1].id = ids[1];
	memset(to[2].pk, 0, 32);
	assert_int_equal(hj_seal(&t, big, 10, to, 3), HJ_EINVALID);
	assert_int_equal(t.len, 0);
	/* the longest id is fine */
	to[1].id = id64;
	assert_int_equal(hj_seal(&t, big, 10, to, 2), 0);
	assert_int_equal(hj_sealed_parse(&s, (const char *)t.data, t.len), 0);
	hj_buf_free(&out);
	hj_buf_free(&t);
	free(big);
}

/* ---- malformed objects ----------------------------------------------------- */

/* Parse text from an exact-size heap copy (ASan sees any overread) and
 * return the code; check the message names no personal data. */
static int parse_exact(const fx *f, const char *text, size_t len)
{
	hj_sealed s;
	char *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, text, len);
	int rc = hj_sealed_parse(&s, copy, len);
	free(copy);
	if (rc)
		no_leak(f);
	return rc;
}

/* The valid text's parts, to rebuild variants of it. */
typedef struct parts {
	char c[65], n[49], ct[2 * (HJ_SEAL_PLAIN_MAX + HJ_SEAL_ABYTES) + 1], w0[161], w1[161];
} parts;

static void expect_text(const fx *f, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void expect_text(const fx *f, int code, const char *fmt, ...)
{
	static char text[3 * 8192];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof text);
	int rc = parse_exact(f, text, (size_t)n);
	if (rc != code)
		fail_msg("got %s (%s), want %s for %.200s", hj_error_name(rc), hj_error_last(), hj_error_name(code),
			 text);
}

#define OBJ "{\"v\":%d,\"c\":\"%s\",\"n\":\"%s\",\"ct\":\"%s\",\"to\":%s}"

static void test_malformed(void **state)
{
	fx *f = *state;
	parts *p = calloc(1, sizeof *p);
	char to[1024], big[3 * 8192];
	assert_non_null(p);
	hj_hex_encode(p->c, f->s.commit, 32);
	hj_hex_encode(p->n, f->s.nonce, 24);
	hj_hex_encode(p->ct, f->s.ct, f->s.ctlen);
	hj_hex_encode(p->w0, f->s.to[0].wrap, 80);
	hj_hex_encode(p->w1, f->s.to[1].wrap, 80);
	snprintf(to, sizeof to, "[[\"audit\",\"%s\"],[\"hub\",\"%s\"]]", p->w0, p->w1);
	expect_text(f, 0, OBJ, 1, p->c, p->n, p->ct, to); /* the parts rebuild it */
	/* versions */
	expect_text(f, HJ_EVERSION, OBJ, 2, p->c, p->n, p->ct, to);
	assert_non_null(strstr(hj_error_last(), "upgrade huiji"));
	expect_text(f, HJ_EVERSION, "{\"v\":2,\"other\":[]}");
	expect_text(f, HJ_ECORRUPT, OBJ, 0, p->c, p->n, p->ct, to);
	expect_text(f, HJ_ECORRUPT, OBJ, -1, p->c, p->n, p->ct, to);
	expect_text(f, HJ_ECORRUPT, "{\"v\":\"1\",\"c\":\"%s\",\"n\":\"%s\",\"ct\":\"%s\",\"to\":%s}", p->c, p->n,
		    p->ct, to);
	expect_text(f, HJ_ECORRUPT, "{\"c\":\"%s\",\"n\":\"%s\",\"ct\":\"%s\",\"to\":%s}", p->c, p->n, p->ct, to);
	expect_text(f, HJ_ECORRUPT, "[1]");
	expect_text(f, HJ_ECORRUPT, "\"sealed\"");
	/* shape: an extra key, a missing one, keys out of order */
	expect_text(f, HJ_ECORRUPT, "{\"v\":1,\"c\":\"%s\",\"n\":\"%s\",\"ct\":\"%s\",\"to\":%s,\"x\":0}", p->c,
		    p->n, p->ct, to);
	expect_text(f, HJ_ECORRUPT, "{\"v\":1,\"c\":\"%s\",\"n\":\"%s\",\"to\":%s}", p->c, p->n, to);
	expect_text(f, HJ_ECORRUPT, "{\"v\":1,\"n\":\"%s\",\"c\":\"%s\",\"ct\":\"%s\",\"to\":%s}", p->n, p->c,
		    p->ct, to);
	/* hex: truncated, odd, too long, upper case, not hex, not a string */
	expect_text(f, HJ_ECORRUPT, OBJ, 1, p->c + 1, p->n, p->ct, to);
	expect_text(f, HJ_ECORRUPT, OBJ, 1, p->c + 2, p->n, p->ct, to);
	expect_text(f, HJ_ECORRUPT, OBJ, 1, p->c, p->n + 2, p->ct, to);
	expect_text(f, HJ_ECORRUPT, OBJ, 1, p->c, p->n, p->ct + 1, to);
	snprintf(big, sizeof big, "%s00", p->c);
	expect_text(f, HJ_ECORRUPT, OBJ, 1, big, p->n, p->ct, to);
	snprintf(big, sizeof big, "%s", p->c);
	big[10] = 'G';
	expect_text(f, HJ_ECORRUPT, OBJ, 1, big, p->n, p->ct, to);
	big[10] = 'F';
	expect_text(f, HJ_ECORRUPT, OBJ, 1, big, p->n, p->ct, to);
	expect_text(f, HJ_ECORRUPT, "{\"v\":1,\"c\":7,\"n\":\"%s\",\"ct\":\"%s\",\"to\":%s}", p->n, p->ct, to);
	/* ciphertext: shorter than its tag, empty, over the bound */
	expect_text(f, HJ_ECORRUPT, OBJ, 1, p->c, p->n, p->ct + strlen(p->ct) - 30, to);
	expect_text(f, HJ_ECORRUPT, OBJ, 1, p->c, p->n, "", to);
	expect_text(f, 0, OBJ, 1, p->c, p->n, p->ct + strlen(p->ct) - 32, to); /* the tag alone decodes */
	size_t over = 2 * (HJ_SEAL_PLAIN_MAX + HJ_SEAL_ABYTES) + 2;
	memset(big, 'a', over);
	big[over] = '\0';
	expect_text(f, HJ_ECORRUPT, OBJ, 1, p->c, p->n, big, to);
	big[over - 2] = '\0'; /* exactly the bound decodes */
	expect_text(f, 0, OBJ, 1, p->c, p->n, big, to);
	free(p);
}

/* Recipient lists: empty, too many, repeated, out of order, bad ids and wraps. */
static void test_malformed_to(void **state)
{
	fx *f = *state;
	char c[65], n[49], ct[2 * 512 + 1], w[161], *to = malloc(8192);
	assert_non_null(to);
	hj_hex_encode(c, f->s.commit, 32);
	hj_hex_encode(n, f->s.nonce, 24);
	hj_hex_encode(ct, f->s.ct, f->s.ctlen);
	hj_hex_encode(w, f->s.to[0].wrap, 80);
	/* 32 recipients decode; 33 do not */
	size_t off = 0;
	to[off++] = '[';
	for (int i = 0; i < 33; i++) {
		if (i == 32) {
			to[off - 1] = ']';
			to[off] = '\0';
			expect_text(f, 0, OBJ, 1, c, n, ct, to);
			to[off - 1] = ',';
		}
		off += (size_t)snprintf(to + off, 8192 - off, "[\"r%02d\",\"%s\"],", i, w);
	}
	to[off - 1] = ']';
	to[off] = '\0';
	expect_text(f, HJ_ECORRUPT, OBJ, 1, c, n, ct, to);
	assert_non_null(strstr(hj_error_last(), "33 recipients"));
	expect_text(f, HJ_ECORRUPT, OBJ, 1, c, n, ct, "[]");
	expect_text(f, HJ_ECORRUPT, OBJ, 1, c, n, ct, "{}");
	/* repeated, unsorted */
	snprintf(to, 8192, "[[\"hub\",\"%s\"],[\"hub\",\"%s\"]]", w, w);
	expect_text(f, HJ_ECORRUPT, OBJ, 1, c, n, ct, to);
	assert_non_null(strstr(hj_error_last(), "twice"));
	snprintf(to, 8192, "[[\"hub\",\"%s\"],[\"audit\",\"%s\"]]", w, w);
	expect_text(f, HJ_ECORRUPT, OBJ, 1, c, n, ct, to);
	assert_non_null(strstr(hj_error_last(), "order"));
	/* bytewise order: "Z" < "a" */
	snprintf(to, 8192, "[[\"Z\",\"%s\"],[\"a\",\"%s\"]]", w, w);
	expect_text(f, 0, OBJ, 1, c, n, ct, to);
	/* bad ids */
	static const char *const bad_ids[] = {"\"\"", "\"a b\"", "\"caf\xc3\xa9\"", "\"tab\\t\"", "7", "null",
		"\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\""};
	for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
		snprintf(to, 8192, "[[%s,\"%s\"]]", bad_ids[i], w);
		expect_text(f, HJ_ECORRUPT, OBJ, 1, c, n, ct, to);
	}
	/* bad pairs and wraps */
	snprintf(to, 8192, "[[\"hub\",\"%s\",1]]", w);
	expect_text(f, HJ_ECORRUPT, OBJ, 1, c, n, ct, to);
	expect_text(f, HJ_ECORRUPT, OBJ, 1, c, n, ct, "[[\"hub\"]]");
	expect_text(f, HJ_ECORRUPT, OBJ, 1, c, n, ct, "[\"hub\"]");
	snprintf(to, 8192, "[[\"hub\",\"%s\"]]", w + 1);
	expect_text(f, HJ_ECORRUPT, OBJ, 1, c, n, ct, to);
	snprintf(to, 8192, "[[\"hub\",\"%s\"]]", w + 2);
	expect_text(f, HJ_ECORRUPT, OBJ, 1, c, n, ct, to);
	snprintf(to, 8192, "[[\"hub\",\"%s00\"]]", w);
	expect_text(f, HJ_ECORRUPT, OBJ, 1, c, n, ct, to);
	snprintf(to, 8192, "[[\"hub\",80]]");
	expect_text(f, HJ_ECORRUPT, OBJ, 1, c, n, ct, to);
	/* NULLs */
	hj_sealed s;
	assert_int_equal(hj_sealed_decode(&s, NULL), HJ_EINVALID);
	assert_int_equal(hj_sealed_parse(NULL, "{}", 2), HJ_EINVALID);
	free(to);
}

/* Every prefix, and random byte changes, of a valid text: refused or, if it
 * still decodes, it opens to the same plaintext or not at all. */
static void test_mutations(void **state)
{
	fx *f = *state;
	const char *text = (const char *)f->text.data;
	size_t len = f->text.len;
	char *m = malloc(len);
	uint32_t seed = 12345;
	assert_non_null(m);
	for (size_t k = 0; k < len; k++)
		assert_true(parse_exact(f, text, k) < 0);
	for (int i = 0; i < 3000; i++) {
		hj_sealed s;
		memcpy(m, text, len);
		for (int j = 0; j < 1 + i % 3; j++) {
			seed = seed * 1103515245u + 12345u;
			m[(seed >> 8) % len] = (char)(seed >> 20);
		}
		char *copy = malloc(len);
		assert_non_null(copy);
		memcpy(copy, m, len);
		int rc = hj_sealed_parse(&s, copy, len);
		free(copy);
		if (rc) {
			no_leak(f);
			continue;
		}
		hj_buf out = HJ_BUF_INIT;
		rc = hj_unseal(&out, &s, "hub", f->hub.pk, f->hub.sk);
		if (rc == 0) {
			assert_int_equal(out.len, f->len);
			assert_memory_equal(out.data, f->plain, f->len);
		} else {
			assert_true(rc == HJ_EBADSIG || rc == HJ_ENOTFOUND);
			no_leak(f);
		}
		hj_buf_free(&out);
	}
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_node_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tamper, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_golden, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rewrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_canonical, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seal_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_to, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mutations, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
