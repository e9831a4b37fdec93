/*
 * error.h — huiji's error convention.
 *
 * Every fallible function returns 0 on success or one of the negative codes
 * below. The human-readable message is recorded once, where the problem is
 * found (hj_error_set), and passed up untouched; tools/ prints it. The
 * message buffer is thread-local, so library code never prints or exits.
 */
#ifndef HJ_ERROR_H
#define HJ_ERROR_H

enum {
	HJ_OK = 0,
	HJ_ERROR = -1,     /* generic failure (I/O, library error) */
	HJ_ENOTFOUND = -2, /* a named thing does not exist */
	HJ_EEXISTS = -3,   /* a thing that must be new already exists */
	HJ_EBADSIG = -4,   /* a signature did not verify */
	HJ_ECORRUPT = -5,  /* bytes are malformed, truncated or inconsistent */
	HJ_ECONFLICT = -6, /* a rule of the registry refuses the change */
	HJ_EINVALID = -7,  /* bad user input (argument, CSV field, ID number) */
	HJ_ENOMEM = -8,    /* allocation failed */
	HJ_EVERSION = -9,  /* input is from a newer huiji than this one */
	HJ_ETOOBIG = -10,  /* input exceeds a fixed size limit */
	HJ_ENET = -11,     /* network: unreachable, timed out, dropped */
	HJ_EPERM = -12     /* unsafe permissions or no authority */
};

/* Record a message for `code` and return `code`, so callers can write
 * `return hj_error_set(HJ_EINVALID, "seq %llu: ...", seq);`. */
int hj_error_set(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prefix the current message with context ("member apply: ") and return
 * `code`. Use sparingly: only where the caller knows something the finder
 * did not. */
int hj_error_wrap(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The last message recorded on this thread; never NULL. */
const char *hj_error_last(void);

/* The last code recorded on this thread (0 after hj_error_clear). */
int hj_error_code(void);

void hj_error_clear(void);

/* A short stable name for a code ("ECORRUPT"), for logs and tests. */
const char *hj_error_name(int code);

#endif
