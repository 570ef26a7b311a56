/*
 * segment.c - the usual RFM grid on recency and frequency scores (as in the
 * widely used R x F segment map), with R1F1 named Lost.
 */
#include <stddef.h>
#include <string.h>

#include "segment.h"

const char *const segment_names[SEGMENT_N] = {"Champions", "Loyal",
    "Potential loyalists", "New", "Promising", "Needs attention",
    "About to sleep", "At risk", "Cannot lose them", "Hibernating", "Lost",
    SEGMENT_NO_PURCHASE};

const char *
segment_of(int rs, int fs)
{
	if (rs < 1 || fs < 1)
		return (NULL);
	if (rs == 1 && fs == 1)
		return ("Lost");
	if (rs <= 2 && fs <= 2)
		return ("Hibernating");
	if (rs <= 2 && fs <= 4)
		return ("At risk");
	if (rs <= 2)
		return ("Cannot lose them");
	if (rs == 3 && fs <= 2)
		return ("About to sleep");
	if (rs == 3 && fs == 3)
		return ("Needs attention");
	if (rs == 5 && fs >= 4)
		return ("Champions");
	if (fs >= 4)
		return ("Loyal");
	if (rs == 4 && fs == 1)
		return ("Promising");
	if (rs == 5 && fs == 1)
		return ("New");
	return ("Potential loyalists");
}

bool
segment_known(const char *name)
{
	for (int i = 0; i < SEGMENT_N; i++)
		if (strcmp(segment_names[i], name) == 0)
			return (true);
	return (false);
}
