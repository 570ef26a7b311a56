/*
 * call_cmd.c - rekindlectl call SERVICE/METHOD [JSON | @FILE | -]: any
 * unary method of the rekindle API with a JSON request (pbjson), the reply
 * printed as JSON. For the operations no dedicated command covers yet
 * (offers, campaigns) and for scripts.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "pbjson.h"
#include "rekindle_services.h"


static const ProtobufCMethodDescriptor *
find_method(const char *spec, const char **service)
{
	const char *slash = strrchr(spec, '/');

	if (slash == NULL)
		return (NULL);
	for (size_t i = 0; i < REKINDLE_NSERVICES; i++) {
		const ProtobufCServiceDescriptor *s = rekindle_services[i];
		size_t n = strlen(s->name);

		/* "rekindle.v1.OfferService" or just "OfferService" */
		if ((size_t)(slash - spec) <= n && strncmp(s->name + n -
		    (size_t)(slash - spec), spec, (size_t)(slash - spec)) == 0 &&
		    (n == (size_t)(slash - spec) || s->name[n - (size_t)(slash -
		    spec) - 1] == '.')) {
			*service = s->name;
			return (protobuf_c_service_descriptor_get_method_by_name(s,
			    slash + 1));
		}
	}
	return (NULL);
}

void
ctl_print_json(const json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
}

/* One line a field: "a.b[0].c: value". */
static void
print_fields(const json_t *j, const char *prefix)
{
	char key[256];
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_object(j)) {
		json_object_foreach((json_t *)j, k, v) {
			snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." :
			    "", k);
			print_fields(v, key);
		}
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v) {
			snprintf(key, sizeof(key), "%s[%zu]", prefix, i);
			print_fields(v, key);
		}
	} else if (json_is_string(j))
		printf("%-34s %s\n", prefix, json_string_value(j));
	else {
		char *t = json_dumps(j, JSON_ENCODE_ANY);

		printf("%-34s %s\n", prefix, t ? t : "?");
		free(t);
	}
}

void
ctl_print_fields(const json_t *j)
{
	print_fields(j, "");
}

int
ctl_show(struct ctl *c, json_t *out)
{
	if (c->json)
		ctl_print_json(out);
	else
		ctl_print_fields(out);
	json_decref(out);
	return (0);
}

const char *
ctl_jstr(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return (s ? s : "");
}

void
ctl_print_message(const ProtobufCMessage *m)
{
	json_t *j = pbjson_dump(m);

	ctl_print_json(j);
	json_decref(j);
}

int
ctl_rpc(struct ctl *c, const char *method, json_t *j, json_t **out)
{
	const ProtobufCMethodDescriptor *m;
	const char *service = NULL;
	ProtobufCMessage *req, *resp;
	struct rkc_status st;
	char err[300], path[300];
	rk_err rc;

	if (out != NULL)
		*out = NULL;
	if ((m = find_method(method, &service)) == NULL) {
		fprintf(stderr, "rekindlectl: no method \"%s\"\n", method);
		return (2);
	}
	if ((req = pbjson_parse(m->input, j, err, sizeof(err))) == NULL) {
		fprintf(stderr, "rekindlectl: %s\n", err);
		return (2);
	}
	snprintf(path, sizeof(path), "/%s/%s", service, m->name);
	rc = rkc_unary(c->client, path, req, m->output, c->timeout_ms, &resp,
	    &st);
	protobuf_c_message_free_unpacked(req, NULL);
	if (rc != RK_OK)
		return (ctl_fail(m->name, rc, &st));
	if (out != NULL)
		*out = pbjson_dump(resp);
	protobuf_c_message_free_unpacked(resp, NULL);
	return (0);
}

int
cmd_call(struct ctl *c, int argc, char **argv)
{
	const char *arg = argc > 2 ? argv[2] : "{}";
	json_error_t jerr;
	json_t *j, *out;
	int status;

	if (argc < 2 || argc > 3) {
		ctl_usage(stderr, "call");
		return (2);
	}
	j = strcmp(arg, "-") == 0 ? json_loadf(stdin, 0, &jerr) : *arg == '@' ?
	    json_load_file(arg + 1, 0, &jerr) : json_loads(arg, 0, &jerr);
	if (j == NULL) {
		fprintf(stderr, "rekindlectl: bad JSON: %s (line %d)\n", jerr.text,
		    jerr.line);
		return (2);
	}
	status = ctl_rpc(c, argv[1], j, &out);
	json_decref(j);
	if (status == 0) {
		ctl_print_json(out);
		json_decref(out);
	}
	return (status);
}
