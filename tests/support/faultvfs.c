/*
 * faultvfs.c — the fault-injecting VFS shim (see faultvfs.h). Each file is
 * our header followed by the wrapped VFS's own file object; every method
 * forwards, and the counted ones first ask should_fail(). Single-threaded
 * by design: the tests that use it drive one process, one thread.
 */
#include "faultvfs.h"

#include <sqlite3.h>
#include <string.h>

typedef struct ffile {
	sqlite3_file base;
	sqlite3_file *real; /* points just past this struct */
} ffile;

static sqlite3_vfs fvfs;
static sqlite3_vfs *root;
static int64_t arm_n, counted, failed;
static unsigned arm_ops;
static int arm_err, arm_persist, armed;

void hj_faultvfs_arm(int64_t n, unsigned ops, int err, int persistent)
{
	arm_n = n;
	arm_ops = ops;
	arm_err = err;
	arm_persist = persistent;
	counted = failed = 0;
	armed = 1;
}

void hj_faultvfs_disarm(void)
{
	armed = 0;
}

int64_t hj_faultvfs_count(void)
{
	return counted;
}

int64_t hj_faultvfs_failed(void)
{
	return failed;
}

/* 0 to go on, else the code to return. */
static int should_fail(unsigned op, int ioerr)
{
	if (!armed || !(arm_ops & op))
		return 0;
	counted++;
	if (arm_n <= 0 || counted < arm_n || (counted > arm_n && !arm_persist))
		return 0;
	failed++;
	return arm_err ? arm_err : ioerr;
}

#define REAL(f) (((ffile *)(f))->real)

static int f_close(sqlite3_file *f)
{
	return REAL(f)->pMethods ? REAL(f)->pMethods->xClose(REAL(f)) : SQLITE_OK;
}

static int f_read(sqlite3_file *f, void *buf, int amt, sqlite3_int64 off)
{
	int rc = should_fail(HJ_FAULT_READ, SQLITE_IOERR_READ);
	return rc ? rc : REAL(f)->pMethods->xRead(REAL(f), buf, amt, off);
}

static int f_write(sqlite3_file *f, const void *buf, int amt, sqlite3_int64 off)
{
	int rc = should_fail(HJ_FAULT_WRITE, SQLITE_IOERR_WRITE);
	return rc ? rc : REAL(f)->pMethods->xWrite(REAL(f), buf, amt, off);
}

static int f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	int rc = should_fail(HJ_FAULT_TRUNCATE, SQLITE_IOERR_TRUNCATE);
	return rc ? rc : REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int f_sync(sqlite3_file *f, int flags)
{
	int rc = should_fail(HJ_FAULT_SYNC, SQLITE_IOERR_FSYNC);
	return rc ? rc : REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int f_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int f_lock(sqlite3_file *f, int l)
{
	return REAL(f)->pMethods->xLock(REAL(f), l);
}

static int f_unlock(sqlite3_file *f, int l)
{
	return REAL(f)->pMethods->xUnlock(REAL(f), l);
}

static int f_check_lock(sqlite3_file *f, int *out)
{
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int f_fcntl(sqlite3_file *f, int op, void *arg)
{
	return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int f_sector(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int f_devchar(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int f_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), pg, pgsz, extend, pp);
}

static int f_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
	return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}

static void f_shm_barrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int f_shm_unmap(sqlite3_file *f, int del)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}

static int f_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **pp)
{
	return REAL(f)->pMethods->xFetch(REAL(f), off, amt, pp);
}

static int f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

/* Memory-mapped reads would bypass xRead; huiji does not turn mmap on, and
 * xFetch is forwarded anyway so a fault never changes what is read. */
static const sqlite3_io_methods methods = {
	.iVersion = 3,
	.xClose = f_close,
	.xRead = f_read,
	.xWrite = f_write,
	.xTruncate = f_truncate,
	.xSync = f_sync,
	.xFileSize = f_size,
	.xLock = f_lock,
	.xUnlock = f_unlock,
	.xCheckReservedLock = f_check_lock,
	.xFileControl = f_fcntl,
	.xSectorSize = f_sector,
	.xDeviceCharacteristics = f_devchar,
	.xShmMap = f_shm_map,
	.xShmLock = f_shm_lock,
	.xShmBarrier = f_shm_barrier,
	.xShmUnmap = f_shm_unmap,
	.xFetch = f_fetch,
	.xUnfetch = f_unfetch,
};

static int v_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
	(void)vfs;
	ffile *ff = (ffile *)f;
	ff->real = (sqlite3_file *)&ff[1];
	int rc = root->xOpen(root, name, ff->real, flags, out_flags);
	ff->base.pMethods = ff->real->pMethods ? &methods : NULL;
	return rc;
}

static int v_delete(sqlite3_vfs *v, const char *name, int sync)
{
	(void)v;
	return root->xDelete(root, name, sync);
}

static int v_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
	(void)v;
	return root->xAccess(root, name, flags, out);
}

static int v_fullpath(sqlite3_vfs *v, const char *name, int n, char *out)
{
	(void)v;
	return root->xFullPathname(root, name, n, out);
}

static void *v_dlopen(sqlite3_vfs *v, const char *name)
{
	(void)v;
	return root->xDlOpen(root, name);
}

static void v_dlerror(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	root->xDlError(root, n, out);
}

static void (*v_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
	(void)v;
	return root->xDlSym(root, h, sym);
}

static void v_dlclose(sqlite3_vfs *v, void *h)
{
	(void)v;
	root->xDlClose(root, h);
}

static int v_random(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return root->xRandomness(root, n, out);
}

static int v_sleep(sqlite3_vfs *v, int us)
{
	(void)v;
	return root->xSleep(root, us);
}

static int v_time(sqlite3_vfs *v, double *out)
{
	(void)v;
	return root->xCurrentTime(root, out);
}

static int v_lasterr(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return root->xGetLastError ? root->xGetLastError(root, n, out) : 0;
}

static int v_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
	(void)v;
	return root->xCurrentTimeInt64(root, out);
}

int hj_faultvfs_register(void)
{
	if (root)
		return SQLITE_OK;
	int rc = sqlite3_initialize();
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_vfs *r = sqlite3_vfs_find(NULL);
	if (!r || r->iVersion < 2)
		return SQLITE_ERROR;
	memset(&fvfs, 0, sizeof fvfs);
	fvfs.iVersion = 2;
	fvfs.szOsFile = (int)sizeof(ffile) + r->szOsFile;
	fvfs.mxPathname = r->mxPathname;
	fvfs.zName = "hj-fault";
	fvfs.xOpen = v_open;
	fvfs.xDelete = v_delete;
	fvfs.xAccess = v_access;
	fvfs.xFullPathname = v_fullpath;
	fvfs.xDlOpen = v_dlopen;
	fvfs.xDlError = v_dlerror;
	fvfs.xDlSym = v_dlsym;
	fvfs.xDlClose = v_dlclose;
	fvfs.xRandomness = v_random;
	fvfs.xSleep = v_sleep;
	fvfs.xCurrentTime = v_time;
	fvfs.xGetLastError = v_lasterr;
	fvfs.xCurrentTimeInt64 = v_time64;
	root = r;
	return sqlite3_vfs_register(&fvfs, 1);
}
