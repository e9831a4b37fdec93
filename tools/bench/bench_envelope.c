/*
 * bench_envelope.c — section 2: envelope encode / verify / decode per
 * second beside raw libsodium and zlib.
 */
#define _XOPEN_SOURCE 700 /* nftw */

#include "bench.h"

/* ---- 2. envelope sign/verify per second --------------------------------- */

enum { CK_SIGN, CK_VERIFY, CK_DEFLATE, CK_ENCODE, CK_EVERIFY, CK_EDECODE, CK_N };

typedef struct crypto_fx {
	const uint8_t *payload; /* one member.apply payload {"v":1,"ops":[op]} */
	size_t len;
	const uint8_t *pk, *sk;
	uint8_t sig[64];  /* raw signature over payload */
	hj_buf env;       /* its envelope, for verify/decode */
	hj_buf scratch;   /* encode output */
	z_stream z;       /* reused, as envelope.c does */
	int z_ready;
	uint8_t *zout;
	size_t zcap;
} crypto_fx;

/* `iters` of one kind; *rate = iterations per second. */
static int crypto_run(crypto_fx *f, int kind, int iters, double *rate)
{
	hj_envelope e;
	int rc = 0;
	double t0 = now_s();
	for (int i = 0; i < iters && !rc; i++) {
		switch (kind) {
		case CK_SIGN:
			rc = crypto_sign_detached(f->sig, NULL, f->payload, f->len, f->sk);
			break;
		case CK_VERIFY:
			rc = crypto_sign_verify_detached(f->sig, f->payload, f->len, f->pk);
			break;
		case CK_DEFLATE:
			f->z.next_in = (Bytef *)(uintptr_t)f->payload;
			f->z.avail_in = (uInt)f->len;
			f->z.next_out = f->zout;
			f->z.avail_out = (uInt)f->zcap;
			rc = deflate(&f->z, Z_FINISH) == Z_STREAM_END ? deflateReset(&f->z) : -1;
			break;
		case CK_ENCODE:
			hj_buf_reset(&f->scratch);
			rc = hj_envelope_encode(&f->scratch, BENCH_NODE, 1, (const uint8_t[32]){0}, 0, f->payload,
						f->len, f->pk, f->sk);
			break;
		case CK_EVERIFY:
			rc = hj_envelope_verify(f->env.data, f->env.len, f->pk);
			break;
		case CK_EDECODE:
			if (!(rc = hj_envelope_verify(f->env.data, f->env.len, f->pk)) &&
			    !(rc = hj_envelope_decode(&e, f->env.data, f->env.len)))
				hj_envelope_free(&e);
			break;
		}
	}
	*rate = iters / (now_s() - t0);
	return rc ? hj_error_set(HJ_ERROR, "crypto loop %d failed: %s", kind, hj_error_last()) : 0;
}

static int crypto_fx_init(crypto_fx *f, bench *b, hj_buf *payload)
{
	hj_json *ops = hj_json_new(HJ_JARR), *op[1];
	int rc = ops ? ops_build(b, b->node, op, 1) : hj_error_set(HJ_ENOMEM, "out of memory");
	if (rc || (rc = hj_json_append(ops, op[0])) || (rc = hj_payload_encode(payload, ops))) {
		hj_json_free(ops);
		return rc;
	}
	hj_json_free(ops);
	f->payload = payload->data;
	f->len = payload->len;
	f->pk = b->node->pk;
	f->sk = b->node->sk;
	if (deflateInit(&f->z, 6) != Z_OK)
		return hj_error_set(HJ_ENOMEM, "deflateInit failed");
	f->z_ready = 1;
	f->zcap = deflateBound(&f->z, (uLong)f->len);
	if (!(f->zout = malloc(f->zcap)))
		return hj_error_set(HJ_ENOMEM, "out of memory");
	if (crypto_sign_detached(f->sig, NULL, f->payload, f->len, f->sk))
		return hj_error_set(HJ_ERROR, "crypto_sign_detached failed");
	return hj_envelope_encode(&f->env, BENCH_NODE, 1, (const uint8_t[32]){0}, 0, f->payload, f->len, f->pk,
				  f->sk);
}

static void crypto_fx_free(crypto_fx *f)
{
	if (f->z_ready)
		deflateEnd(&f->z);
	free(f->zout);
	hj_buf_free(&f->env);
	hj_buf_free(&f->scratch);
}

int bench_crypto(bench *b, const sizes *z)
{
	static const int order[CK_N] = {CK_SIGN, CK_ENCODE, CK_VERIFY, CK_EVERIFY, CK_EDECODE, CK_DEFLATE};
	double rate[CK_N][ROUNDS];
	crypto_fx f = {0};
	hj_buf payload = HJ_BUF_INIT;
	char r[80];
	int rc = crypto_fx_init(&f, b, &payload);

	for (int i = 0; !rc && i < ROUNDS; i++)
		for (int k = 0; !rc && k < CK_N; k++)
			rc = crypto_run(&f, order[k], z->crypto, &rate[order[k]][i]);
	if (rc)
		goto done;
	printf("\n2. change-set envelopes per second (1 member.apply: payload %zu B, envelope %zu B)\n",
	       payload.len, f.env.len);
	print_cols("per s");
	print_row("raw crypto_sign_detached (payload bytes)", z->crypto, rate[CK_SIGN], "(baseline)");
	snprintf(r, sizeof r, "%.2fx raw sign", paired_ratio(rate[CK_ENCODE], rate[CK_SIGN]));
	print_row("hj_envelope_encode (deflate+sign+check)", z->crypto, rate[CK_ENCODE], r);
	print_row("raw crypto_sign_verify_detached", z->crypto, rate[CK_VERIFY], "(baseline)");
	snprintf(r, sizeof r, "%.2fx raw verify", paired_ratio(rate[CK_EVERIFY], rate[CK_VERIFY]));
	print_row("hj_envelope_verify", z->crypto, rate[CK_EVERIFY], r);
	snprintf(r, sizeof r, "%.2fx raw verify", paired_ratio(rate[CK_EDECODE], rate[CK_VERIFY]));
	print_row("hj_envelope_verify + decode (inflate)", z->crypto, rate[CK_EDECODE], r);
	print_row("raw deflate level 6, reused z_stream", z->crypto, rate[CK_DEFLATE], "(for reference)");
	/* The encoder deflates, signs, then verifies its own signature: what the
	 * raw parts predict for that, so a ratio far from 1 can be read. */
	double pred[ROUNDS];
	for (int i = 0; i < ROUNDS; i++)
		pred[i] = 1.0 / (1.0 / rate[CK_SIGN][i] + 1.0 / rate[CK_VERIFY][i] + 1.0 / rate[CK_DEFLATE][i]);
	print_ratio("  encode vs deflate+sign+verify of raw parts", paired_ratio(rate[CK_ENCODE], pred),
		    "(1.00 = no overhead beyond the parts)");
done:
	crypto_fx_free(&f);
	hj_buf_free(&payload);
	return rc;
}

