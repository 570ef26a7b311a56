/*
 * fuzz_template.c - offer templates as operators write them, checked and
 * rendered with values as customers' names come: never a crash, and a
 * rendering always terminated within its buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[256], out[600], *text, *name;
	const char *vals[TV_N] = {NULL, "Quà 50.000đ", "Tiki", "31/12/2026",
	    "CODE-1", "https://rk.example/t/1.abc"};
	size_t cut;

	if (size < 2)
		return (0);
	/* first byte: the part; then the template, NUL, the name */
	text = malloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	cut = strlen(text);
	name = cut + 1 < size - 1 ? text + cut + 1 : "Lan";
	vals[TV_NAME] = name;
	if (tmpl_check((enum tmpl_part)(data[0] % (TP_PUSH_BODY + 1)), text,
	    why, sizeof(why)) == NULL) {
		size_t need = tmpl_render(text, vals, (data[0] & 0x80) != 0, out,
		    sizeof(out));

		if (strlen(out) >= sizeof(out) || (need < sizeof(out) &&
		    strlen(out) != need))
			abort();
	}
	free(text);
	return (0);
}
