/*
 * seal.c — sealed personal fields (seal.h): seal once, wrap the key to each
 * recipient, commit to the plaintext; decode strictly; open, re-wrap.
 * Used by the ops that carry a person's fields off the node, by the hub
 * (which opens them for the real-name checks and re-wraps them to the node
 * a transfer delivers to) and by an auditor holding the audit key.
 *
 * FORMAT (version 1). A JSON object, keys in exactly this order, binary as
 * lower-case hex, written compact by json_write.c:
 *
 *   {"v":1,"c":"<64 hex>","n":"<48 hex>","ct":"<hex>","to":[["<id>","<160 hex>"],...]}
 *
 *   k   a fresh random 32-byte data key per sealed object (never stored).
 *   c   commitment = BLAKE2b-256 keyed with k (crypto_generichash, 32-byte
 *       key) over "huiji-seal-v1\0" (14 bytes, the NUL included) || plain.
 *   n   24-byte random nonce.
 *   ct  crypto_aead_xchacha20poly1305_ietf_encrypt(plain, key k, nonce n,
 *       ad = "huiji-seal-v1" (13 bytes) || c (32 bytes)): len(plain) + 16
 *       bytes, plain at most HJ_SEAL_PLAIN_MAX = 4096 bytes (opaque here;
 *       the ops put a person's fields as JSON text in it).
 *   to  1..32 pairs [recipient id, crypto_box_seal(k, recipient's X25519
 *       public key)] (80 bytes each), strictly increasing by id (bytewise),
 *       so one set of recipients has one encoding. An id is 1..64 bytes of
 *       printable ASCII without space (0x21..0x7e): a node id, or "hub".
 *
 * Opening: find my wrap, crypto_box_seal_open it to k, decrypt ct, recompute
 * c from k and the plaintext and compare (constant time). Every failure is
 * HJ_EBADSIG and says which step, never a byte of the plaintext.
 *
 * WHY THIS SHAPE
 * - Encrypt once, wrap per recipient (issue 8): the hub, the audit
 *   committee and later a receiving node read the same ciphertext; adding
 *   a recipient (hj_seal_rewrap) costs one 80-byte wrap, no re-encryption.
 * - c goes into the signed op, so the author is bound to it. Keyed with k it
 *   hides the plaintext from whoever lacks k: an unkeyed hash of an ID
 *   number is brute-forced in minutes (~10^9 valid numbers). And it commits
 *   to k: XChaCha20-Poly1305 alone does not (a ciphertext can be made to
 *   open under two keys to two plaintexts), so a county wrapping one key to
 *   the hub and another to the auditor would otherwise show them different
 *   data. With c checked, both recipients accepting means
 *   BLAKE2b(k1, m1) = BLAKE2b(k2, m2), a collision. c in the AEAD's ad ties
 *   the ciphertext to its commitment.
 * - Node keys are the node's Ed25519 keys converted to X25519
 *   (crypto_sign_ed25519_{pk,sk}_to_curve25519, which libsodium documents
 *   for exactly this): no second key pair to distribute, enrol or rotate;
 *   the enrolled signing key already names the node's box key. Using one
 *   key pair for both is shown sound for Ed25519 with an X25519-based KEM
 *   such as crypto_box_seal (Thormarker, "On using the same key pair for
 *   Ed25519 and an X25519 based KEM", IACR ePrint 2021/509); the cost is
 *   one secret guarding both, so rotating or losing a node key does both.
 *   The audit committee's key is the same: an enrolled auditor node's
 *   (person_seal.c wraps to every one; `huiji audit --audit-key` opens
 *   with its secret key, sync/audit_key.c). hj_seal_keypair makes a plain
 *   X25519 pair for tests and the benchmark.
 * - crypto_box_seal is anonymous (no sender key): the author is named by
 *   the signature on the op, not here.
 * - Secrets (k, the plaintext held while re-wrapping) live on the stack and
 *   are wiped with sodium_memzero on every path, not in sodium_malloc: a
 *   guarded allocation per open costs more than the open (the hub opens one
 *   per application).
 */
#include "seal.h"
#include "error.h"
#include "hex.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define SEAL_TAG "huiji-seal-v1"
#define SEAL_AD_LEN (sizeof SEAL_TAG - 1 + 32)
#define SEAL_CT_MAX (HJ_SEAL_PLAIN_MAX + HJ_SEAL_ABYTES)

static int sodium_ready(void)
{
	/* idempotent and thread-safe; -1 means no usable RNG */
	if (sodium_init() < 0)
		return hj_error_set(HJ_ERROR, "libsodium failed to initialise");
	return 0;
}

/* c = BLAKE2b-256 keyed with k over "huiji-seal-v1\0" || m. */
static void commit_of(uint8_t c[32], const uint8_t k[32], const uint8_t *m, size_t len)
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, k, 32, 32);
	crypto_generichash_update(&st, (const uint8_t *)SEAL_TAG, sizeof SEAL_TAG);
	crypto_generichash_update(&st, m, len);
	crypto_generichash_final(&st, c, 32);
	sodium_memzero(&st, sizeof st);
}

static void ad_of(uint8_t ad[SEAL_AD_LEN], const uint8_t c[32])
{
	memcpy(ad, SEAL_TAG, sizeof SEAL_TAG - 1);
	memcpy(ad + sizeof SEAL_TAG - 1, c, 32);
}

/* 1..64 bytes of 0x21..0x7e in s[0..len). */
static int id_ok(const char *s, size_t len)
{
	if (len < 1 || len > HJ_SEAL_ID_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

/* ---- keys ---------------------------------------------------------------- */

int hj_seal_keypair(uint8_t pk[32], uint8_t sk[32])
{
	int rc = sodium_ready();
	if (rc)
		return rc;
	if (!pk || !sk)
		return hj_error_set(HJ_EINVALID, "seal keypair: NULL argument");
	if (crypto_box_keypair(pk, sk) != 0)
		return hj_error_set(HJ_ERROR, "seal keypair: crypto_box_keypair failed");
	return 0;
}

int hj_seal_pk_from_node(uint8_t x_pk[32], const uint8_t ed_pk[32])
{
	int rc = sodium_ready();
	if (rc)
		return rc;
	if (!x_pk || !ed_pk)
		return hj_error_set(HJ_EINVALID, "seal key: NULL argument");
	/* refuses points not on the curve and small-order points */
	if (crypto_sign_ed25519_pk_to_curve25519(x_pk, ed_pk) != 0)
		return hj_error_set(HJ_EINVALID, "seal key: the node's public key is not a usable Ed25519 key");
	return 0;
}

int hj_seal_sk_from_node(uint8_t x_sk[32], const uint8_t ed_sk[64])
{
	int rc = sodium_ready();
	if (rc)
		return rc;
	if (!x_sk || !ed_sk)
		return hj_error_set(HJ_EINVALID, "seal key: NULL argument");
	if (crypto_sign_ed25519_sk_to_curve25519(x_sk, ed_sk) != 0)
		return hj_error_set(HJ_ERROR, "seal key: crypto_sign_ed25519_sk_to_curve25519 failed");
	return 0;
}

/* ---- sealing ------------------------------------------------------------- */

/* Check the recipients and put their indices in id order in ord[nto]. */
static int recipients_order(size_t ord[HJ_SEAL_RECIPIENTS_MAX], const hj_seal_to *to, size_t nto)
{
	if (!to || nto < 1 || nto > HJ_SEAL_RECIPIENTS_MAX)
		return hj_error_set(HJ_EINVALID, "seal: %zu recipients (1..%d)", to ? nto : 0,
				    HJ_SEAL_RECIPIENTS_MAX);
	for (size_t i = 0; i < nto; i++) {
		if (!to[i].id || !id_ok(to[i].id, strnlen(to[i].id, HJ_SEAL_ID_MAX + 1)))
			return hj_error_set(HJ_EINVALID,
					    "seal: recipient %zu: an id is 1-%d printable ASCII bytes, no space", i,
					    HJ_SEAL_ID_MAX);
		/* insertion sort: at most 32 */
		size_t j = i;
		while (j > 0 && strcmp(to[ord[j - 1]].id, to[i].id) > 0) {
			ord[j] = ord[j - 1];
			j--;
		}
		ord[j] = i;
	}
	for (size_t i = 1; i < nto; i++)
		if (strcmp(to[ord[i - 1]].id, to[ord[i]].id) == 0)
			return hj_error_set(HJ_EINVALID, "seal: recipient %s named twice", to[ord[i]].id);
	return 0;
}

int hj_seal_build(hj_sealed *out, const uint8_t *plain, size_t len, const hj_seal_to *to, size_t nto)
{
	size_t ord[HJ_SEAL_RECIPIENTS_MAX];
	uint8_t k[32], ad[SEAL_AD_LEN];
	unsigned long long clen = 0;
	int rc = sodium_ready();
	if (rc)
		return rc;
	if (!out || (!plain && len))
		return hj_error_set(HJ_EINVALID, "seal: NULL argument");
	if (len > HJ_SEAL_PLAIN_MAX)
		return hj_error_set(HJ_EINVALID, "seal: %zu bytes of personal fields (at most %d)", len,
				    HJ_SEAL_PLAIN_MAX);
	if ((rc = recipients_order(ord, to, nto)))
		return rc;
	memset(out, 0, sizeof *out);
	randombytes_buf(k, sizeof k);
	randombytes_buf(out->nonce, sizeof out->nonce);
	commit_of(out->commit, k, plain ? plain : (const uint8_t *)"", len);
	ad_of(ad, out->commit);
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(out->ct, &clen, plain, len, ad, sizeof ad, NULL,
						       out->nonce, k) != 0 ||
	    clen != len + HJ_SEAL_ABYTES) {
		rc = hj_error_set(HJ_ERROR, "seal: encryption failed");
		goto done;
	}
	out->ctlen = (size_t)clen;
	for (size_t i = 0; i < nto; i++) {
		const hj_seal_to *r = &to[ord[i]];
		memcpy(out->to[i].id, r->id, strlen(r->id) + 1);
		/* fails for a low-order key (the shared secret would be zero) */
		if (crypto_box_seal(out->to[i].wrap, k, sizeof k, r->pk) != 0) {
			rc = hj_error_set(HJ_EINVALID, "seal: recipient %s: not a usable X25519 public key", r->id);
			goto done;
		}
	}
	out->nto = nto;
done:
	sodium_memzero(k, sizeof k);
	if (rc)
		sodium_memzero(out, sizeof *out);
	return rc;
}

int hj_seal(hj_buf *out, const uint8_t *plain, size_t len, const hj_seal_to *to, size_t nto)
{
	hj_sealed s;
	int rc = out ? hj_seal_build(&s, plain, len, to, nto) : hj_error_set(HJ_EINVALID, "seal: NULL argument");
	if (!rc)
		rc = hj_sealed_write(out, &s);
	return rc;
}

int hj_seal_json(hj_json **out, const uint8_t *plain, size_t len, const hj_seal_to *to, size_t nto)
{
	hj_sealed s;
	if (!out)
		return hj_error_set(HJ_EINVALID, "seal: NULL argument");
	*out = NULL;
	int rc = hj_seal_build(&s, plain, len, to, nto);
	if (!rc)
		rc = hj_sealed_json(out, &s);
	return rc;
}

/* ---- encoding ------------------------------------------------------------ */

/* Is s, built by hand or by hj_seal_build, in the canonical shape? */
static int sealed_ok(const hj_sealed *s)
{
	if (s->ctlen < HJ_SEAL_ABYTES || s->ctlen > SEAL_CT_MAX || s->nto < 1 || s->nto > HJ_SEAL_RECIPIENTS_MAX)
		return 0;
	for (size_t i = 0; i < s->nto; i++) {
		size_t n = strnlen(s->to[i].id, HJ_SEAL_ID_MAX + 1);
		if (!id_ok(s->to[i].id, n) || (i > 0 && strcmp(s->to[i - 1].id, s->to[i].id) >= 0))
			return 0;
	}
	return 1;
}

static hj_json *hex_str(const uint8_t *bin, size_t n)
{
	char hex[2 * SEAL_CT_MAX + 1];
	hj_hex_encode(hex, bin, n);
	return hj_json_strn(hex, 2 * n);
}

int hj_sealed_json(hj_json **out, const hj_sealed *s)
{
	hj_json *o = NULL, *to = NULL;
	int rc = 0;
	if (!out || !s)
		return hj_error_set(HJ_EINVALID, "sealed fields: NULL argument");
	*out = NULL;
	if (!sealed_ok(s))
		return hj_error_set(HJ_EINVALID, "sealed fields: not in canonical form (lengths, ids, order)");
	if (!(o = hj_json_new(HJ_JOBJ)) || !(to = hj_json_new(HJ_JARR))) {
		rc = hj_error_set(HJ_ENOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < s->nto && !rc; i++) {
		hj_json *pair = hj_json_new(HJ_JARR);
		if (!pair) {
			rc = hj_error_set(HJ_ENOMEM, "out of memory");
			break;
		}
		if ((rc = hj_json_append(pair, hj_json_str(s->to[i].id))) ||
		    (rc = hj_json_append(pair, hex_str(s->to[i].wrap, HJ_SEAL_WRAP_BYTES)))) {
			hj_json_free(pair);
			break;
		}
		rc = hj_json_append(to, pair);
	}
	if (rc || (rc = hj_json_set_int(o, "v", HJ_SEAL_VERSION)) || (rc = hj_json_set(o, "c", hex_str(s->commit, 32))) ||
	    (rc = hj_json_set(o, "n", hex_str(s->nonce, 24))) || (rc = hj_json_set(o, "ct", hex_str(s->ct, s->ctlen))))
		goto done;
	rc = hj_json_set(o, "to", to);
	to = NULL; /* owned by o now, even on failure */
done:
	hj_json_free(to);
	if (rc)
		hj_json_free(o);
	else
		*out = o;
	return rc;
}

int hj_sealed_write(hj_buf *out, const hj_sealed *s)
{
	hj_json *o = NULL;
	if (!out)
		return hj_error_set(HJ_EINVALID, "sealed fields: NULL argument");
	int rc = hj_sealed_json(&o, s);
	if (!rc)
		rc = hj_json_write(out, o);
	hj_json_free(o);
	return rc;
}

/* ---- decoding ------------------------------------------------------------ */

/* A string of exactly 2n lower-case hex digits into out[n]. */
static int hex_field(uint8_t *out, size_t n, const hj_json *v, const char *name)
{
	if (!v || v->type != HJ_JSTR || v->slen != 2 * n || hj_hex_decode_lower(out, n, v->s) != 0)
		return hj_error_set(HJ_ECORRUPT, "sealed fields: \"%s\" is not %zu lower-case hex digits", name,
				    2 * n);
	return 0;
}

static int decode_version(const hj_json *obj)
{
	const hj_json *v = hj_json_get(obj, "v");
	if (!v || v->type != HJ_JINT)
		return hj_error_set(HJ_ECORRUPT, "sealed fields: no integer version \"v\"");
	if (v->i > HJ_SEAL_VERSION)
		return hj_error_set(HJ_EVERSION,
				    "sealed fields version %lld, this huiji reads version %d: upgrade huiji to "
				    "read them",
				    (long long)v->i, HJ_SEAL_VERSION);
	if (v->i != HJ_SEAL_VERSION)
		return hj_error_set(HJ_ECORRUPT, "sealed fields: version %lld is not a version", (long long)v->i);
	return 0;
}

static int decode_to(hj_sealed *out, const hj_json *to)
{
	if (!to || to->type != HJ_JARR)
		return hj_error_set(HJ_ECORRUPT, "sealed fields: \"to\" is not an array");
	if (to->count < 1 || to->count > HJ_SEAL_RECIPIENTS_MAX)
		return hj_error_set(HJ_ECORRUPT, "sealed fields: %zu recipients (1..%d)", to->count,
				    HJ_SEAL_RECIPIENTS_MAX);
	for (size_t i = 0; i < to->count; i++) {
		const hj_json *p = to->items[i];
		if (p->type != HJ_JARR || p->count != 2 || p->items[0]->type != HJ_JSTR)
			return hj_error_set(HJ_ECORRUPT, "sealed fields: recipient %zu is not [id, wrap]", i);
		const hj_json *id = p->items[0];
		if (!id_ok(id->s, id->slen))
			return hj_error_set(HJ_ECORRUPT,
					    "sealed fields: recipient %zu: an id is 1-%d printable ASCII bytes, no space",
					    i, HJ_SEAL_ID_MAX);
		memcpy(out->to[i].id, id->s, id->slen);
		out->to[i].id[id->slen] = '\0';
		if (i > 0 && strcmp(out->to[i - 1].id, out->to[i].id) >= 0)
			return hj_error_set(HJ_ECORRUPT, "sealed fields: recipient %s %s", out->to[i].id,
					    strcmp(out->to[i - 1].id, out->to[i].id) ? "out of id order" : "named twice");
		char what[32];
		snprintf(what, sizeof what, "to[%zu] wrap", i);
		int rc = hex_field(out->to[i].wrap, HJ_SEAL_WRAP_BYTES, p->items[1], what);
		if (rc)
			return rc;
	}
	out->nto = to->count;
	return 0;
}

int hj_sealed_decode(hj_sealed *out, const hj_json *obj)
{
	static const char *const keys[] = {"v", "c", "n", "ct", "to"};
	int rc;
	if (!out || !obj)
		return hj_error_set(HJ_EINVALID, "sealed fields: NULL argument");
	if (obj->type != HJ_JOBJ)
		return hj_error_set(HJ_ECORRUPT, "sealed fields: not an object");
	if ((rc = decode_version(obj)))
		return rc;
	if (obj->count != 5)
		return hj_error_set(HJ_ECORRUPT, "sealed fields: %zu keys, expected v, c, n, ct, to", obj->count);
	for (size_t i = 0; i < 5; i++)
		if (strcmp(obj->keys[i], keys[i]) != 0)
			return hj_error_set(HJ_ECORRUPT, "sealed fields: key %zu is not \"%s\" (v, c, n, ct, to in order)",
					    i, keys[i]);
	memset(out, 0, sizeof *out);
	if ((rc = hex_field(out->commit, 32, obj->items[1], "c")) || (rc = hex_field(out->nonce, 24, obj->items[2], "n")))
		return rc;
	const hj_json *ct = obj->items[3];
	/* bound the length before decoding into the fixed buffer */
	if (ct->type != HJ_JSTR || ct->slen % 2 || ct->slen < 2 * HJ_SEAL_ABYTES || ct->slen > 2 * SEAL_CT_MAX)
		return hj_error_set(HJ_ECORRUPT, "sealed fields: \"ct\" is not %d..%d bytes of hex", HJ_SEAL_ABYTES,
				    SEAL_CT_MAX);
	if ((rc = hex_field(out->ct, ct->slen / 2, ct, "ct")))
		return rc;
	out->ctlen = ct->slen / 2;
	return decode_to(out, obj->items[4]);
}

int hj_sealed_parse(hj_sealed *out, const char *text, size_t len)
{
	hj_json *v = NULL;
	if (!out || !text)
		return hj_error_set(HJ_EINVALID, "sealed fields: NULL argument");
	int rc = hj_json_parse(&v, text, len);
	if (!rc)
		rc = hj_sealed_decode(out, v);
	hj_json_free(v);
	return rc;
}

const uint8_t *hj_sealed_wrap(const hj_sealed *s, const char *id)
{
	if (!s || !id || s->nto > HJ_SEAL_RECIPIENTS_MAX)
		return NULL;
	for (size_t i = 0; i < s->nto; i++)
		if (strncmp(s->to[i].id, id, sizeof s->to[i].id) == 0)
			return s->to[i].wrap;
	return NULL;
}

/* ---- opening ------------------------------------------------------------- */

/*
 * Open `wrap` with my pair to k, decrypt s into m (room for ctlen - 16
 * bytes) and check the commitment. k is the caller's to wipe; m is wiped
 * here on failure.
 */
static int open_core(uint8_t *m, uint8_t k[32], const hj_sealed *s, const uint8_t wrap[HJ_SEAL_WRAP_BYTES],
		     const uint8_t my_pk[32], const uint8_t my_sk[32])
{
	uint8_t ad[SEAL_AD_LEN], c[32];
	unsigned long long mlen = 0;
	size_t want = s->ctlen - HJ_SEAL_ABYTES;
	int rc = 0;
	if (crypto_box_seal_open(k, wrap, HJ_SEAL_WRAP_BYTES, my_pk, my_sk) != 0)
		return hj_error_set(HJ_EBADSIG, "sealed fields: the key wrap does not open with this key");
	ad_of(ad, s->commit);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(m, &mlen, NULL, s->ct, s->ctlen, ad, sizeof ad, s->nonce, k) !=
		    0 ||
	    mlen != want) {
		rc = hj_error_set(HJ_EBADSIG, "sealed fields: the ciphertext does not authenticate");
		goto done;
	}
	commit_of(c, k, m, want);
	if (sodium_memcmp(c, s->commit, 32) != 0)
		rc = hj_error_set(HJ_EBADSIG, "sealed fields: the plaintext does not match its commitment "
					      "(sealed to another recipient with another key)");
done:
	sodium_memzero(c, sizeof c);
	if (rc)
		sodium_memzero(m, want);
	return rc;
}

static int open_args(const hj_sealed *s, const void *a, const void *b, const void *c)
{
	int rc = sodium_ready();
	if (rc)
		return rc;
	if (!s || !a || !b || !c)
		return hj_error_set(HJ_EINVALID, "unseal: NULL argument");
	/* a hand-built struct: the lengths bound every copy below */
	if (s->ctlen < HJ_SEAL_ABYTES || s->ctlen > SEAL_CT_MAX)
		return hj_error_set(HJ_EINVALID, "unseal: ciphertext length %zu out of range", s->ctlen);
	return 0;
}

/* Open with `wrap` and append the plaintext to plain. */
static int open_into(hj_buf *plain, const hj_sealed *s, const uint8_t *wrap, const uint8_t my_pk[32],
		     const uint8_t my_sk[32])
{
	uint8_t k[32];
	size_t mlen = s->ctlen - HJ_SEAL_ABYTES;
	if (hj_buf_grow(plain, mlen))
		return hj_error_set(HJ_ENOMEM, "out of memory");
	int rc = open_core(plain->data + plain->len, k, s, wrap, my_pk, my_sk);
	sodium_memzero(k, sizeof k);
	if (!rc)
		plain->len += mlen;
	plain->data[plain->len] = '\0';
	return rc;
}

int hj_unseal(hj_buf *plain, const hj_sealed *s, const char *my_id, const uint8_t my_pk[32],
	      const uint8_t my_sk[32])
{
	int rc = open_args(s, my_id, my_pk, my_sk);
	if (rc)
		return rc;
	if (!plain)
		return hj_error_set(HJ_EINVALID, "unseal: NULL argument");
	const uint8_t *w = hj_sealed_wrap(s, my_id);
	if (!w)
		return hj_error_set(HJ_ENOTFOUND, "sealed fields: not sealed to %.*s", HJ_SEAL_ID_MAX, my_id);
	return open_into(plain, s, w, my_pk, my_sk);
}

int hj_unseal_with(hj_buf *plain, const hj_sealed *s, const char *wrap_hex, const uint8_t my_pk[32],
		   const uint8_t my_sk[32])
{
	uint8_t w[HJ_SEAL_WRAP_BYTES];
	int rc = open_args(s, wrap_hex, my_pk, my_sk);
	if (rc)
		return rc;
	if (!plain)
		return hj_error_set(HJ_EINVALID, "unseal: NULL argument");
	if (!hj_hex_is_lower(wrap_hex, HJ_SEAL_WRAP_BYTES) || hj_hex_decode_lower(w, sizeof w, wrap_hex) != 0)
		return hj_error_set(HJ_ECORRUPT, "sealed fields: a key wrap is %d lower-case hex digits",
				    HJ_SEAL_WRAP_HEX);
	return open_into(plain, s, w, my_pk, my_sk);
}

int hj_seal_rewrap(char out_hex[HJ_SEAL_WRAP_HEX + 1], const hj_sealed *s, const char *my_id,
		   const uint8_t my_pk[32], const uint8_t my_sk[32], const uint8_t to_pk[32])
{
	uint8_t k[32], m[HJ_SEAL_PLAIN_MAX], w[HJ_SEAL_WRAP_BYTES];
	int rc = open_args(s, my_id, my_pk, my_sk);
	if (rc)
		return rc;
	if (!out_hex || !to_pk)
		return hj_error_set(HJ_EINVALID, "rewrap: NULL argument");
	const uint8_t *wrap = hj_sealed_wrap(s, my_id);
	if (!wrap)
		return hj_error_set(HJ_ENOTFOUND, "sealed fields: not sealed to %.*s", HJ_SEAL_ID_MAX, my_id);
	/* open fully: never pass on a key whose commitment does not hold */
	if ((rc = open_core(m, k, s, wrap, my_pk, my_sk)))
		goto done;
	sodium_memzero(m, s->ctlen - HJ_SEAL_ABYTES);
	if (crypto_box_seal(w, k, sizeof k, to_pk) != 0) {
		rc = hj_error_set(HJ_EINVALID, "rewrap: not a usable X25519 public key");
		goto done;
	}
	hj_hex_encode(out_hex, w, sizeof w);
done:
	sodium_memzero(k, sizeof k);
	return rc;
}
