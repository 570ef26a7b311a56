/*
 * fuzz_csv.c - customer and transaction files as banks export them, read
 * as rekindlectl imports them: never a crash, every field terminated.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *fp = fmemopen((void *)(uintptr_t)data, size, "r");
	struct csv_row row;
	int64_t us;
	csv *r;

	if (fp == NULL)
		return (0);
	r = csv_open(fp);
	for (int rows = 0; r != NULL && rows < 1000 && csv_next(r, &row) > 0;
	    rows++) {
		for (int i = -1; i <= row.n; i++) {
			const char *f = csv_get(&row, i);

			(void)strlen(f);
			(void)csv_time(f, &us);
		}
		(void)csv_offset(r);
	}
	if (r != NULL)
		csv_close(r);
	fclose(fp);
	return (0);
}
