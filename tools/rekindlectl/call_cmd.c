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

int
cmd_call(struct ctl *c, int argc, char **argv)
{
	const ProtobufCMethodDescriptor *m;
	const char *service = NULL, *arg = argc > 2 ? argv[2] : "{}";
	ProtobufCMessage *req, *resp;
	struct rkc_status st;
	json_error_t jerr;
	char err[300], path[300];
	json_t *j;
	rk_err rc;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: rekindlectl call SERVICE/METHOD "
		    "[JSON | @FILE | -]\n");
		return (2);
	}
	if ((m = find_method(argv[1], &service)) == NULL) {
		fprintf(stderr, "rekindlectl: no method \"%s\"\n", argv[1]);
		return (2);
	}
	j = strcmp(arg, "-") == 0 ? json_loadf(stdin, 0, &jerr) : *arg == '@' ?
	    json_load_file(arg + 1, 0, &jerr) : json_loads(arg, 0, &jerr);
	if (j == NULL) {
		fprintf(stderr, "rekindlectl: bad JSON: %s (line %d)\n", jerr.text,
		    jerr.line);
		return (2);
	}
	req = pbjson_parse(m->input, j, err, sizeof(err));
	json_decref(j);
	if (req == NULL) {
		fprintf(stderr, "rekindlectl: %s\n", err);
		return (2);
	}
	snprintf(path, sizeof(path), "/%s/%s", service, m->name);
	rc = rkc_unary(c->client, path, req, m->output, c->timeout_ms, &resp,
	    &st);
	protobuf_c_message_free_unpacked(req, NULL);
	if (rc != RK_OK)
		return (ctl_fail(m->name, rc, &st));
	j = pbjson_dump(resp);
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(j);
	protobuf_c_message_free_unpacked(resp, NULL);
	return (0);
}
