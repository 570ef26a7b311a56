/*
 * descset.h - the embedded FileDescriptorSet of the public API: streaming
 * flags for the dispatcher and files for server reflection.
 *
 * Loaded once at start and read-only afterwards, so any thread may use it.
 */
#ifndef RK_DESCSET_H
#define RK_DESCSET_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* Parses the set (bytes borrowed only during the call). RK_EPROTO if bad. */
rk_err descset_load(const void *data, size_t len);
void descset_unload(void);

/*
 * Streaming flags of "/pkg.Service/Method". RK_ENOTFOUND if the set does
 * not describe it.
 */
rk_err descset_method(const char *path, bool *client_streaming,
    bool *server_streaming);

/* Number of services, and the full name of service i. */
int descset_nservices(void);
const char *descset_service(int i);

/*
 * The files needed to describe a symbol (message, enum, service, method
 * "pkg.Svc.Method", field) or a file name: that file first, then its
 * transitive dependencies, each once. On RK_OK *files and *lens (malloc'd
 * arrays of borrowed pointers; free both arrays) hold *n serialized
 * FileDescriptorProtos. RK_ENOTFOUND if unknown.
 */
rk_err descset_files_for_symbol(const char *symbol, const void ***files,
    size_t **lens, int *n);
rk_err descset_files_for_name(const char *filename, const void ***files,
    size_t **lens, int *n);

#endif
