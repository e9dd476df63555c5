/* soap_wsse.c - WS-Security UsernameToken (OASIS Username Token Profile 1.0)
 * for SOAP requests: PasswordText or PasswordDigest, where the digest is
 * Base64(SHA-1(nonce bytes + created + password)).
 *
 * The password never leaves this file except inside the envelope (text
 * mode) or as its digest; temporary copies are wiped. */
#include "adapters/soap.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "util/errs.h"

int soap_wsse_digest(const unsigned char *nonce, size_t nonce_len,
                     const char *created, const char *password,
                     size_t password_len, char *out, size_t outsz)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int ok;

    if (outsz < 29)
        return -1;
    EVP_MD_CTX *mc = EVP_MD_CTX_new();
    if (!mc)
        return -1;
    ok = EVP_DigestInit_ex(mc, EVP_sha1(), NULL) == 1 &&
         EVP_DigestUpdate(mc, nonce, nonce_len) == 1 &&
         EVP_DigestUpdate(mc, created, strlen(created)) == 1 &&
         EVP_DigestUpdate(mc, password, password_len) == 1 &&
         EVP_DigestFinal_ex(mc, md, &mdlen) == 1 && mdlen == 20;
    EVP_MD_CTX_free(mc);
    if (!ok)
        return -1;
    EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);
    OPENSSL_cleanse(md, sizeof md);
    return 0;
}

/* add_text - child element in ns with text escaped by libxml2 */
static xmlNodePtr add_text(xmlNodePtr parent, xmlNsPtr ns, const char *name,
                           const char *text)
{
    xmlNodePtr n = xmlNewChild(parent, ns, BAD_CAST name, NULL);
    if (n && text) {
        xmlNodePtr t = xmlNewText(BAD_CAST text);
        if (!t || !xmlAddChild(n, t)) {
            xmlFreeNode(t);
            return NULL;
        }
    }
    return n;
}

int soap_wsse_add(xmlNodePtr hdr, xmlNsPtr envns, enum soap_version v,
                  const struct soap_wsse *w, struct errs *e)
{
    unsigned char nonce_buf[16];
    const unsigned char *nonce = w->nonce;
    size_t nonce_len = w->nonce_len;
    char created_buf[32], nonce64[64], digest[32] = "";
    const char *created = w->created;
    char *pwtext = NULL;
    int rc = -1;

    if (!nonce) {
        if (RAND_bytes(nonce_buf, (int)sizeof nonce_buf) != 1) {
            errs_add(e, "soap", "cannot make a WS-Security nonce");
            return -1;
        }
        nonce = nonce_buf;
        nonce_len = sizeof nonce_buf;
    }
    if (nonce_len > 32) {
        errs_add(e, "soap", "WS-Security nonce longer than 32 bytes");
        return -1;
    }
    if (!created) {
        time_t now = time(NULL);
        struct tm tm;
        if (!gmtime_r(&now, &tm) ||
            strftime(created_buf, sizeof created_buf, "%Y-%m-%dT%H:%M:%SZ",
                     &tm) == 0) {
            errs_add(e, "soap", "cannot format the WS-Security time");
            return -1;
        }
        created = created_buf;
    }
    EVP_EncodeBlock((unsigned char *)nonce64, nonce, (int)nonce_len);

    xmlNodePtr sec = xmlNewChild(hdr, NULL, BAD_CAST "Security", NULL);
    if (!sec)
        goto nomem;
    xmlNsPtr wsse = xmlNewNs(sec, BAD_CAST SOAP_NS_WSSE, BAD_CAST "wsse");
    xmlNsPtr wsu = xmlNewNs(sec, BAD_CAST SOAP_NS_WSU, BAD_CAST "wsu");
    if (!wsse || !wsu)
        goto nomem;
    xmlSetNs(sec, wsse);
    if (!xmlNewNsProp(sec, envns, BAD_CAST "mustUnderstand",
                      BAD_CAST (v == SOAP_12 ? "true" : "1")))
        goto nomem;
    xmlNodePtr tok = xmlNewChild(sec, wsse, BAD_CAST "UsernameToken", NULL);
    if (!tok || !xmlNewNsProp(tok, wsu, BAD_CAST "Id",
                              BAD_CAST "UsernameToken-1"))
        goto nomem;
    if (!add_text(tok, wsse, "Username", w->username))
        goto nomem;
    xmlNodePtr pw;
    if (w->digest) {
        if (soap_wsse_digest(nonce, nonce_len, created, w->password,
                             w->password_len, digest, sizeof digest) != 0) {
            errs_add(e, "soap", "cannot compute the WS-Security digest");
            goto done;
        }
        pw = add_text(tok, wsse, "Password", digest);
    } else {
        /* the password may hold any bytes; the envelope needs a string */
        pwtext = OPENSSL_malloc(w->password_len + 1);
        if (!pwtext)
            goto nomem;
        memcpy(pwtext, w->password, w->password_len);
        pwtext[w->password_len] = '\0';
        pw = add_text(tok, wsse, "Password", pwtext);
    }
    if (!pw || !xmlNewProp(pw, BAD_CAST "Type",
                           BAD_CAST (w->digest ? SOAP_PW_DIGEST
                                               : SOAP_PW_TEXT)))
        goto nomem;
    xmlNodePtr nn = add_text(tok, wsse, "Nonce", nonce64);
    if (!nn || !xmlNewProp(nn, BAD_CAST "EncodingType",
                           BAD_CAST SOAP_B64_BINARY))
        goto nomem;
    if (!add_text(tok, wsu, "Created", created))
        goto nomem;
    rc = 0;
    goto done;
nomem:
    errs_add(e, "soap", "out of memory building the WS-Security header");
done:
    if (pwtext) {
        OPENSSL_cleanse(pwtext, w->password_len);
        OPENSSL_free(pwtext);
    }
    OPENSSL_cleanse(digest, sizeof digest);
    return rc;
}
