/* spool_row.h - the statement-layer form of spool_row_fill (spool_row.c),
 * for the spool files already on spool/sql.h.  Kept apart from
 * spool_int.h (not this file's owner's) only while the other readers
 * still hand over a bare sqlite3_stmt (issue 18); it belongs beside
 * spool_row_fill there.  Never included outside spool/. */
#ifndef FERRY_SPOOL_SPOOL_ROW_H
#define FERRY_SPOOL_SPOOL_ROW_H

struct spool;
struct spool_record;
struct sql_stmt;

/* spool_row_fill_sql - fill r from a row selected with SPOOL_REC_COLS,
 * as spool_row_fill does: payload columns (decrypted) when with_payload;
 * 0, or -1 when out of memory; decryption problems set r->crypt_error */
int spool_row_fill_sql(struct spool *s, struct sql_stmt *st,
                       int with_payload, struct spool_record *r);

#endif
