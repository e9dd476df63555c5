/* xmlerr.h - libxml2's own messages become ferry's problems, never raw
 * lines on stderr.
 *
 * libxml2 (2.9) reports errors raised outside a parser context (an input
 * that does not convert from its declared encoding, an I/O error) through
 * the thread's error handlers, and with none set prints them on stderr.
 * Its handlers are per thread, so there is no "set once for the process":
 * every parse that reads outside input (ferry.xml, mappings, SOAP replies)
 * wraps itself in xmlerr_begin / xmlerr_end on its own thread.  The
 * catcher is the caller's (no state here); after xmlerr_end the thread
 * drops libxml2's messages rather than printing them. */
#ifndef FERRY_UTIL_XMLERR_H
#define FERRY_UTIL_XMLERR_H
#include <stddef.h>

/* fn gets each message (without its newline) and the input line, 0 when
 * unknown; level is libxml2's (1 warning, 2 error, 3 fatal) */
struct xmlerr_catcher {
    void (*fn)(void *ud, int level, int line, const char *msg);
    void *ud;
};

/* xmlerr_begin - libxml2's messages on this thread go to c (borrowed
 * until xmlerr_end) */
void xmlerr_begin(struct xmlerr_catcher *c);
/* xmlerr_end - this thread drops libxml2's messages from now on */
void xmlerr_end(void);

/* xmlerr_strip_ns - remove "{namespace-uri}" from a libxml2 message, in
 * place ("Element '{urn:ferry:mapping:1}field'" becomes "Element
 * 'field'") */
void xmlerr_strip_ns(char *msg);
/* xmlerr_did_you_mean - a schema message about an attribute that is not
 * allowed, or an element that is not expected, gets "; did you mean
 * 'NAME'?" appended (in place, within msgsz) when a near name exists
 * (util/suggest.h): for an element, among the ones the message says are
 * expected (else every element the schema declares); for an attribute,
 * among the attributes the schema declares.  xsd is the schema's text. */
void xmlerr_did_you_mean(char *msg, size_t msgsz, const char *xsd,
                         size_t xsdlen);

#endif
