/* handover.h - the hand-over conventions managed-file-transfer products
 * offer, added to any transport's batch files, each optional per
 * <transport> (docs/batch.md, "Hand-over conventions"):
 *   checksum-file=".sha256"  a sha256sum-compatible line "<hex>  <name>"
 *                            beside the file, as <name>.sha256
 *   pgp-home="DIR"           the GnuPG home (mode 0700) with the keys
 *   pgp-recipient="KEY"      encrypt the file for the receiving system's
 *                            key (fingerprint, key id or user id); the
 *                            file goes as <name>.pgp
 *   pgp-signer="KEY"         sign it with ferry's own secret key
 *   ack-pgp="true"           acknowledgement files arrive encrypted for
 *                            ferry and signed: decrypt them and check the
 *                            signature before they are read
 *   ack-signer="KEY"         the key acks must be signed by (default:
 *                            pgp-recipient, the receiving system's)
 * The trigger file stays the transport's own done-file= (written after
 * the data file's rename, so it is always last).
 *
 * OpenPGP goes through GPGME (one engine, gpg, in the configured home
 * only; no pinentry: keys without a passphrase, or an agent that has
 * them).  Keys are trusted because the configuration names them
 * (encryption uses "always trust"); a signature must be good and made by
 * exactly the named key.  Each instance is used by one thread. */
#ifndef FERRY_ADAPTERS_HANDOVER_H
#define FERRY_ADAPTERS_HANDOVER_H
#include <stdbool.h>
#include <stddef.h>

struct errs;
struct kvlist;
struct adapter;

/* adapter_handover_keys - the transport options this file reads; every
 * transport skips them (NULL-ended: pass as skip) */
extern const char *const adapter_handover_keys[];

struct adapter_handover;

/* adapter_handover_new - the conventions set in a transport's opts
 * (paths relative to base_dir).  NULL with every problem in e (a key of
 * the wrong form, a home that is not a 0700 folder, a key the home does
 * not hold or holds twice).  owner names the transport in messages. */
struct adapter_handover *adapter_handover_new(const struct adapter *tr,
                                              const struct kvlist *opts,
                                              const char *base_dir,
                                              const char *owner,
                                              struct errs *e);
void adapter_handover_free(struct adapter_handover *h);

/* the suffix of the checksum file, or NULL when there is none */
const char *adapter_handover_checksum(const struct adapter_handover *h);
/* is the file encrypted (and named <name>.pgp) */
bool adapter_handover_encrypts(const struct adapter_handover *h);
/* are acks decrypted and checked */
bool adapter_handover_ack_pgp(const struct adapter_handover *h);

/* adapter_handover_encrypt - the plain file in, encrypted for the
 * recipient (and signed when there is a signer), as binary OpenPGP into
 * out (written to a temporary name, fsynced, renamed; 0600).  0, or -1
 * with why in msg. */
int adapter_handover_encrypt(const struct adapter_handover *h,
                             const char *in, const char *out, char *msg,
                             size_t msgsz);

/* adapter_handover_open_ack - an ack file as it arrived (in): decrypted
 * into out (tmp+fsync+rename, 0600) only when it decrypts and carries a
 * good signature by the ack signer.  0, or -1 with why in msg (nothing
 * left at out). */
int adapter_handover_open_ack(const struct adapter_handover *h,
                              const char *in, const char *out, char *msg,
                              size_t msgsz);

#endif
