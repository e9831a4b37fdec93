/*
 * seal.h — sealed personal fields: one ciphertext of a person's fields
 * (name, ID number, phone, plate) readable only by the recipients it names
 * (the hub, the audit committee's auditor nodes, the nodes that hold the
 * record, a node the hub re-wraps it for: rewrap.h), with a
 * commitment the signed op carries so an author cannot show two recipients
 * different data. The byte format and the reasons for it are in seal.c.
 *
 * Nothing here touches the registry: the ops carry the sealed object, the
 * fold and the hub call these to open it.
 */
#ifndef HJ_SEAL_H
#define HJ_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "json.h"

#define HJ_SEAL_VERSION 1
#define HJ_SEAL_PLAIN_MAX 4096      /* bytes of plaintext (a person's fields are ~120) */
#define HJ_SEAL_RECIPIENTS_MAX 32
#define HJ_SEAL_ID_MAX 64           /* a recipient id: 1..64 printable ASCII, no space */
#define HJ_SEAL_ABYTES 16           /* the AEAD tag: ct is plaintext + 16 bytes */
#define HJ_SEAL_WRAP_BYTES 80       /* crypto_box_seal of the 32-byte data key */
#define HJ_SEAL_WRAP_HEX (2 * HJ_SEAL_WRAP_BYTES)

/* A recipient to seal to: its id and its X25519 public key. */
typedef struct hj_seal_to {
	const char *id;
	uint8_t pk[32];
} hj_seal_to;

/*
 * A sealed object, decoded and strictly validated (hj_sealed_decode), or
 * built by hj_seal_build. Self-contained: it holds copies, allocates
 * nothing, needs no free (about 9 KiB: keep it off hot loops' stacks if
 * that matters). `to` is sorted by id, ids unique.
 */
typedef struct hj_sealed {
	uint8_t commit[32];
	uint8_t nonce[24];
	size_t ctlen; /* HJ_SEAL_ABYTES .. HJ_SEAL_PLAIN_MAX + HJ_SEAL_ABYTES */
	uint8_t ct[HJ_SEAL_PLAIN_MAX + HJ_SEAL_ABYTES];
	size_t nto;   /* 1 .. HJ_SEAL_RECIPIENTS_MAX */
	struct {
		char id[HJ_SEAL_ID_MAX + 1];
		uint8_t wrap[HJ_SEAL_WRAP_BYTES];
	} to[HJ_SEAL_RECIPIENTS_MAX];
} hj_sealed;

/* A fresh X25519 key pair (tests, the benchmark: nodes, the audit
 * committee's auditor node among them, use their node keys converted). 0
 * or HJ_ERROR. */
int hj_seal_keypair(uint8_t pk[32], uint8_t sk[32]);

/* A node's X25519 keys, converted from its Ed25519 keys (node.h: pk, sk).
 * HJ_EINVALID if ed_pk is not a usable Ed25519 point. */
int hj_seal_pk_from_node(uint8_t x_pk[32], const uint8_t ed_pk[32]);
int hj_seal_sk_from_node(uint8_t x_sk[32], const uint8_t ed_sk[64]);

/*
 * Seal len bytes of plain (0..HJ_SEAL_PLAIN_MAX) to the nto recipients
 * (1..HJ_SEAL_RECIPIENTS_MAX, ids unique and valid, in any order: the
 * result is sorted) under a fresh data key and nonce, which are wiped
 * before return. Returns 0, HJ_EINVALID (a caller mistake: too long, no or
 * too many recipients, a bad or repeated id, a public key X25519 refuses),
 * HJ_ENOMEM or HJ_ERROR.
 *   hj_seal_build: into *out (no allocation).
 *   hj_seal:       appends the compact JSON text to out (restored on failure).
 *   hj_seal_json:  *out is a new tree owned by the caller (hj_json_free),
 *                  for putting into an op; NULL on failure.
 */
int hj_seal_build(hj_sealed *out, const uint8_t *plain, size_t len, const hj_seal_to *to, size_t nto);
int hj_seal(hj_buf *out, const uint8_t *plain, size_t len, const hj_seal_to *to, size_t nto);
int hj_seal_json(hj_json **out, const uint8_t *plain, size_t len, const hj_seal_to *to, size_t nto);

/* The canonical form of s: a new tree (caller frees with hj_json_free), or
 * its compact text appended to out. The JSON writer's codes. */
int hj_sealed_json(hj_json **out, const hj_sealed *s);
int hj_sealed_write(hj_buf *out, const hj_sealed *s);

/*
 * Decode and validate a sealed object (the parsed value of an op field).
 * Anything but the canonical form is refused: HJ_EVERSION for a "v" newer
 * than HJ_SEAL_VERSION (upgrade huiji), HJ_ECORRUPT for everything else
 * (wrong shape or key order, extra keys, bad or upper-case hex, wrong
 * lengths, ciphertext over the bound, no or too many recipients, ids
 * invalid, repeated or out of order), HJ_EINVALID for NULL arguments. The
 * message names the field, never a value. *out is unspecified on failure.
 * hj_sealed_parse: the same from JSON text (json.h's codes for bad JSON).
 */
int hj_sealed_decode(hj_sealed *out, const hj_json *obj);
int hj_sealed_parse(hj_sealed *out, const char *text, size_t len);

/* The wrap addressed to id in s, borrowed; NULL if s has none for it. */
const uint8_t *hj_sealed_wrap(const hj_sealed *s, const char *id);

/*
 * Open s as recipient my_id with my X25519 pair, appending the plaintext
 * to plain. HJ_ENOTFOUND if s has no wrap for my_id; HJ_EBADSIG if the
 * wrap does not open with my keys, the ciphertext does not authenticate,
 * or the plaintext does not match the commitment (the author sealed
 * something else to someone); HJ_ENOMEM. On failure plain is as it was
 * (any bytes written past its length are wiped). The data key is wiped.
 */
int hj_unseal(hj_buf *plain, const hj_sealed *s, const char *my_id, const uint8_t my_pk[32],
	      const uint8_t my_sk[32]);

/*
 * The hub re-wraps the data key of s to a new recipient without
 * re-encrypting: open s as my_id (every check of hj_unseal; the plaintext
 * is wiped, never returned), then wrap the key to to_pk. out_hex is the
 * 160 lower-case hex digits of the new wrap, NUL-terminated (what the hub
 * delivers to that node's inbox beside the sealed object). hj_unseal's
 * codes, and HJ_EINVALID if to_pk is not a usable X25519 public key.
 */
int hj_seal_rewrap(char out_hex[HJ_SEAL_WRAP_HEX + 1], const hj_sealed *s, const char *my_id,
		   const uint8_t my_pk[32], const uint8_t my_sk[32], const uint8_t to_pk[32]);

/* Open s with a wrap given separately (hj_seal_rewrap's output, from the
 * node's inbox): HJ_ECORRUPT if wrap_hex is not 160 lower-case hex digits,
 * otherwise as hj_unseal. */
int hj_unseal_with(hj_buf *plain, const hj_sealed *s, const char *wrap_hex, const uint8_t my_pk[32],
		   const uint8_t my_sk[32]);

#endif
