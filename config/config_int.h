/* config_int.h - what the config loader's files share and nobody else
 * sees: the loader state.  config.c builds and cross-checks the
 * configuration, config_xml.c parses ferry.xml and validates it against
 * the embedded ferry.xsd. */
#ifndef FERRY_CONFIG_CONFIG_INT_H
#define FERRY_CONFIG_CONFIG_INT_H
#include <stdbool.h>
#include <stddef.h>

#include <libxml/tree.h>

struct errs;
struct ferry_config;

#define CONFIG_NS       "urn:ferry:config:1"

struct loader {
    struct ferry_config *c;
    struct errs *e;
    const char *file;       /* as given, used in every "where" */
    bool schema_ok;         /* typed-read failures are new problems */
    long doctype_line;      /* > 0 when a DOCTYPE was seen */
    int parse_errors;       /* well-formedness problems reported */
    long spool_line, log_line, intake_line, console_line;
};

/* config_xml_parse - parse data (len bytes) with the network off and any
 * DOCTYPE refused; every problem in L->e.  NULL when not usable. */
xmlDocPtr config_xml_parse(struct loader *L, const char *data, size_t len);
/* config_xml_validate - validate doc against the embedded ferry.xsd; each
 * violation in L->e, L->schema_ok false when any */
void config_xml_validate(struct loader *L, xmlDocPtr doc);

#endif
