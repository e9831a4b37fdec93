/*
 * buf.h — a growable byte buffer with a sticky error.
 *
 * A run of hj_buf_put_* calls needs one check at the end: after the first
 * failed allocation every later put is a no-op and `rc` stays HJ_ENOMEM
 * (the SQLite `int *pRc` habit). Integers are written little-endian.
 * `data` is always NUL-terminated past `len` when non-NULL, so text built
 * here can be used as a C string.
 */
#ifndef HJ_BUF_H
#define HJ_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct hj_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	int rc; /* 0 or HJ_ENOMEM, sticky */
} hj_buf;

#define HJ_BUF_INIT {NULL, 0, 0, 0}

/* Make room for `extra` more bytes. Returns 0 or HJ_ENOMEM (sticky). */
int hj_buf_grow(hj_buf *b, size_t extra);
void hj_buf_put(hj_buf *b, const void *p, size_t n);
void hj_buf_put_u8(hj_buf *b, uint8_t v);
void hj_buf_put_u32le(hj_buf *b, uint32_t v);
void hj_buf_put_u64le(hj_buf *b, uint64_t v);
void hj_buf_puts(hj_buf *b, const char *s);
void hj_buf_printf(hj_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Drop the contents, keep the allocation. */
void hj_buf_reset(hj_buf *b);
/* Hand the bytes to the caller (who frees them with free()); `b` is empty
 * afterwards. Returns NULL for an empty buffer. */
uint8_t *hj_buf_detach(hj_buf *b, size_t *len_out);
/* Free the bytes; `b` is reusable afterwards. Accepts a zeroed buffer. */
void hj_buf_free(hj_buf *b);

static inline uint32_t hj_get_u32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t hj_get_u64le(const uint8_t *p)
{
	return (uint64_t)hj_get_u32le(p) | (uint64_t)hj_get_u32le(p + 4) << 32;
}

#endif
