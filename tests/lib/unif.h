/*
 * unif.h - a seeded, reproducible uniform draw on (0, 1) for unit tests
 * that simulate data (splitmix64; never 0, so -log(unif) is finite).
 */
#ifndef RK_TEST_UNIF_H
#define RK_TEST_UNIF_H

#include <stdint.h>

static inline double
unif(uint64_t *st)
{
	uint64_t z = (*st += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	z ^= z >> 31;
	return (((double)(z >> 11) + 0.5) / 9007199254740992.0);
}

#endif
