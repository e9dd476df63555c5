/* spool_row.h - a ledger row read into a struct spool_record
 * (spool_row.c), for the spool files that read records.  Never included
 * outside spool/. */
#ifndef FERRY_SPOOL_SPOOL_ROW_H
#define FERRY_SPOOL_SPOOL_ROW_H

struct spool;
struct spool_record;
struct sql_stmt;

/* spool_row_fill_sql - fill r from a row selected with SPOOL_REC_COLS,
 * payload columns (decrypted) when with_payload;
 * 0, or -1 when out of memory; decryption problems set r->crypt_error */
int spool_row_fill_sql(struct spool *s, struct sql_stmt *st,
                       int with_payload, struct spool_record *r);

#endif
