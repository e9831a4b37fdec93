/*
 * roster.h — a platform's or the transport department's driver list
 * compared with the roll: who on it is a member of the union compared for
 * (or of a union below it), who is a member elsewhere, who has an open
 * application, who is not yet reached. Used by `huiji compare roster`
 * (tools/cmd_compare.c), which prints what this file counts.
 *
 * It works by person key where the node holds the national person secret
 * (a hub): each row's ID number is keyed (hj_person_key_derive) and
 * matched against membership.person_key of the whole province, and then
 * against the hub's audited copies of its peer provinces (peer_dup.h), so
 * it can say where else a person is a member: the union's id and name and
 * the record's status, never another union's personal fields. A county
 * holds no secret: it matches by the ID numbers it holds itself (its own
 * and its subtree's person rows, plain or opened seals, as ops_member.c
 * de-duplicates its own applications) and says member here or not here,
 * never where else.
 *
 * A list may give person keys (a `person_key` column) instead of ID
 * numbers: one keyed by a hub can then be compared by a county or a peer
 * province without the numbers leaving the hub. A county matches such a
 * key against the keys its sequenced records took from the hub's entries;
 * its own applications not yet sequenced carry provisional keys
 * (fold_key.c) and match no key, only their numbers.
 *
 * Every row belongs to the union compared for; its worker group is the
 * list's `group` column, else the caller's default (truck_driver). The ID number's first six
 * digits are where the person is registered, not where they work: reported
 * as a column, never used to place the row. A bad row (no or an invalid
 * ID number, a wrong check digit, an unknown group, the same person twice,
 * a malformed CSV record) is passed to the callback by its line with the
 * reason, never a field's value, and the comparison goes on.
 */
#ifndef HJ_ROSTER_H
#define HJ_ROSTER_H

#include "csv.h"
#include "node.h"

#include <stddef.h>

typedef enum hj_roster_state {
	HJ_ROSTER_HERE = 0,    /* active in the union compared for, or one below it */
	HJ_ROSTER_ELSEWHERE,   /* active in another union or a peer province (only with the person secret) */
	HJ_ROSTER_APPLIED,     /* an open application (at a county: here) */
	HJ_ROSTER_NOT_REACHED, /* none of these: the outreach list */
	HJ_ROSTER_BAD,         /* not compared: `why` */
} hj_roster_state;

/* One row as compared; every pointer is borrowed for the callback only. */
typedef struct hj_roster_row {
	long line; /* where the record starts in the list */
	hj_roster_state state;
	const char *why;   /* BAD: the reason (never a field's value); else NULL */
	const char *group; /* worker group code (BAD: NULL when it was the problem) */
	/* The list's fields (NULL when absent or empty); id_number in its
	 * normal form (idnum.h), NULL for a row given by person key. */
	const char *name, *id_number, *phone, *plate;
	const char *person_key; /* the key compared: given, or derived at a hub; else NULL */
	const char *region;      /* the number's first six digits ("" when none) */
	const char *region_name; /* from the region table, "" when unknown */
	/* HERE, ELSEWHERE, APPLIED: the record found. NOT_REACHED: the
	 * latest earlier record this node may name (left, rejected,
	 * transferred), else all "". */
	const char *member, *union_id, *union_name, *status;
	const char *province; /* ELSEWHERE in a peer province: its id, else "" */
} hj_roster_row;

/* Rows by worker group (every row of a list is the one union's). */
typedef struct hj_roster_count {
	char group[40];
	long rows; /* compared rows of this group: the four below add up to it */
	long here, elsewhere, applied, not_reached;
} hj_roster_count;

typedef struct hj_roster {
	char *union_id, *union_name; /* the union compared for */
	int where_else;              /* 1: the node holds the person secret and says where else */
	long records;                /* records after the header, bad ones included */
	long bad;                    /* rows not compared */
	long by_key;                 /* rows given as person keys */
	long upgraded;               /* 15-digit numbers compared in their 18-digit form */
	hj_roster_count *counts;     /* one per worker group, in the vocabulary's order */
	size_t ncounts;
} hj_roster;

/* Called once per record after the header, in list order; a non-zero
 * return stops the comparison and is returned. */
typedef int (*hj_roster_fn)(void *arg, const hj_roster_row *row);

/* Compare the list `csv` (its header line next; `path` names it in
 * messages) for `union_id` (NULL: the node's own); `group` is the
 * worker group of rows without one (NULL: truck_driver; an unknown one
 * is HJ_EINVALID naming the valid ones). Columns, in any
 * order: id_number or person_key (one is required; a row may give
 * either), and optionally name, phone, plate, group; other columns are
 * ignored. The union must exist; a county compares only for its own union
 * or one below it (it holds nothing else). HJ_EINVALID for a bad header or
 * union, an error for a failed read; a bad row is never an error.
 * CONSTRUCTOR: *out, hj_roster_free. */
int hj_roster_compare(hj_roster **out, hj_node *n, hj_csv *csv, const char *path, const char *union_id,
		      const char *group, hj_roster_fn fn, void *arg);
void hj_roster_free(hj_roster *r); /* accepts NULL */

/* The state's name as reports and JSON spell it. */
const char *hj_roster_state_name(hj_roster_state s);

#endif
