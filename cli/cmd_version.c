/* cmd_version.c - `ferry version`: ferry's version and, as `curl -V`
 * does, the version of each library it runs on (the one loaded now, not
 * the one it was built against), so a support call can start from one
 * paste. */
#include "cli/cli.h"

#include <curl/curl.h>
#include <jansson.h>
#include <libssh2.h>
#include <libxml/parser.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <sql.h>
#include <sqlext.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

/* odbc_version - the unixODBC driver manager's own version string */
static void odbc_version(char *out, size_t outsz)
{
    snprintf(out, outsz, "unknown");
    SQLHENV env = SQL_NULL_HENV;
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &env)))
        return;
    SQLINTEGER len = 0;
    char buf[64] = "";
    if (SQL_SUCCEEDED(SQLGetEnvAttr(env, SQL_ATTR_UNIXODBC_VERSION, buf,
                                    (SQLINTEGER)sizeof buf - 1, &len)) &&
        buf[0])
        snprintf(out, outsz, "%s", buf);
    SQLFreeHandle(SQL_HANDLE_ENV, env);
}

int cmd_version(int argc, char **argv)
{
    if (argc > 1) {
        bool help = strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0;
        if (!help || argc > 2)
            cli_msg("takes no arguments ('%s')", argv[help ? 2 : 1]);
        fprintf(help ? stdout : stderr, "usage: ferry version\n\n"
                "ferry's version, then the version of each library it runs "
                "on.\n");
        return help && argc == 2 ? EX_OK : EX_USAGE;
    }
    char odbc[64];
    odbc_version(odbc, sizeof odbc);
    /* libxml2 says 20914 for 2.9.14 */
    long x = strtol(xmlParserVersion, NULL, 10);
    printf("ferry %s\n", FERRY_VERSION);
    printf("jansson/%s libxml2/%ld.%ld.%ld libmicrohttpd/%s libssh2/%s "
           "unixODBC/%s SQLite/%s %s\n",
           jansson_version_str(), x / 10000, x / 100 % 100, x % 100,
           MHD_get_version(), libssh2_version(0), odbc, sqlite3_libversion(),
           OpenSSL_version(OPENSSL_VERSION));
    printf("%s\n", curl_version());
    return EX_OK;
}
