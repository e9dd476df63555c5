/* check_reconcile.c - acknowledgement files against a real spool: decoding
 * (records per line and FB), matching, reason words from the code table,
 * orphans, control totals, idempotency, overdue records, and bad files
 * (truncated record, bad sign nibble, unknown status, wrong length) that
 * must name the record and byte offset and change nothing.
 * Layouts: tests/data/reconcile/refund-ascii.xml (the example mapping in
 * ASCII) and its packed-ack target (ACKPACK.cpy). */
#include <check.h>
#include <dirent.h>
#include <ftw.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "config/config.h"
#include "mappings/mapping.h"
#include "scheduler/recon_int.h"
#include "scheduler/reconcile.h"
#include "spool/spool.h"
#include "util/errs.h"

/* root - $FERRY_ROOT, or the current directory */
static const char *root(void)
{
    const char *r = getenv("FERRY_ROOT");
    return r && *r ? r : ".";
}

static char tmpdir[512];
static char spdir[600];
static struct spool *sp;
static struct mapping *map;
static char refs[4][SPOOL_REF_MAX];

static int rm_one(const char *p, const struct stat *sb, int flag,
                  struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(p);
}

/* setup - a spool with 3 records of refund-claim bound to one batch and
 * sent, and one record still queued (refs[3]) */
static void setup(void)
{
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/check_recon.XXXXXX", t ? t : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(spdir, sizeof spdir, "%s/spool", tmpdir);
    struct errs e;
    errs_init(&e);
    sp = spool_open(spdir, NULL, &e);
    ck_assert_msg(sp != NULL, "open: %s", errs_first_msg(&e));
    char mf[700];
    snprintf(mf, sizeof mf, "%s/tests/data/reconcile/refund-ascii.xml", root());
    ck_assert_msg(mapping_load(mf, &map, &e) == 0, "mapping: %s",
                  errs_first_msg(&e));
    struct spool_item it[3];
    struct spool_result res[3];
    const char *keys[] = { "K1", "K2", "K3" };
    for (int i = 0; i < 3; i++) {
        memset(&it[i], 0, sizeof it[i]);
        it[i].service = "refund-claim";
        it[i].target = "claims-mainframe";
        it[i].idem_key = keys[i];
        it[i].fe_ref = keys[i];
        it[i].payload = "{}";
        it[i].payload_len = 2;
        it[i].record_json = "{}";
    }
    ck_assert_int_eq(spool_enqueue(sp, it, 3, res, &e), 0);
    for (int i = 0; i < 3; i++)
        memcpy(refs[i], res[i].ref, SPOOL_REF_MAX);
    struct spool_batch *b = NULL;
    ck_assert_int_eq(spool_batch_bind(sp, "claims-mainframe", "2026-11-27", 0,
                                      &b, &e), 0);
    ck_assert_int_eq(b->record_count, 3);
    ck_assert_int_eq(spool_batch_written(sp, b->id, "CLM.D261127.S001", 3,
                                         "", "00", &e), 0);
    ck_assert_int_eq(spool_batch_sent(sp, b->id, &e), 0);
    spool_batch_free(b);
    it[0].idem_key = "K4";
    it[0].fe_ref = "K4";
    ck_assert_int_eq(spool_enqueue(sp, it, 1, res, &e), 0);
    memcpy(refs[3], res[0].ref, SPOOL_REF_MAX);
    errs_free(&e);
}

static void teardown(void)
{
    spool_close(sp);
    mapping_free(map);
    sp = NULL;
    map = NULL;
    nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static struct recon_layout *layout(const char *target)
{
    struct errs e;
    errs_init(&e);
    const struct map_target *mt = mapping_target(map, target);
    ck_assert_ptr_nonnull(mt);
    struct recon_layout *l = recon_layout_new(mt, map->file, "refund-claim", &e);
    ck_assert_msg(l != NULL, "layout: %s: %s", e.n ? e.v[0].where : "",
                  errs_first_msg(&e));
    errs_free(&e);
    return l;
}

/* det - one 80-byte CLAIMACK detail */
static void det(char *out, const char *ref, char status, const char *code,
                const char *text, long caseno)
{
    snprintf(out, 81, "D%-20.20s%c%-3.3s%-40.40s%09ld%6s", ref, status, code,
             text, caseno, "");
}

static void trl(char *out, long n, long acc, long rej)
{
    snprintf(out, 81, "T%07ld%07ld%07ld%58s", n, acc, rej, "");
}

static void write_file(const char *name, const char *data, size_t len,
                       char *path, size_t pathsz)
{
    snprintf(path, pathsz, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* lines - records joined with '\n' (fb false) or back to back */
static size_t join(char recs[][81], size_t n, bool fb, char *out)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(out + len, recs[i], strlen(recs[i]));
        len += strlen(recs[i]);
        if (!fb)
            out[len++] = '\n';
    }
    return len;
}

static enum spool_state state_of(const char *ref, char **last_error,
                                 char **receipt)
{
    struct errs e;
    errs_init(&e);
    struct spool_record *r = NULL;
    ck_assert_int_eq(spool_get(sp, ref, 0, &r, &e), 0);
    enum spool_state st = r->state;
    if (last_error)
        *last_error = r->last_error ? strdup(r->last_error) : NULL;
    if (receipt)
        *receipt = r->receipt ? strdup(r->receipt) : NULL;
    spool_record_free(r);
    errs_free(&e);
    return st;
}

static void assert_untouched(void)
{
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(state_of(refs[i], NULL, NULL), SPOOL_SENT);
}

/* apply - one file through recon_apply_file */
static int apply(struct recon_layout *l, const char *path, const char *name,
                 const struct recon_opts *o, struct recon_file *f,
                 struct recon_summary *sum, struct errs *e)
{
    struct recon_opts def;
    memset(&def, 0, sizeof def);
    return recon_apply_file(sp, l, path, name, o ? o : &def, f, sum, e);
}

/* vframe - records each after its RDW (length + 4, big-endian, 2 zero
 * bytes); blocked: two records a block after a BDW */
static size_t vframe(char recs[][81], size_t n, bool blocked, char *out)
{
    size_t len = 0, bdw = 0;
    for (size_t i = 0; i < n; i++) {
        if (blocked && i % 2 == 0) {
            if (i)
                out[bdw] = 0, out[bdw + 1] = (char)(len - bdw);
            bdw = len;
            memset(out + len, 0, 4);
            len += 4;
        }
        size_t rl = strlen(recs[i]) + 4;
        out[len] = 0;
        out[len + 1] = (char)rl;
        out[len + 2] = out[len + 3] = 0;
        memcpy(out + len + 4, recs[i], rl - 4);
        len += rl;
    }
    if (blocked)
        out[bdw] = 0, out[bdw + 1] = (char)(len - bdw);
    return len;
}

START_TEST(test_recfm_v_and_vb_acks)
{
    for (int blocked = 0; blocked < 2; blocked++) {
        struct recon_layout *l = layout("claims-mainframe");
        l->recfm = blocked ? RECON_RECFM_VB : RECON_RECFM_V;
        char recs[4][81], data[512], path[700], name[32];
        det(recs[0], refs[0], 'A', "", "", 123);
        det(recs[1], refs[1], 'R', "E01", "NINO NOT FOUND", 0);
        det(recs[2], refs[2], 'A', "", "", 456);
        trl(recs[3], 3, 2, 1);
        size_t len = vframe(recs, 4, blocked, data);
        ck_assert_uint_eq(len, blocked ? 4 * 84 + 2 * 4 : 4 * 84);
        snprintf(name, sizeof name, "CLMACK.D26112%d", 7 + blocked);
        write_file(name, data, len, path, sizeof path);
        struct recon_summary sum;
        memset(&sum, 0, sizeof sum);
        struct recon_file f;
        struct errs e;
        errs_init(&e);
        ck_assert_int_eq(apply(l, path, name, NULL, &f, &sum, &e), 0);
        if (!blocked) {
            ck_assert_msg(f.status == RECON_FILE_APPLIED, "status %s: %s",
                          recon_file_status_name(f.status),
                          f.problem ? f.problem : "");
            ck_assert_uint_eq(f.details, 3);
            ck_assert_uint_eq(f.confirmed, 2);
            ck_assert_int_eq(f.trailer_count, 3);
            ck_assert_int_eq(state_of(refs[1], NULL, NULL), SPOOL_REJECTED);
        } else {
            /* the same answers again (the records are settled): read and
             * counted through the block descriptors all the same */
            ck_assert_msg(f.problem == NULL || strstr(f.problem, "descriptor")
                          == NULL, "%s", f.problem);
            ck_assert_int_eq(f.trailer_count, 3);
        }
        recon_file_clear(&f);
        recon_summary_free(&sum);
        errs_free(&e);
        recon_layout_free(l);
    }
    /* a broken RDW is a bad file naming the offset, nothing applied */
    struct recon_layout *l = layout("claims-mainframe");
    l->recfm = RECON_RECFM_V;
    char recs[2][81], data[256], path[700];
    det(recs[0], refs[0], 'A', "", "", 123);
    trl(recs[1], 1, 1, 0);
    size_t len = vframe(recs, 2, false, data);
    data[84 + 2] = 1;
    write_file("CLMACK.D261129", data, len, path, sizeof path);
    struct recon_summary sum;
    memset(&sum, 0, sizeof sum);
    struct recon_file f;
    struct errs e;
    errs_init(&e);
    apply(l, path, "CLMACK.D261129", NULL, &f, &sum, &e);
    ck_assert_int_ne(f.status, RECON_FILE_APPLIED);
    bool named = f.problem && strstr(f.problem, "offset 84: bad record "
                                     "descriptor");
    for (size_t i = 0; i < e.n && !named; i++)
        named = strstr(e.v[i].msg, "offset 84: bad record descriptor") != NULL;
    ck_assert_msg(named, "problem: %s", f.problem ? f.problem : "(none)");
    recon_file_clear(&f);
    recon_summary_free(&sum);
    errs_free(&e);
    recon_layout_free(l);
}
END_TEST

START_TEST(test_lines_accept_reject_with_reason_words)
{
    struct recon_layout *l = layout("claims-mainframe");
    char recs[4][81], data[512], path[700];
    det(recs[0], refs[0], 'A', "", "", 123);
    det(recs[1], refs[1], 'R', "E01", "NINO NOT FOUND", 0);
    det(recs[2], refs[2], 'A', "", "", 456);
    trl(recs[3], 3, 2, 1);
    size_t len = join(recs, 4, false, data);
    write_file("CLMACK.D261127", data, len, path, sizeof path);
    struct recon_summary sum;
    memset(&sum, 0, sizeof sum);
    struct recon_file f;
    struct errs e;
    errs_init(&e);
    ck_assert_int_eq(apply(l, path, "CLMACK.D261127", NULL, &f, &sum, &e), 0);
    ck_assert_msg(f.status == RECON_FILE_APPLIED, "status %s: %s",
                  recon_file_status_name(f.status), f.problem ? f.problem : "");
    ck_assert(!f.fb);
    ck_assert_uint_eq(f.details, 3);
    ck_assert_uint_eq(f.confirmed, 2);
    ck_assert_uint_eq(f.rejected_applied, 1);
    ck_assert_int_eq(f.trailer_count, 3);
    ck_assert_int_eq(f.trailer_accepted, 2);
    char *why = NULL, *rcpt = NULL;
    ck_assert_int_eq(state_of(refs[0], NULL, &rcpt), SPOOL_CONFIRMED);
    ck_assert_str_eq(rcpt, "123");
    free(rcpt);
    ck_assert_int_eq(state_of(refs[1], &why, NULL), SPOOL_REJECTED);
    ck_assert_str_eq(why, "E01: National Insurance number not recognised");
    free(why);
    ck_assert_int_eq(state_of(refs[2], NULL, NULL), SPOOL_CONFIRMED);
    /* archived copy of a given file; the given file itself stays */
    ck_assert_ptr_nonnull(f.archived);
    ck_assert_int_eq(access(f.archived, R_OK), 0);
    ck_assert_int_eq(access(path, R_OK), 0);
    ck_assert_int_eq(recon_exit_code(&sum), EX_OK);
    /* the same file again: skipped, nothing changes */
    struct recon_file f2;
    ck_assert_int_eq(apply(l, path, "CLMACK.D261127", NULL, &f2, &sum, &e), 0);
    ck_assert_int_eq(f2.status, RECON_FILE_SEEN);
    ck_assert_uint_eq(sum.seen, 1);
    ck_assert_uint_eq(sum.confirmed, 2);
    /* every answer in: the overdue pass marks the batch confirmed */
    ck_assert_int_eq(recon_overdue(sp, "claims-mainframe", 24, 0, &sum, &e), 0);
    ck_assert_uint_eq(sum.batches_confirmed, 1);
    ck_assert_uint_eq(sum.overdue, 0);
    recon_file_clear(&f);
    recon_file_clear(&f2);
    recon_summary_free(&sum);
    errs_free(&e);
    recon_layout_free(l);
}
END_TEST

START_TEST(test_fb_orphan_reported_rest_applied)
{
    struct recon_layout *l = layout("claims-mainframe");
    char recs[3][81], data[512], path[700];
    det(recs[0], refs[0], 'A', "", "", 1);
    det(recs[1], "FRY-19990101-999999", 'A', "", "", 2);
    trl(recs[2], 2, 2, 0);
    size_t len = join(recs, 3, true, data);
    ck_assert_uint_eq(len, 240);
    write_file("CLMACK.D261128", data, len, path, sizeof path);
    struct recon_summary sum;
    memset(&sum, 0, sizeof sum);
    struct recon_file f;
    struct errs e;
    errs_init(&e);
    ck_assert_int_eq(apply(l, path, "CLMACK.D261128", NULL, &f, &sum, &e), 0);
    ck_assert_int_eq(f.status, RECON_FILE_APPLIED);
    ck_assert(f.fb);
    ck_assert_uint_eq(f.orphans, 1);
    ck_assert_uint_eq(f.confirmed, 1);
    ck_assert_uint_eq(sum.nitems, 1);
    ck_assert_str_eq(sum.items[0].kind, "orphan");
    ck_assert_str_eq(sum.items[0].ref, "FRY-19990101-999999");
    ck_assert_int_eq(sum.items[0].record, 2);
    ck_assert_int_eq(recon_exit_code(&sum), EX_DATAERR);
    ck_assert_int_eq(state_of(refs[0], NULL, NULL), SPOOL_CONFIRMED);
    /* an ack for a record never sent (still queued) moves nothing */
    char recs2[2][81], data2[256], path2[700];
    det(recs2[0], refs[3], 'A', "", "", 3);
    trl(recs2[1], 1, 1, 0);
    len = join(recs2, 2, true, data2);
    write_file("CLMACK.D261129", data2, len, path2, sizeof path2);
    struct recon_file f2;
    ck_assert_int_eq(apply(l, path2, "CLMACK.D261129", NULL, &f2, &sum, &e), 0);
    ck_assert_uint_eq(f2.not_sent, 1);
    ck_assert_int_eq(state_of(refs[3], NULL, NULL), SPOOL_QUEUED);
    recon_file_clear(&f);
    recon_file_clear(&f2);
    recon_summary_free(&sum);
    errs_free(&e);
    recon_layout_free(l);
}
END_TEST

START_TEST(test_totals_mismatch_needs_accept_and_reason)
{
    struct recon_layout *l = layout("claims-mainframe");
    char recs[3][81], data[512], path[700];
    det(recs[0], refs[0], 'A', "", "", 1);
    det(recs[1], refs[1], 'R', "E77", "SOMETHING ODD", 0);
    trl(recs[2], 5, 1, 1);
    size_t len = join(recs, 3, false, data);
    write_file("CLMACK.D261130", data, len, path, sizeof path);
    struct recon_summary sum;
    memset(&sum, 0, sizeof sum);
    struct recon_file f;
    struct errs e;
    errs_init(&e);
    ck_assert_int_eq(apply(l, path, "CLMACK.D261130", NULL, &f, &sum, &e), 0);
    ck_assert_int_eq(f.status, RECON_FILE_MISMATCH);
    ck_assert(f.mismatch);
    ck_assert_ptr_nonnull(strstr(f.problem, "trailer says 5 records"));
    ck_assert_int_eq(recon_exit_code(&sum), EX_DATAERR);
    assert_untouched();
    struct errs ve;
    errs_init(&ve);
    ck_assert_int_eq(spool_ack_file_seen(sp, "CLMACK.D261130", f.sha256, &ve), 0);
    /* accepted with a reason: applied and audited */
    struct recon_opts o;
    memset(&o, 0, sizeof o);
    o.accept_mismatch = true;
    o.reason = "mainframe counted the header too; checked by phone";
    o.actor = "alice";
    struct recon_file f2;
    ck_assert_int_eq(apply(l, path, "CLMACK.D261130", &o, &f2, &sum, &e), 0);
    ck_assert_int_eq(f2.status, RECON_FILE_APPLIED);
    ck_assert(f2.mismatch_accepted);
    char *why = NULL;
    ck_assert_int_eq(state_of(refs[1], &why, NULL), SPOOL_REJECTED);
    ck_assert_str_eq(why, "E77: SOMETHING ODD");   /* not in the code table */
    free(why);
    struct spool_audit_list al;
    ck_assert_int_eq(spool_audit_list(sp, NULL, &al, &ve), 0);
    bool found = false;
    for (size_t i = 0; i < al.n; i++)
        if (strcmp(al.v[i].action, "ack-apply") == 0 &&
            strcmp(al.v[i].actor, "alice") == 0 &&
            strstr(al.v[i].reason, "checked by phone"))
            found = true;
    ck_assert(found);
    spool_audit_list_free(&al);
    errs_free(&ve);
    recon_file_clear(&f);
    recon_file_clear(&f2);
    recon_summary_free(&sum);
    errs_free(&e);
    recon_layout_free(l);
}
END_TEST

/* bad - a bad file: handled (0), BAD, a problem containing want, nothing
 * changed, not recorded as applied */
static void bad(struct recon_layout *l, const char *data, size_t len,
                const char *want1, const char *want2)
{
    char path[700];
    write_file("CLMACK.BAD", data, len, path, sizeof path);
    struct recon_summary sum;
    memset(&sum, 0, sizeof sum);
    struct recon_file f;
    struct errs e;
    errs_init(&e);
    ck_assert_int_eq(apply(l, path, "CLMACK.BAD", NULL, &f, &sum, &e), 0);
    ck_assert_int_eq(f.status, RECON_FILE_BAD);
    ck_assert_int_eq(recon_exit_code(&sum), EX_DATAERR);
    bool hit = false;
    for (size_t i = 0; i < e.n; i++)
        if (strstr(e.v[i].msg, want1) && (!want2 || strstr(e.v[i].msg, want2)))
            hit = true;
    ck_assert_msg(hit, "no problem with '%s' / '%s'; first: %s", want1,
                  want2 ? want2 : "", errs_first_msg(&e));
    assert_untouched();
    ck_assert_int_eq(spool_ack_file_seen(sp, "CLMACK.BAD", f.sha256, &e), 0);
    ck_assert_ptr_null(f.archived);
    recon_file_clear(&f);
    recon_summary_free(&sum);
    errs_free(&e);
}

START_TEST(test_bad_truncated_record_fb)
{
    struct recon_layout *l = layout("claims-mainframe");
    char recs[3][81], data[512];
    det(recs[0], refs[0], 'A', "", "", 1);
    det(recs[1], refs[1], 'A', "", "", 2);
    trl(recs[2], 2, 2, 0);
    size_t len = join(recs, 3, true, data);
    bad(l, data, len - 10, "truncated record", "byte offset 160");
    recon_layout_free(l);
}
END_TEST

START_TEST(test_bad_unknown_status_names_record_and_offset)
{
    struct recon_layout *l = layout("claims-mainframe");
    char recs[3][81], data[512];
    det(recs[0], refs[0], 'A', "", "", 1);
    det(recs[1], refs[1], 'X', "", "", 2);
    trl(recs[2], 2, 2, 0);
    size_t len = join(recs, 3, false, data);
    /* record 2 starts at 81 (80 + newline); ACK-STATUS is at 21 */
    bad(l, data, len, "unknown status code 'X'", "record 2 (line 2), byte offset 102");
    recon_layout_free(l);
}
END_TEST

START_TEST(test_bad_wrong_record_length)
{
    struct recon_layout *l = layout("claims-mainframe");
    char recs[3][81], data[512];
    det(recs[0], refs[0], 'A', "", "", 1);
    det(recs[1], refs[1], 'A', "", "", 2);
    recs[1][79] = '\0';                   /* a 79-byte line */
    trl(recs[2], 2, 2, 0);
    size_t len = join(recs, 3, false, data);
    bad(l, data, len, "wrong record length: 79 bytes", "line 2");
    recon_layout_free(l);
}
END_TEST

START_TEST(test_bad_non_digit_in_numeric)
{
    struct recon_layout *l = layout("claims-mainframe");
    char recs[3][81], data[512];
    det(recs[0], refs[0], 'A', "", "", 1);
    det(recs[1], refs[1], 'A', "", "", 2);
    memcpy(recs[1] + 66, "12X", 3);       /* inside ACK-CASE-NO (65..73) */
    trl(recs[2], 2, 2, 0);
    size_t len = join(recs, 3, true, data);
    bad(l, data, len, "ACK-CASE-NO", "record 2, byte offset 1");
    recon_layout_free(l);
}
END_TEST

/* pack - one 80-byte PACK-ACK with PA-PAID's 5 packed bytes given */
static void pack(char *out, const char *ref, char status,
                 const unsigned char paid[5])
{
    memset(out, ' ', 80);
    out[0] = 'D';
    memcpy(out + 1, ref, strlen(ref));
    out[21] = status;
    memcpy(out + 25, paid, 5);
}

START_TEST(test_bad_sign_nibble_packed)
{
    struct recon_layout *l = layout("packed-acks");
    static const unsigned char good[5] = { 0x00, 0x00, 0x12, 0x34, 0x5C };
    static const unsigned char badn[5] = { 0x00, 0x00, 0x12, 0x34, 0x55 };
    char data[240];
    pack(data, refs[0], 'A', good);
    pack(data + 80, refs[1], 'K', badn);
    memset(data + 160, ' ', 80);
    memcpy(data + 160, "T0000002", 8);
    bad(l, data, sizeof data, "PA-PAID", "byte offset 10");
    /* the same file with a good nibble applies (K is also "accepted");
     * an ack moves only the deliveries of the target acknowledging, and
     * the records here were sent to claims-mainframe */
    pack(data + 80, refs[1], 'K', good);
    l->target = "claims-mainframe";
    char path[700];
    write_file("PACK.1", data, sizeof data, path, sizeof path);
    struct recon_summary sum;
    memset(&sum, 0, sizeof sum);
    struct recon_file f;
    struct errs e;
    errs_init(&e);
    ck_assert_int_eq(apply(l, path, "PACK.1", NULL, &f, &sum, &e), 0);
    ck_assert_msg(f.status == RECON_FILE_APPLIED, "%s", f.problem ? f.problem : "");
    ck_assert(f.fb);
    ck_assert_uint_eq(f.confirmed, 2);
    recon_file_clear(&f);
    recon_summary_free(&sum);
    errs_free(&e);
    recon_layout_free(l);
}
END_TEST

/* recfm="FB" on the ack section is honoured: fixed-length records whose
 * copybook counts the line end as a field (detection alone would read
 * them as 22-byte lines and refuse every one) */
START_TEST(test_ack_recfm_fb_line_end_in_the_record)
{
    struct recon_layout *l = layout("eol-acks");
    char data[128];
    int n = snprintf(data, sizeof data, "D%-20.20sA\nD%-20.20sR\nT0000002\n",
                     refs[0], refs[1]);
    char path[700];
    write_file("EOL.1", data, (size_t)n, path, sizeof path);
    struct recon_summary sum;
    memset(&sum, 0, sizeof sum);
    struct recon_file f;
    struct errs e;
    errs_init(&e);
    ck_assert_int_eq(apply(l, path, "EOL.1", NULL, &f, &sum, &e), 0);
    ck_assert_msg(f.status == RECON_FILE_APPLIED, "%s", f.problem ? f.problem : "");
    ck_assert(f.fb);
    ck_assert_uint_eq(f.details, 2);
    ck_assert_int_eq(f.trailer_count, 2);
    recon_file_clear(&f);
    recon_summary_free(&sum);
    errs_free(&e);
    recon_layout_free(l);
}
END_TEST

/* each record's type is checked: an unknown one is a problem with its own
 * line; the trailer is found by its type, so one before the end is too */
START_TEST(test_ack_record_types_checked)
{
    struct recon_layout *l = layout("claims-mainframe");
    char recs[4][81], data[512];
    det(recs[0], refs[0], 'A', "", "", 1);
    det(recs[1], refs[1], 'A', "", "", 2);
    recs[1][0] = 'X';
    trl(recs[2], 2, 2, 0);
    size_t len = join(recs, 3, false, data);
    bad(l, data, len, "record type 'X' is not in the layout", "line 2");
    det(recs[0], refs[0], 'A', "", "", 1);
    trl(recs[1], 2, 2, 0);
    det(recs[2], refs[1], 'A', "", "", 2);
    trl(recs[3], 2, 2, 0);
    len = join(recs, 4, false, data);
    bad(l, data, len, "a trailer (record type 'T') before the end", "line 2");
    recon_layout_free(l);
}
END_TEST

/* a totals mismatch names the trailer's real numbers, and only those the
 * layout names: never a placeholder -1 for a count it does not carry */
START_TEST(test_ack_mismatch_names_real_numbers)
{
    struct recon_layout *l = layout("packed-acks");
    static const unsigned char good[5] = { 0x00, 0x00, 0x12, 0x34, 0x5C };
    char data[240];
    pack(data, refs[0], 'A', good);
    pack(data + 80, refs[1], 'A', good);
    memset(data + 160, ' ', 80);
    memcpy(data + 160, "T0000003", 8);
    char path[700];
    write_file("PACK.2", data, sizeof data, path, sizeof path);
    struct recon_summary sum;
    memset(&sum, 0, sizeof sum);
    struct recon_file f;
    struct errs e;
    errs_init(&e);
    ck_assert_int_eq(apply(l, path, "PACK.2", NULL, &f, &sum, &e), 0);
    ck_assert_int_eq(f.status, RECON_FILE_MISMATCH);
    ck_assert_str_eq(f.problem, "control totals do not match: the trailer "
                     "says 3 records, the file holds 2");
    recon_file_clear(&f);
    recon_summary_free(&sum);
    errs_free(&e);
    recon_layout_free(l);
}
END_TEST

START_TEST(test_overdue_after_hours)
{
    struct recon_summary sum;
    memset(&sum, 0, sizeof sum);
    struct errs e;
    errs_init(&e);
    /* just sent: nothing overdue */
    ck_assert_int_eq(recon_overdue(sp, "claims-mainframe", 24, 0, &sum, &e), 0);
    ck_assert_uint_eq(sum.overdue, 0);
    /* 25 hours later: the three sent records are overdue */
    struct spool_record *r = NULL;
    ck_assert_int_eq(spool_get(sp, refs[0], 0, &r, &e), 0);
    int64_t later = r->updated_at + 25LL * 3600000;
    spool_record_free(r);
    ck_assert_int_eq(recon_overdue(sp, "claims-mainframe", 24, later, &sum, &e), 0);
    ck_assert_uint_eq(sum.overdue, 3);
    ck_assert_str_eq(sum.items[0].kind, "overdue");
    ck_assert_ptr_nonnull(strstr(sum.items[0].detail, "CLM.D261127.S001"));
    ck_assert_uint_eq(sum.batches_confirmed, 0);
    recon_summary_free(&sum);
    errs_free(&e);
}
END_TEST

START_TEST(test_layout_problems_named)
{
    char xml[2048];
    int n = snprintf(xml, sizeof xml,
        "<mapping xmlns=\"urn:ferry:mapping:1\" service=\"s\">"
        "<accept><field name=\"a\" path=\"a\" type=\"string\"/></accept>"
        "<target name=\"t\" copybook=\"%s/examples/copybooks/CLAIMREC.cpy\""
        " record=\"CLAIM-DETAIL\" encoding=\"ascii\">"
        "<map to=\"CLM-FERRY-REF\" from=\"$reference\"/>"
        "<section name=\"ack\" copybook=\"%s/examples/copybooks/CLAIMACK.cpy\""
        " record=\"ACK-DETAIL\" key=\"NO-SUCH\" status=\"ACK-STATUS\""
        " accepted=\"A\"/></target></mapping>", root(), root());
    ck_assert(n > 0 && (size_t)n < sizeof xml);
    struct mapping *m = NULL;
    struct errs e;
    errs_init(&e);
    ck_assert_msg(mapping_load_memory(xml, (size_t)n, "t.xml", &m, &e) == 0,
                  "%s", errs_first_msg(&e));
    struct recon_layout *l = recon_layout_new(mapping_target(m, "t"), "t.xml",
                                              "s", &e);
    ck_assert_ptr_null(l);
    bool key = false, rej = false;
    for (size_t i = 0; i < e.n; i++) {
        key |= strstr(e.v[i].msg, "NO-SUCH") != NULL;
        rej |= strstr(e.v[i].msg, "rejected=") != NULL;
    }
    ck_assert(key && rej);
    mapping_free(m);
    errs_free(&e);
}
END_TEST


/* ---- delimited acks (recon_delim.c) ----------------------------------- */

/* dl_layout - a delimited target "t" with an ack section of the given
 * extra attributes, under the dialect attrs (key=value pairs) */
static struct recon_layout *dl_layout(struct mapping **m, const char *extra,
                                      struct kv *dialect, size_t nd,
                                      struct errs *e)
{
    char xml[2048];
    int n = snprintf(xml, sizeof xml,
        "<mapping xmlns=\"urn:ferry:mapping:1\" service=\"s\">"
        "<accept><field name=\"a\" path=\"a\" type=\"string\"/></accept>"
        "<target name=\"t\"><map to=\"reference\" from=\"$reference\"/>"
        "<section name=\"ack\" key=\"reference\" status=\"outcome\""
        " accepted=\"A,K\" rejected=\"R\" reason=\"code\" reason-text=\"why\""
        " receipt=\"case_no\" %s/>"
        "<codes name=\"reasons\"><code value=\"E01\" as=\"NINO not known\"/>"
        "</codes></target></mapping>", extra);
    ck_assert(n > 0 && (size_t)n < sizeof xml);
    ck_assert_msg(mapping_load_memory(xml, (size_t)n, "t.xml", m, e) == 0,
                  "%s", errs_first_msg(e));
    struct target_config tc;
    memset(&tc, 0, sizeof tc);
    tc.name = "t";
    tc.type = "delimited";
    tc.opts.v = dialect;
    tc.opts.n = nd;
    return recon_layout_for(&tc, mapping_target(*m, "t"), "t.xml", "s", e);
}

/* dl_decode - data through l as recon_apply_file would check it */
static enum recon_file_status dl_decode(const struct recon_layout *l,
                                        const char *data, size_t len,
                                        struct recon_file *f, struct errs *e)
{
    ck_assert_int_eq(recon_ack_decode(l, (const unsigned char *)data, len,
                                      "ACK.csv", f, e), 0);
    return f->status;
}

static bool has_msg(const struct errs *e, const char *s)
{
    for (size_t i = 0; i < e->n; i++)
        if (strstr(e->v[i].msg, s))
            return true;
    return false;
}

START_TEST(test_delimited_ack_columns_by_name_quoted_reason)
{
    struct mapping *m = NULL;
    struct errs e;
    errs_init(&e);
    struct kv d[] = { { "line-end", "LF", 0 } };
    struct recon_layout *l = dl_layout(&m, "", d, 1, &e);
    ck_assert_msg(l, "%s", errs_first_msg(&e));
    /* columns in the back office's order, one it has and ferry does not
     * read, a reason holding the delimiter and a doubled quote */
    static const char ack[] =
        "Case_No , extra,outcome,reference,why,code\n"
        "C1,x,A,FRY-20261127-000001,,\n"
        "C2,x,K,FRY-20261127-000002,,\n"
        ",x,R,FRY-20261127-000003,\"NOT KNOWN, SEE \"\"4\"\"\",E77\n"
        ",x,R,FRY-20261127-000004,,E01";   /* no line end at the end */
    struct recon_file f;
    ck_assert_int_eq(dl_decode(l, ack, sizeof ack - 1, &f, &e),
                     RECON_FILE_APPLIED);
    ck_assert_msg(e.n == 0, "%s", errs_first_msg(&e));
    ck_assert_uint_eq(f.details, 4);
    ck_assert_uint_eq(f.accepted, 2);
    ck_assert_uint_eq(f.rejected, 2);
    ck_assert(!f.fb);
    free(f.problem);
    recon_layout_free(l);
    mapping_free(m);
    errs_free(&e);
}
END_TEST

START_TEST(test_delimited_ack_problems_name_line_and_column)
{
    struct mapping *m = NULL;
    struct errs e;
    errs_init(&e);
    struct kv d[] = { { "delimiter", "|", 0 }, { "quoting", "none", 0 } };
    struct recon_layout *l = dl_layout(&m, "", d, 2, &e);
    ck_assert_msg(l, "%s", errs_first_msg(&e));
    static const struct { const char *data, *want; } bad[] = {
        { "", "empty file: a delimited ack file begins with its header row" },
        { "reference|outcom|case_no|code|why\r\n",
          "line 1: the header row has no column 'outcome' (the ack section's "
          "status=); did you mean 'outcom'?" },
        { "reference|outcome|case_no|code|why|outcome\r\n",
          "line 1, column 6: the header row names column 'outcome' twice" },
        { "reference|outcome|case_no|code|why\r\nFRY-1|X|C1||\r\n",
          "line 2, column 2 (outcome): unknown status code 'X' (accepted: A; "
          "rejected: R)" },
        { "reference|outcome|case_no|code|why\r\n|A|C1||\r\n",
          "line 2, column 1 (reference): the key is empty" },
        { "reference|outcome|case_no|code|why\r\nFRY-1|A|C1|\r\n",
          "line 2: 4 columns, the header row has 5" },
        { "reference|outcome|case_no|code|why\r\nFRY-1|A|C1||\n",
          "line 2: ends with LF alone; the target's line end is CRLF" },
        { "reference|outcome|case_no|code|why\r\n\r\nFRY-1|A|C1||\r\n",
          "line 2: an empty line" },
        { "reference|outcome|case_no|code|why\r\nFRY-1|A|C\x01||\r\n",
          "line 2, column 3:" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct recon_file f;
        ck_assert_msg(dl_decode(l, bad[i].data, strlen(bad[i].data), &f,
                                &e) == RECON_FILE_BAD, "case %zu", i);
        ck_assert_msg(has_msg(&e, bad[i].want), "case %zu: got '%s'", i,
                      errs_first_msg(&e));
        ck_assert_str_eq(e.v[0].where, "ACK.csv");
        free(f.problem);
        errs_free(&e);
        errs_init(&e);
    }
    recon_layout_free(l);
    mapping_free(m);
    errs_free(&e);
}
END_TEST

START_TEST(test_delimited_ack_ebcdic_and_layout_refusals)
{
    struct mapping *m = NULL;
    struct errs e;
    errs_init(&e);
    struct kv d[] = { { "encoding", "IBM-037", 0 }, { "line-end", "LF", 0 } };
    struct recon_layout *l = dl_layout(&m, "", d, 2, &e);
    ck_assert_msg(l, "%s", errs_first_msg(&e));
    /* the same file in IBM-037 (glibc's iconv, not ferry's tables): LF
     * is X'25' there */
    static const char a[] = "reference,outcome,case_no,code,why\nFRY-1,A,C1,,\n";
    char eb[sizeof a], *in = (char *)a, *out = eb;
    size_t il = sizeof a - 1, ol = sizeof eb;
    iconv_t cd = iconv_open("IBM037", "ASCII");
    ck_assert(cd != (iconv_t)-1);
    ck_assert(iconv(cd, &in, &il, &out, &ol) != (size_t)-1 && il == 0);
    iconv_close(cd);
    ck_assert_int_eq((unsigned char)eb[34], 0x25);
    struct recon_file f;
    ck_assert_int_eq(dl_decode(l, eb, sizeof a - 1, &f, &e),
                     RECON_FILE_APPLIED);
    ck_assert_msg(e.n == 0, "%s", errs_first_msg(&e));
    ck_assert_uint_eq(f.accepted, 1);
    free(f.problem);
    recon_layout_free(l);
    mapping_free(m);
    m = NULL;
    /* what a delimited ack cannot have, and a bad dialect */
    struct kv bd[] = { { "quoting", "sometimes", 0 } };
    l = dl_layout(&m, "recfm=\"FB\" trailer-count=\"n\"", bd, 1, &e);
    ck_assert_ptr_null(l);
    ck_assert(has_msg(&e, "recfm=\"FB\": a delimited target's ack file is "
                      "read by its header row"));
    ck_assert(has_msg(&e, "trailer-count=\"n\""));
    ck_assert(has_msg(&e, "quoting=\"sometimes\""));
    mapping_free(m);
    errs_free(&e);
}
END_TEST

/* slurp - a whole small file (NUL-terminated); NULL when absent */
static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    char *b = malloc(1 << 16);
    ck_assert_ptr_nonnull(b);
    size_t n = fread(b, 1, (1 << 16) - 1, fp);
    fclose(fp);
    b[n] = '\0';
    if (len)
        *len = n;
    return b;
}

/* test_delimited_ack_cases - every tests/data/reconcile/delimited/CASE:
 * its dialect, its ack, what it must come to (README there) */
START_TEST(test_delimited_ack_cases)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/tests/data/reconcile/delimited", root());
    DIR *dp = opendir(dir);
    ck_assert_ptr_nonnull(dp);
    size_t ncases = 0;
    for (struct dirent *de; (de = readdir(dp)) != NULL;) {
        char p[900];
        snprintf(p, sizeof p, "%s/%s/expected", dir, de->d_name);
        if (de->d_name[0] == '.' || access(p, R_OK) != 0)
            continue;
        ncases++;
        char *want = slurp(p, NULL);
        want[strcspn(want, "\n")] = '\0';
        snprintf(p, sizeof p, "%s/%s/dialect", dir, de->d_name);
        char *dia = slurp(p, NULL);
        struct kv kv[8];
        size_t nkv = 0;
        for (char *line = dia, *nl; line && *line && nkv < 8; line = nl) {
            nl = strchr(line, '\n');
            if (nl)
                *nl++ = '\0';
            char *eq = strchr(line, '=');
            ck_assert_msg(eq, "%s: dialect line '%s'", de->d_name, line);
            *eq = '\0';
            kv[nkv++] = (struct kv){ line, eq + 1, 0 };
        }
        snprintf(p, sizeof p, "%s/%s/ack", dir, de->d_name);
        size_t len = 0;
        char *ack = slurp(p, &len);
        struct mapping *m = NULL;
        struct errs e;
        errs_init(&e);
        struct recon_layout *l = dl_layout(&m, "", kv, nkv, &e);
        ck_assert_msg(l, "%s: %s", de->d_name, errs_first_msg(&e));
        struct recon_file f;
        enum recon_file_status st = dl_decode(l, ack, len, &f, &e);
        char got[600];
        if (st == RECON_FILE_BAD)
            snprintf(got, sizeof got, "bad %s", e.v[0].msg);
        else
            snprintf(got, sizeof got, "%s %zu details, %zu accepted, %zu "
                     "rejected", st == RECON_FILE_APPLIED ? "applied" : "?",
                     f.details, f.accepted, f.rejected);
        ck_assert_msg(strncmp(got, want, strlen(want)) == 0,
                      "%s: got '%s', expected '%s'", de->d_name, got, want);
        free(f.problem);
        recon_layout_free(l);
        mapping_free(m);
        errs_free(&e);
        free(ack);
        free(dia);
        free(want);
    }
    closedir(dp);
    ck_assert_uint_ge(ncases, 10);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("reconcile");
    TCase *tc = tcase_create("acks");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_lines_accept_reject_with_reason_words);
    tcase_add_test(tc, test_recfm_v_and_vb_acks);
    tcase_add_test(tc, test_fb_orphan_reported_rest_applied);
    tcase_add_test(tc, test_totals_mismatch_needs_accept_and_reason);
    tcase_add_test(tc, test_bad_truncated_record_fb);
    tcase_add_test(tc, test_bad_unknown_status_names_record_and_offset);
    tcase_add_test(tc, test_bad_wrong_record_length);
    tcase_add_test(tc, test_bad_non_digit_in_numeric);
    tcase_add_test(tc, test_bad_sign_nibble_packed);
    tcase_add_test(tc, test_ack_recfm_fb_line_end_in_the_record);
    tcase_add_test(tc, test_ack_record_types_checked);
    tcase_add_test(tc, test_ack_mismatch_names_real_numbers);
    tcase_add_test(tc, test_overdue_after_hours);
    tcase_add_test(tc, test_layout_problems_named);
    tcase_add_test(tc, test_delimited_ack_columns_by_name_quoted_reason);
    tcase_add_test(tc, test_delimited_ack_problems_name_line_and_column);
    tcase_add_test(tc, test_delimited_ack_ebcdic_and_layout_refusals);
    tcase_add_test(tc, test_delimited_ack_cases);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
