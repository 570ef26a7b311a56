/*
 * yamljson.c - a YAML (or JSON) document as JSON, for the files people
 * write for create and update (libyaml's document loader; the YAML 1.2
 * core schema for plain scalars: null, true/false, integers, floats,
 * else strings; quoted scalars are always strings).
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "ctl.h"

/* A plain scalar's JSON value by the core schema. */
static json_t *
scalar(const yaml_node_t *n)
{
	const char *s = (const char *)n->data.scalar.value;
	char *end;

	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return (json_string(s));
	if (*s == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
	    strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0)
		return (json_null());
	if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 ||
	    strcmp(s, "TRUE") == 0)
		return (json_true());
	if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 ||
	    strcmp(s, "FALSE") == 0)
		return (json_false());
	errno = 0;
	{
		long long v = strtoll(s, &end, 10);

		if (*end == '\0' && errno == 0 && (s[0] != '0' || s[1] == '\0'))
			return (json_integer(v));
	}
	errno = 0;
	{
		double d = strtod(s, &end);

		if (*end == '\0' && errno == 0 && strpbrk(s, ".eE") != NULL &&
		    strchr(s, 'x') == NULL && strchr(s, 'X') == NULL)
			return (json_real(d));
	}
	return (json_string(s));
}

static json_t *
convert(yaml_document_t *doc, yaml_node_t *n, int depth)
{
	json_t *out;

	if (n == NULL || depth > 64)
		return (NULL);
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return (scalar(n));
	case YAML_SEQUENCE_NODE:
		out = json_array();
		for (yaml_node_item_t *i = n->data.sequence.items.start;
		    i < n->data.sequence.items.top; i++) {
			json_t *v = convert(doc, yaml_document_get_node(doc, *i),
			    depth + 1);

			if (v == NULL) {
				json_decref(out);
				return (NULL);
			}
			json_array_append_new(out, v);
		}
		return (out);
	case YAML_MAPPING_NODE:
		out = json_object();
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
		    p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(doc, p->key);
			json_t *v;

			if (k == NULL || k->type != YAML_SCALAR_NODE ||
			    (v = convert(doc, yaml_document_get_node(doc,
			    p->value), depth + 1)) == NULL) {
				json_decref(out);
				return (NULL);
			}
			json_object_set_new(out, (const char *)k->data.scalar.value,
			    v);
		}
		return (out);
	default:
		return (NULL);
	}
}

json_t *
ctl_load_doc(const char *path)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	json_t *out = NULL;
	FILE *fp;

	if ((fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb")) == NULL) {
		fprintf(stderr, "rekindlectl: cannot read %s\n", path);
		return (NULL);
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, fp);
	if (!yaml_parser_load(&parser, &doc)) {
		fprintf(stderr, "rekindlectl: %s: line %zu: %s\n", path,
		    parser.problem_mark.line + 1, parser.problem ?
		    parser.problem : "not YAML");
	} else {
		out = convert(&doc, yaml_document_get_root_node(&doc), 0);
		if (out == NULL)
			fprintf(stderr, "rekindlectl: %s: empty, or not a "
			    "document of mappings, lists and values\n", path);
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	if (fp != stdin)
		fclose(fp);
	return (out);
}
