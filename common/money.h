/*
 * money.h - amounts in VND, the bank's currency, in SQL. A transaction in
 * another currency is converted at the exchange rate of its day
 * (rekindle.fx_rates, migration 018; the latest rate before it if that
 * day has none); with no rate at all it converts to NULL.
 */
#ifndef RK_MONEY_H
#define RK_MONEY_H

/* SQL for amount (minor units of cur) at time at, in VND: VND itself
 * never goes through the rate look-up. Arguments are SQL text. */
#define VND_SQL(amount, cur, at)                                          \
	"(CASE WHEN " cur " = 'VND' THEN " amount " ELSE rekindle.vnd("   \
	amount ", " cur ", " at ") END)"

#endif
