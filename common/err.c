/*
 * err.c - descriptions of rk_err values.
 */
#include "err.h"

static const struct {
	const char *name;
	const char *text;
} errs[RK_ERR_COUNT] = {
	[RK_OK] = {"RK_OK", "success"},
	[RK_ENOMEM] = {"RK_ENOMEM", "out of memory"},
	[RK_EINVAL] = {"RK_EINVAL", "invalid argument"},
	[RK_ENOTFOUND] = {"RK_ENOTFOUND", "not found"},
	[RK_ECONFLICT] = {"RK_ECONFLICT", "already exists"},
	[RK_ERETRY] = {"RK_ERETRY", "transient conflict, retry"},
	[RK_ETIMEDOUT] = {"RK_ETIMEDOUT", "timed out"},
	[RK_EUNAVAIL] = {"RK_EUNAVAIL", "service unavailable"},
	[RK_EPROTO] = {"RK_EPROTO", "protocol error"},
	[RK_ESYS] = {"RK_ESYS", "system error"},
	[RK_EINTERNAL] = {"RK_EINTERNAL", "internal error"},
	[RK_EPRECOND] = {"RK_EPRECOND", "failed precondition"},
	[RK_EPERM] = {"RK_EPERM", "permission denied"},
	[RK_EAUTH] = {"RK_EAUTH", "not authenticated"},
	[RK_EUNIMPL] = {"RK_EUNIMPL", "not implemented"},
	[RK_ETOOBIG] = {"RK_ETOOBIG", "over a size limit"},
	[RK_ECANCELED] = {"RK_ECANCELED", "cancelled"},
};

const char *
rk_strerror(rk_err err)
{
	if ((unsigned)err >= RK_ERR_COUNT)
		return ("unknown error");
	return (errs[err].text);
}

const char *
rk_errname(rk_err err)
{
	if ((unsigned)err >= RK_ERR_COUNT)
		return ("RK_E?");
	return (errs[err].name);
}
