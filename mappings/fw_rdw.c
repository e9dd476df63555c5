/* fw_rdw.c - variable-length record framing as z/OS writes it.
 *
 * RECFM=V: every record follows a 4-byte record descriptor word (RDW):
 * its length including the RDW itself, big-endian in two bytes, then two
 * zero bytes.  RECFM=VB: the records (each still with its RDW) are
 * gathered into blocks, each after a block descriptor word (BDW) of the
 * same form whose length counts the whole block, BDW included.  A record
 * is at most 32,756 bytes (32,760 with its RDW), a block at most 32,760.
 *
 * GnuCOBOL's own variable sequential files (COB_VARSEQ_FORMAT 0) look the
 * same but count the data alone, not the 4-byte prefix: they are not
 * mainframe files, and ferry neither writes nor reads them.  Contract:
 * the reader refuses a descriptor that is short, non-zero in its last two
 * bytes, or runs past its block or the file, naming the offset. */
#include "mappings/fixedwidth.h"

#include <stdio.h>
#include <string.h>

static void put_dw(unsigned char *o, size_t n)
{
    o[0] = (unsigned char)(n >> 8);
    o[1] = (unsigned char)(n & 0xFF);
    o[2] = o[3] = 0;
}

/* fw_v_frame - see fixedwidth.h */
int fw_v_frame(struct fw_vbuf *w, const unsigned char *rec, size_t n,
               char *msg, size_t msgsz)
{
    if (n + 4 > FW_V_MAX)
        return cob_fail(msg, msgsz, "a %zu-byte record does not fit RECFM=V "
                     "(at most %d bytes)", n, FW_V_MAX - 4);
    size_t need = n + 4;
    if (w->blksize) {
        if (need + 4 > w->blksize)
            return cob_fail(msg, msgsz, "a %zu-byte record does not fit a "
                         "%zu-byte block", n, w->blksize);
        if (w->blk && w->blk + need > w->blksize)
            fw_v_end_block(w);
        if (!w->blk) {
            if (w->n + 4 > w->cap)
                return cob_fail(msg, msgsz, "output full");
            w->bdw = w->n;
            w->n += 4;
            w->blk = 4;
        }
    }
    if (w->n + need > w->cap)
        return cob_fail(msg, msgsz, "output full");
    put_dw(w->out + w->n, need);
    memcpy(w->out + w->n + 4, rec, n);
    w->n += need;
    if (w->blksize)
        w->blk += need;
    return 0;
}

/* fw_v_end_block - see fixedwidth.h */
void fw_v_end_block(struct fw_vbuf *w)
{
    if (w->blksize && w->blk) {
        put_dw(w->out + w->bdw, w->blk);
        w->blk = 0;
    }
}

/* get_dw - a descriptor word at p; its length, or 0 when malformed */
static size_t get_dw(const unsigned char *p)
{
    size_t n = (size_t)p[0] << 8 | p[1];
    return p[2] || p[3] || n < 4 ? 0 : n;
}

/* fw_v_next - see fixedwidth.h */
int fw_v_next(struct fw_vread *r, const unsigned char **rec, size_t *n,
              char *msg, size_t msgsz)
{
    if (r->blocked && r->pos == r->block_end) {
        if (r->pos == r->len)
            return 0;
        if (r->len - r->pos < 4)
            return cob_fail(msg, msgsz, "offset %zu: %zu bytes left, not a "
                         "block descriptor", r->pos, r->len - r->pos);
        size_t bl = get_dw(r->data + r->pos);
        if (!bl || bl < 8 || bl > r->len - r->pos)
            return cob_fail(msg, msgsz, "offset %zu: bad block descriptor "
                         "%02X%02X%02X%02X", r->pos, r->data[r->pos],
                         r->data[r->pos + 1], r->data[r->pos + 2],
                         r->data[r->pos + 3]);
        r->block_end = r->pos + bl;
        r->pos += 4;
    }
    size_t end = r->blocked ? r->block_end : r->len;
    if (r->pos == end)
        return 0;
    if (end - r->pos < 4)
        return cob_fail(msg, msgsz, "offset %zu: %zu bytes left, not a record "
                     "descriptor", r->pos, end - r->pos);
    size_t rl = get_dw(r->data + r->pos);
    if (!rl || rl > end - r->pos) {
        const unsigned char *d = r->data + r->pos;
        size_t said = (size_t)d[0] << 8 | d[1];
        return cob_fail(msg, msgsz, "offset %zu: bad record descriptor "
                     "%02X%02X%02X%02X (%s)", r->pos, d[0], d[1], d[2], d[3],
                     d[2] || d[3] ? "its last two bytes must be zero"
                     : said < 4 ? "a length under 4, the RDW's own"
                     : r->blocked ? "its length runs past its block"
                     : "its length runs past the end of the file");
    }
    *rec = r->data + r->pos + 4;
    *n = rl - 4;
    r->pos += rl;
    return 1;
}
