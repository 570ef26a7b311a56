/*
 * methods.h - the method table: every method of every served service,
 * built from the protobuf-c service descriptors, the descriptor set's
 * streaming flags and the handler tables. Adding an RPC means writing one
 * handler and listing it in its service's table.
 */
#ifndef RK_METHODS_H
#define RK_METHODS_H

#include <stdbool.h>

#include "server.h"

/*
 * Builds the table of methods that have handlers (the others are left to
 * the server's catch-all, which answers UNIMPLEMENTED). The descriptor set
 * must be loaded. On RK_OK *out (free with methods_free) holds *n methods.
 * RK_EINTERNAL if a handler names a method no service has, or a handler
 * does not fit the method's streaming kind.
 */
rk_err methods_build(struct server_method **out, int *n, char *errmsg,
    size_t errlen);
void methods_free(struct server_method *m, int n);

/* Who may call the method at path ("/rekindle.v1.X/Y"): the role table
 * (roles.c). false if it has no row - the server does not start then. */
bool roles_of(const char *path, unsigned *roles);

#endif
