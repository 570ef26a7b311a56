/*
 * cdnow.h - the CDNOW sample (Fader, Hardie & Lee 2005) as BTYD
 * summaries, for the BG/NBD test and benchmark.
 */
#ifndef RK_CDNOW_H
#define RK_CDNOW_H

#include <stddef.h>

#include "btyd.h"

#define CDNOW_CUSTOMERS 2357

/*
 * Reads CDNOW_sample.txt into out[CDNOW_CUSTOMERS] as the paper does:
 * calibration weeks 1-39 (to 1997-09-30), time in weeks, same-day
 * purchases merged, x = repeat purchase days. Returns 0, or -1 if the
 * file cannot be read or is not the sample.
 */
int cdnow_load(const char *path, struct btyd_customer *out);

#endif
