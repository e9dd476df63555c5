/* crash.h - named crash points for the crash tests: the one facility.
 *
 * In test builds (FERRY_TEST_BUILD), when the environment variable
 * FERRY_CRASH_AT is "name" or "name@N" (the Nth time this point is
 * reached), crash_point kills the process with SIGKILL there, as kill -9
 * would, after one line on stderr.  Compiled to nothing otherwise.  Any
 * module names its own points (docs/spool.md lists them). */
#ifndef FERRY_UTIL_CRASH_H
#define FERRY_UTIL_CRASH_H

#ifdef FERRY_TEST_BUILD
void crash_point(const char *name);
#else
static inline void crash_point(const char *name) { (void)name; }
#endif

#endif
