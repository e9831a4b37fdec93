/*
 * schema.c — apply the embedded schema/NNN_name.sql migrations in order.
 */
#include "schema.h"
#include "error.h"
#include "schema_sql.h"

#include <stdio.h>

int hj_schema_latest(void)
{
	return (int)hj_migration_count;
}

int hj_schema_migrate(hj_db *db)
{
	int64_t have = 0;
	int rc = hj_db_get_int(db, "PRAGMA user_version", NULL, NULL, &have);
	if (rc)
		return rc;
	if (have > (int64_t)hj_migration_count)
		return hj_error_set(HJ_EVERSION,
				    "registry schema version %lld is newer than this huiji (%d): upgrade huiji",
				    (long long)have, hj_schema_latest());
	for (size_t i = (size_t)have; i < hj_migration_count; i++) {
		char pragma[64];
		snprintf(pragma, sizeof pragma, "PRAGMA user_version = %zu", i + 1);
		if ((rc = hj_db_exec(db, "BEGIN IMMEDIATE")))
			return rc;
		if ((rc = hj_db_exec(db, hj_migrations[i].sql)) ||
		    (rc = hj_db_exec(db, pragma))) {
			hj_error_wrap(rc, "migration %s: ", hj_migrations[i].name);
			hj_db_exec(db, "ROLLBACK");
			return rc;
		}
		if ((rc = hj_db_exec(db, "COMMIT")))
			return rc;
	}
	return 0;
}
