/* schemas.h - the XSD schemas shipped in config/, embedded at build time
 * (tools/embed.sh) so that validation never depends on an install path.
 * The table sits on the ground floor because both config/ (ferry.xsd) and
 * mappings/ (mapping.xsd) validate against it, and mappings/ stands below
 * config/. */
#ifndef FERRY_UTIL_SCHEMAS_H
#define FERRY_UTIL_SCHEMAS_H
#include <stddef.h>

struct embedded_file {
    const char *name;           /* base name, e.g. "ferry.xsd" */
    const unsigned char *data;  /* NUL-terminated after len bytes */
    size_t len;
};

/* Terminated by an entry whose name is NULL. */
extern const struct embedded_file schema_files[];

#endif
