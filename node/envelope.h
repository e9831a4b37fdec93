/*
 * envelope.h — the signed, hash-chained change-set envelope (format v1).
 *
 * An envelope is the exact byte string a node signs, stores in git and sends;
 * it is never re-encoded before verifying. Decoding survives any input bytes
 * (truncation, lying lengths, bad zlib, zip bombs) with a precise HJ_ECORRUPT
 * message and bounded memory; the byte layout is documented in envelope.c.
 */
#ifndef HJ_ENVELOPE_H
#define HJ_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "hex.h" /* hashes and keys travel as hex */

#define HJ_ENVELOPE_VERSION 1
#define HJ_ENVELOPE_MAX_BYTES (16u << 20) /* whole envelope */
#define HJ_PAYLOAD_MAX_BYTES (8u << 20)   /* inflated payload cap: zip-bomb guard */
#define HJ_NODE_ID_MAX 64

typedef struct hj_envelope {
	uint8_t version, flags;
	char node[HJ_NODE_ID_MAX + 1]; /* NUL-terminated node id */
	uint64_t seq;
	uint8_t prev[32];
	int64_t created_at; /* ms since epoch, the author's clock: "now" of its own date rules (rules.h) */
	uint8_t key_id[8];
	uint8_t *payload; /* inflated payload, owned (hj_envelope_free), never
			   * NULL after a successful decode, NUL-terminated
			   * after payload_len */
	size_t payload_len;
	uint8_t sig[64];
	uint8_t hash[32]; /* BLAKE2b-256 of the envelope bytes */
} hj_envelope;

/* key id = first 8 bytes of BLAKE2b-256(pk). */
void hj_key_id(uint8_t out[8], const uint8_t pk[32]);

/* BLAKE2b-256 (crypto_generichash, no key) of `bytes`. */
void hj_hash32(uint8_t out[32], const void *bytes, size_t len);

/* 0 if `node` is a valid node id: 1..64 chars of [a-z0-9._-], first char
 * [a-z0-9]. Otherwise HJ_EINVALID with the reason recorded. */
int hj_node_id_check(const char *node);

/* Encode and sign one change set and append the envelope bytes to `out`.
 * Deflates the payload (level 6, one z_stream reused per thread, see
 * hj_envelope_thread_cleanup) and sets flag bit0; if deflate does not shrink
 * it the payload is stored raw with bit0 clear. The signature is verified
 * right after signing, so a pk that does not match sk is caught here.
 * seq must be >= 1; seq 1 needs an all-zero prev. payload_len is capped at
 * HJ_PAYLOAD_MAX_BYTES (HJ_ETOOBIG). `out` is borrowed; on failure it is
 * left as it was (its sticky rc may become HJ_ENOMEM). Calls sodium_init()
 * itself. */
int hj_envelope_encode(hj_buf *out, const char *node, uint64_t seq,
		       const uint8_t prev[32], int64_t created_at,
		       const void *payload, size_t payload_len,
		       const uint8_t pk[32], const uint8_t sk[64]);

/* Parse and inflate `bytes` WITHOUT checking the signature (call
 * hj_envelope_verify for that). Malformed input => HJ_ECORRUPT with a precise
 * message; version > 1 => HJ_EVERSION; len > HJ_ENVELOPE_MAX_BYTES =>
 * HJ_ETOOBIG; an inflated payload over HJ_PAYLOAD_MAX_BYTES => HJ_ECORRUPT
 * (memory stays bounded by the cap). `bytes` is borrowed; on success the
 * caller owns out->payload (hj_envelope_free); on failure *out is zeroed and
 * owns nothing. */
int hj_envelope_decode(hj_envelope *out, const uint8_t *bytes, size_t len);

/* The envelope's created_at, from its header alone (the payload is
 * neither inflated nor copied): what a feed commit's time is made of.
 * Structural problems as hj_envelope_decode. */
int hj_envelope_created_at(int64_t *out, const uint8_t *bytes, size_t len);

/* Check that the envelope's key id is that of `pk` (HJ_EBADSIG "signed by key
 * id X, expected Y"), then the Ed25519 signature over bytes[0 .. len-64)
 * (HJ_EBADSIG). Structural problems => HJ_ECORRUPT/HJ_EVERSION/HJ_ETOOBIG as
 * in decode; the payload is not inflated. Calls sodium_init() itself. */
int hj_envelope_verify(const uint8_t *bytes, size_t len, const uint8_t pk[32]);

/* Free the payload and zero *e. Accepts a zeroed struct and NULL. */
void hj_envelope_free(hj_envelope *e);

/* Free this thread's cached deflate/inflate streams (call before a worker
 * thread exits; harmless if none were made; the next encode/decode makes
 * them again). */
void hj_envelope_thread_cleanup(void);

#endif
