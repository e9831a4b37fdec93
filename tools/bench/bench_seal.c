/*
 * bench_seal.c — section 9: sealing a person's fields (node/seal.c) beside
 * raw crypto_box_seal / crypto_box_seal_open of the same plaintext, in the
 * same rounds, and the bytes sealing adds.
 *
 * hj_seal costs one crypto_box_seal per recipient (each an ephemeral X25519
 * key pair and one shared secret) plus one AEAD, one keyed BLAKE2b and the
 * JSON text; hj_unseal one crypto_box_seal_open plus the AEAD and the
 * BLAKE2b. So ~0.5x raw box_seal with two recipients, ~0.25x with four, and
 * ~1x raw open are what no overhead looks like.
 */
#define _XOPEN_SOURCE 700 /* nftw, in bench.h */

#include "bench.h"
#include "seal.h"

enum { SK_BOX, SK_SEAL2, SK_SEAL4, SK_OPEN, SK_UNSEAL, SK_PARSE_UNSEAL, SK_REWRAP, SK_N };

typedef struct seal_fx {
	char plain[256];
	size_t len;
	uint8_t pk[4][32], sk[4][32]; /* hub, audit, two counties (X25519) */
	hj_seal_to to[4];
	uint8_t box[256 + crypto_box_SEALBYTES];
	uint8_t m[256];
	hj_buf text2, text4, out;
	hj_sealed s;    /* text2 decoded */
	hj_sealed tmp;  /* parse target */
	char wrap[HJ_SEAL_WRAP_HEX + 1];
} seal_fx;

static int seal_fx_init(seal_fx *f)
{
	static const char *const ids[4] = {"hub", "audit", "630103-county", "630104-county"};
	char idno[19];
	int rc = hj_idnum_make(idno, BENCH_REGION, 1990, 5, 17, 42);
	if (rc)
		return rc;
	/* a typical application's fields (fake person) */
	f->len = (size_t)snprintf(f->plain, sizeof f->plain,
				  "{\"name\":\"测试人甲\",\"id_number\":\"%s\",\"phone\":\"13900001234\","
				  "\"plate\":\"青A12345\"}",
				  idno);
	for (int i = 0; i < 4 && !rc; i++) {
		uint8_t ed_pk[32], ed_sk[64];
		if (i == 1) { /* the audit committee's own X25519 pair */
			rc = hj_seal_keypair(f->pk[i], f->sk[i]);
		} else if (crypto_sign_keypair(ed_pk, ed_sk) != 0) {
			rc = hj_error_set(HJ_ERROR, "crypto_sign_keypair failed");
		} else if (!(rc = hj_seal_pk_from_node(f->pk[i], ed_pk))) {
			rc = hj_seal_sk_from_node(f->sk[i], ed_sk);
		}
		sodium_memzero(ed_sk, sizeof ed_sk);
		f->to[i].id = ids[i];
		memcpy(f->to[i].pk, f->pk[i], 32);
	}
	if (rc || (rc = hj_seal(&f->text2, (const uint8_t *)f->plain, f->len, f->to, 2)) ||
	    (rc = hj_seal(&f->text4, (const uint8_t *)f->plain, f->len, f->to, 4)))
		return rc;
	if (crypto_box_seal(f->box, (const uint8_t *)f->plain, f->len, f->pk[0]) != 0)
		return hj_error_set(HJ_ERROR, "crypto_box_seal failed");
	return hj_sealed_parse(&f->s, (const char *)f->text2.data, f->text2.len);
}

/* `iters` of one kind; *rate = iterations per second. */
static int seal_run(seal_fx *f, int kind, int iters, double *rate)
{
	const uint8_t *p = (const uint8_t *)f->plain;
	int rc = 0;
	double t0 = now_s();
	for (int i = 0; i < iters && !rc; i++) {
		hj_buf_reset(&f->out);
		switch (kind) {
		case SK_BOX:
			rc = crypto_box_seal(f->box, p, f->len, f->pk[0]);
			break;
		case SK_SEAL2:
		case SK_SEAL4:
			rc = hj_seal(&f->out, p, f->len, f->to, kind == SK_SEAL2 ? 2 : 4);
			break;
		case SK_OPEN:
			rc = crypto_box_seal_open(f->m, f->box, f->len + crypto_box_SEALBYTES, f->pk[0], f->sk[0]);
			break;
		case SK_UNSEAL:
			rc = hj_unseal(&f->out, &f->s, "hub", f->pk[0], f->sk[0]);
			break;
		case SK_PARSE_UNSEAL:
			if (!(rc = hj_sealed_parse(&f->tmp, (const char *)f->text2.data, f->text2.len)))
				rc = hj_unseal(&f->out, &f->tmp, "hub", f->pk[0], f->sk[0]);
			break;
		case SK_REWRAP:
			rc = hj_seal_rewrap(f->wrap, &f->s, "hub", f->pk[0], f->sk[0], f->pk[2]);
			break;
		}
	}
	*rate = iters / (now_s() - t0);
	return rc ? hj_error_set(HJ_ERROR, "seal loop %d failed: %s", kind, hj_error_last()) : 0;
}

/* Bytes of text after deflate level 6, as an envelope would carry it. */
static size_t deflated(const hj_buf *text)
{
	uLongf n = compressBound((uLong)text->len);
	uint8_t *z = malloc(n);
	if (!z || compress2(z, &n, text->data, (uLong)text->len, 6) != Z_OK)
		n = 0;
	free(z);
	return (size_t)n;
}

static void seal_print(const seal_fx *f, int iters, double rate[SK_N][ROUNDS])
{
	char r[80];
	printf("\n9. sealed personal fields per second (one fake person's fields, %zu B; hub = a node key converted\n"
	       "   from Ed25519, audit = its own X25519 key); ratio: to raw libsodium in the same rounds\n",
	       f->len);
	print_cols("per s");
	print_row("raw crypto_box_seal (same plaintext)", iters, rate[SK_BOX], "(baseline)");
	snprintf(r, sizeof r, "%.2fx raw box_seal", paired_ratio(rate[SK_SEAL2], rate[SK_BOX]));
	print_row("hj_seal, 2 recipients (hub + audit)", iters, rate[SK_SEAL2], r);
	snprintf(r, sizeof r, "%.2fx raw box_seal", paired_ratio(rate[SK_SEAL4], rate[SK_BOX]));
	print_row("hj_seal, 4 recipients", iters, rate[SK_SEAL4], r);
	print_row("raw crypto_box_seal_open", iters, rate[SK_OPEN], "(baseline)");
	snprintf(r, sizeof r, "%.2fx raw open", paired_ratio(rate[SK_UNSEAL], rate[SK_OPEN]));
	print_row("hj_unseal (decoded object)", iters, rate[SK_UNSEAL], r);
	snprintf(r, sizeof r, "%.2fx raw open", paired_ratio(rate[SK_PARSE_UNSEAL], rate[SK_OPEN]));
	print_row("hj_sealed_parse + hj_unseal (from text)", iters, rate[SK_PARSE_UNSEAL], r);
	snprintf(r, sizeof r, "%.2fx raw open", paired_ratio(rate[SK_REWRAP], rate[SK_OPEN]));
	print_row("hj_seal_rewrap (open + one new wrap)", iters, rate[SK_REWRAP], r);
	/* what the parts predict: n wraps + the rest; rewrap = open + wrap */
	double pred[ROUNDS];
	for (int i = 0; i < ROUNDS; i++)
		pred[i] = 1.0 / (1.0 / rate[SK_OPEN][i] + 1.0 / rate[SK_BOX][i]);
	print_ratio("  rewrap vs raw open + raw box_seal", paired_ratio(rate[SK_REWRAP], pred),
		    "(1.00 = no overhead beyond the parts)");
	size_t box = f->len + crypto_box_SEALBYTES;
	printf("  bytes: plaintext %zu; raw crypto_box_seal %zu (%.2fx); sealed JSON, 2 recipients %zu (%.2fx),\n"
	       "         4 recipients %zu (%.2fx); deflated as in an envelope: %zu (%.2fx) and %zu (%.2fx)\n",
	       f->len, box, (double)box / (double)f->len, f->text2.len, (double)f->text2.len / (double)f->len,
	       f->text4.len, (double)f->text4.len / (double)f->len, deflated(&f->text2),
	       (double)deflated(&f->text2) / (double)f->len, deflated(&f->text4),
	       (double)deflated(&f->text4) / (double)f->len);
}

int bench_seal(const sizes *z)
{
	static const int order[SK_N] = {SK_BOX, SK_SEAL2, SK_SEAL4, SK_OPEN, SK_UNSEAL, SK_PARSE_UNSEAL, SK_REWRAP};
	double rate[SK_N][ROUNDS];
	int iters = z->crypto / 10 > 0 ? z->crypto / 10 : 1;
	seal_fx *f = calloc(1, sizeof *f);
	int rc = f ? seal_fx_init(f) : hj_error_set(HJ_ENOMEM, "out of memory");

	/* the rounds interleave every kind, so noise hits both sides */
	for (int i = 0; !rc && i < ROUNDS; i++)
		for (int k = 0; !rc && k < SK_N; k++)
			rc = seal_run(f, order[k], iters, &rate[order[k]][i]);
	if (!rc)
		seal_print(f, iters, rate);
	if (f) {
		hj_buf_free(&f->text2);
		hj_buf_free(&f->text4);
		hj_buf_free(&f->out);
		sodium_memzero(f, sizeof *f);
		free(f);
	}
	return rc;
}
