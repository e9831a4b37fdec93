/*
 * hex.h — hex for keys, hashes and secrets, through libsodium's
 * constant-time codec (the digits' values never steer a branch, so reading
 * secret.key and person.key leaks nothing through timing).
 *
 * huiji writes lower case only. Reading has two strengths: hj_hex_decode
 * takes either case (keys an operator types or copies: --hub-key, the key
 * files), hj_hex_decode_lower only lower case, for hex that is part of a
 * signed format, where one value must have one spelling (the fold refuses
 * an upper-case pubkey or person_key). sodium_hex2bin alone would take
 * upper case and stop quietly at the first non-digit; both are closed here.
 */
#ifndef HJ_HEX_H
#define HJ_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Lower-case hex of in[0..n); `out` has room for 2n+1 bytes and is
 * NUL-terminated. */
void hj_hex_encode(char *out, const uint8_t *in, size_t n);

/* Decode exactly 2n hex digits (either case) into out[n]; anything else
 * (wrong length, a non-hex char, NULL) => HJ_EINVALID, out unspecified. */
int hj_hex_decode(uint8_t *out, size_t n, const char *hex);

/* As hj_hex_decode, but an upper-case digit is HJ_EINVALID too. */
int hj_hex_decode_lower(uint8_t *out, size_t n, const char *hex);

/* Is `s` exactly 2n lower-case hex digits? 1 or 0 (NULL is 0). */
int hj_hex_is_lower(const char *s, size_t n);

#endif
