/*
 * err.h - the one error vocabulary of rekindle.
 *
 * Every fallible function returns an rk_err. SQLSTATE is mapped to it once
 * (db.c) and it is mapped to gRPC status codes once (services/api/status.c).
 */
#ifndef RK_ERR_H
#define RK_ERR_H

typedef enum rk_err {
	RK_OK = 0,
	RK_ENOMEM,	/* out of memory */
	RK_EINVAL,	/* invalid argument; bad input from a caller */
	RK_ENOTFOUND,	/* no such object */
	RK_ECONFLICT,	/* already exists; unique constraint */
	RK_ERETRY,	/* transient conflict (serialization, deadlock): retry */
	RK_ETIMEDOUT,	/* deadline or lock timeout */
	RK_EUNAVAIL,	/* dependency unavailable (database down) */
	RK_EPROTO,	/* malformed message on a wire */
	RK_ESYS,	/* system call failed; see errno */
	RK_EINTERNAL,	/* broken invariant or unexpected result */
	RK_EPRECOND,	/* object not in a state that allows this */
	RK_EPERM,	/* authenticated, but not allowed */
	RK_EAUTH,	/* not authenticated */
	RK_EUNIMPL,	/* not implemented */
	RK_ETOOBIG,	/* message or batch over a limit */
	RK_ECANCELED,	/* cancelled by the caller or shutdown */
	RK_ERR_COUNT
} rk_err;

/* Returns a static lowercase description of err; never NULL. */
const char *rk_strerror(rk_err err);

/* Returns a static stable name ("RK_EINVAL") for logs and tests. */
const char *rk_errname(rk_err err);

#endif
