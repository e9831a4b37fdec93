/*
 * fuzz_envelope.c — fuzz target for hj_envelope_decode and hj_envelope_verify.
 *
 * LLVMFuzzerTestOneInput feeds any bytes to decode and verify (fixed key) and
 * checks the invariants that must hold for every input: a known error code,
 * no payload left on failure, a bounded NUL-terminated payload on success.
 * Built with -DHJ_FUZZ_MAIN it also has a main() that replays the files on
 * argv, or with no arguments runs 20000 seeded mutations of valid envelopes
 * (some re-signed, so the mutations reach inflate), so it runs as a plain
 * test; `--write-corpus DIR` writes the seed corpus.
 */
#include <sodium.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "envelope.h"
#include "error.h"

static uint8_t fz_pk[32], fz_sk[64];
static int fz_ready;

/* A fixed key, so corpus files signed by it reach the signature check. */
static void fz_init(void)
{
	uint8_t seed[32];
	if (fz_ready)
		return;
	if (sodium_init() < 0)
		abort();
	memset(seed, 0x5a, sizeof seed);
	crypto_sign_seed_keypair(fz_pk, fz_sk, seed);
	fz_ready = 1;
}

static int known_code(int rc)
{
	return rc == 0 || rc == HJ_ECORRUPT || rc == HJ_EVERSION ||
	       rc == HJ_ETOOBIG || rc == HJ_EBADSIG || rc == HJ_ENOMEM;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hj_envelope e;
	fz_init();
	int dr = hj_envelope_decode(&e, data, size);
	if (!known_code(dr) || dr == HJ_EBADSIG)
		abort();
	if (dr == 0) {
		if (!e.payload || e.payload_len > HJ_PAYLOAD_MAX_BYTES ||
		    e.payload[e.payload_len] != 0 || e.seq == 0 ||
		    hj_node_id_check(e.node) != 0)
			abort();
		hj_envelope_free(&e);
	} else if (e.payload || e.payload_len) {
		abort();
	}
	int vr = hj_envelope_verify(data, size, fz_pk);
	if (!known_code(vr))
		abort();
	/* Both walk the same structure: structural verdicts must agree. */
	if (vr != HJ_EBADSIG && vr != 0 && dr == 0)
		abort();
	return 0;
}

#ifdef HJ_FUZZ_MAIN

/* xorshift64*: deterministic across libcs, unlike rand(). */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static const char fz_json[] =
	"{\"ops\":[{\"op\":\"member.add\",\"id\":\"m-1\",\"union\":\"u-1\"},"
	"{\"op\":\"member.move\",\"id\":\"m-1\",\"to\":\"u-2\"}]}";

/* The seed envelopes: compressed, raw, seq > 1 with prev, empty payload. */
static int fz_seeds(hj_buf seeds[4])
{
	uint8_t prev[32], noise[96];
	int rc = 0;
	for (int i = 0; i < 32; i++)
		prev[i] = (uint8_t)(0xa0 + i);
	for (size_t i = 0; i < sizeof noise; i++)
		noise[i] = (uint8_t)rng();
	if ((rc = hj_envelope_encode(&seeds[0], "county-07", 1, NULL, 1700000000000,
				     fz_json, sizeof fz_json - 1, fz_pk, fz_sk)) ||
	    (rc = hj_envelope_encode(&seeds[1], "n1", 1, NULL, 0, noise,
				     sizeof noise, fz_pk, fz_sk)) ||
	    (rc = hj_envelope_encode(&seeds[2], "hub.main_2", 9, prev, -1,
				     fz_json, sizeof fz_json - 1, fz_pk, fz_sk)) ||
	    (rc = hj_envelope_encode(&seeds[3], "a", 1, NULL, 0, NULL, 0, fz_pk,
				     fz_sk)))
		fprintf(stderr, "fuzz: seed: %s\n", hj_error_last());
	return rc;
}

static int write_corpus(const char *dir)
{
	static const char *names[4] = {"deflated.bin", "raw.bin", "chained.bin",
				       "empty.bin"};
	hj_buf seeds[4] = {HJ_BUF_INIT, HJ_BUF_INIT, HJ_BUF_INIT, HJ_BUF_INIT};
	int rc = fz_seeds(seeds);
	for (int i = 0; i < 4 && rc == 0; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		FILE *f = fopen(path, "wb");
		if (!f || fwrite(seeds[i].data, 1, seeds[i].len, f) != seeds[i].len) {
			perror(path);
			rc = 1;
		}
		if (f && fclose(f) != 0)
			rc = 1;
	}
	for (int i = 0; i < 4; i++)
		hj_buf_free(&seeds[i]);
	return rc ? 1 : 0;
}

static int replay(const char *path)
{
	FILE *f = fopen(path, "rb");
	hj_buf b = HJ_BUF_INIT;
	uint8_t chunk[65536];
	size_t n;
	if (!f) {
		perror(path);
		return 1;
	}
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		hj_buf_put(&b, chunk, n);
	fclose(f);
	if (b.rc) {
		hj_buf_free(&b);
		return 1;
	}
	/* Exact-size copy so ASan catches a read one past the end. */
	uint8_t *exact = malloc(b.len ? b.len : 1);
	if (!exact)
		abort();
	if (b.len)
		memcpy(exact, b.data, b.len);
	LLVMFuzzerTestOneInput(exact, b.len);
	free(exact);
	hj_buf_free(&b);
	return 0;
}

/* Mutate `b` in place: flips, random bytes, truncation, insertion,
 * duplication, and interesting integers at random offsets. */
static void mutate(hj_buf *b)
{
	int rounds = 1 + (int)(rng() % 4);
	for (int r = 0; r < rounds && b->len; r++) {
		size_t at = (size_t)(rng() % b->len);
		switch (rng() % 7) {
		case 0:
			b->data[at] ^= (uint8_t)(1u << (rng() % 8));
			break;
		case 1:
			b->data[at] = (uint8_t)rng();
			break;
		case 2:
			b->len = at;
			break;
		case 3: {
			uint8_t x = (uint8_t)rng();
			hj_buf_put_u8(b, 0);
			memmove(b->data + at + 1, b->data + at, b->len - at - 1);
			b->data[at] = x;
			break;
		}
		case 4: {
			size_t n = (size_t)(rng() % 16);
			if (n > b->len - at)
				n = b->len - at;
			hj_buf_grow(b, n);
			if (!b->rc) {
				memcpy(b->data + b->len, b->data + at, n);
				b->len += n;
			}
			break;
		}
		case 5: {
			static const uint32_t vals[] = {0, 1, 0x7f, 0xff, 0xffff,
							0x7fffffff, 0xffffffff,
							HJ_PAYLOAD_MAX_BYTES};
			uint32_t v = vals[rng() % (sizeof vals / sizeof *vals)];
			for (size_t i = 0; i < 4 && at + i < b->len; i++)
				b->data[at + i] = (uint8_t)(v >> (8 * i));
			break;
		}
		default: /* Hit the header fields more often than payload. */
			b->data[rng() % (b->len < 80 ? b->len : 80)] = (uint8_t)rng();
			break;
		}
	}
}

/* Re-sign a mutant whose structure still parses, so inflate and deep checks
 * see signed hostile input too. */
static void resign(hj_buf *b)
{
	if (b->len < 64)
		return;
	crypto_sign_detached(b->data + b->len - 64, NULL, b->data, b->len - 64,
			     fz_sk);
}

int main(int argc, char **argv)
{
	fz_init();
	if (argc == 3 && strcmp(argv[1], "--write-corpus") == 0)
		return write_corpus(argv[2]);
	if (argc > 1) {
		int bad = 0;
		for (int i = 1; i < argc; i++)
			bad |= replay(argv[i]);
		printf("fuzz_envelope: replayed %d file(s)\n", argc - 1);
		hj_envelope_thread_cleanup();
		return bad;
	}

	hj_buf seeds[4] = {HJ_BUF_INIT, HJ_BUF_INIT, HJ_BUF_INIT, HJ_BUF_INIT};
	hj_buf m = HJ_BUF_INIT;
	int rc = fz_seeds(seeds);
	for (int i = 0; i < 4 && rc == 0; i++)
		if (hj_envelope_verify(seeds[i].data, seeds[i].len, fz_pk) != 0) {
			fprintf(stderr, "fuzz: seed %d: %s\n", i, hj_error_last());
			rc = 1;
		}
	long accepted = 0;
	for (int iter = 0; iter < 20000 && rc == 0; iter++) {
		const hj_buf *s = &seeds[rng() % 4];
		hj_buf_reset(&m);
		hj_buf_put(&m, s->data, s->len);
		mutate(&m);
		if (rng() % 3 == 0)
			resign(&m);
		if (m.rc)
			abort();
		uint8_t *exact = malloc(m.len ? m.len : 1);
		if (!exact)
			abort();
		if (m.len)
			memcpy(exact, m.data, m.len);
		LLVMFuzzerTestOneInput(exact, m.len);
		hj_envelope e;
		if (hj_envelope_decode(&e, exact, m.len) == 0) {
			accepted++;
			hj_envelope_free(&e);
		}
		free(exact);
	}
	printf("fuzz_envelope: 20000 mutations, %ld decoded, no crash\n", accepted);
	for (int i = 0; i < 4; i++)
		hj_buf_free(&seeds[i]);
	hj_buf_free(&m);
	hj_envelope_thread_cleanup();
	return rc ? 1 : 0;
}
#endif
