/*
 * faultvfs.h — a SQLite VFS shim for fault-injection tests: it wraps the
 * default VFS and fails the Nth counted file operation (xWrite, xSync,
 * xTruncate, optionally xRead) with SQLITE_IOERR_* or SQLITE_FULL, so a
 * fault reaches COMMIT, WAL checkpoints and sqlite3changeset_apply alike —
 * every path the library's own statements cannot see. Test-only: it is
 * registered as the default VFS of the test process, never of huiji.
 */
#ifndef HJ_TEST_FAULTVFS_H
#define HJ_TEST_FAULTVFS_H

#include <stdint.h>

enum {
	HJ_FAULT_WRITE = 1,
	HJ_FAULT_SYNC = 2,
	HJ_FAULT_TRUNCATE = 4,
	HJ_FAULT_READ = 8,
};

/* Register the shim as the default VFS (idempotent). SQLITE_OK or an error. */
int hj_faultvfs_register(void);

/* Count the operations in `ops` (HJ_FAULT_* bits) from now on and fail the
 * nth one (1-based) with `err` (SQLITE_FULL, or 0 for the operation's
 * SQLITE_IOERR_* code); persistent: every later counted operation fails
 * too (a full disk), else only the nth (a transient error). n = 0 counts
 * without failing. */
void hj_faultvfs_arm(int64_t n, unsigned ops, int err, int persistent);

/* Stop counting and failing. */
void hj_faultvfs_disarm(void);

/* Counted operations since the last arm, and how many were failed. */
int64_t hj_faultvfs_count(void);
int64_t hj_faultvfs_failed(void);

#endif
