/*
 * schema.h — forward migrations of the registry, embedded from the schema/ SQL files.
 *
 * PRAGMA user_version counts the migrations applied. A registry written by a
 * newer huiji (user_version beyond what this binary embeds) is refused
 * rather than guessed at.
 */
#ifndef HJ_SCHEMA_H
#define HJ_SCHEMA_H

#include "db.h"

/* Apply every migration not yet applied, each in its own transaction. */
int hj_schema_migrate(hj_db *db);

/* Number of migrations this binary embeds (the current schema version). */
int hj_schema_latest(void);

#endif
