/*
 * offers_cmd.c - rekindlectl offers create | list | get | update |
 * add-codes: the offers a CRM team writes as readable YAML (or JSON)
 * files - the fields of rekindle.v1.Offer, enums by name - instead of raw
 * gRPC requests.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/* A file's document, unwrapped if it says {"offer": {...}}. */
static json_t *
load(const char *path, const char *field)
{
	json_t *doc = ctl_load_doc(path), *inner;

	if (doc == NULL)
		return (NULL);
	if (!json_is_object(doc)) {
		fprintf(stderr, "rekindlectl: %s: not a mapping of %s fields\n",
		    path, field);
		json_decref(doc);
		return (NULL);
	}
	if ((inner = json_object_get(doc, field)) != NULL &&
	    json_is_object(inner)) {
		json_incref(inner);
		json_decref(doc);
		return (inner);
	}
	return (doc);
}

int
ctl_create(struct ctl *c, const char *what, const char *method,
    const char *path, const char *request_id)
{
	json_t *obj = load(path, what), *req, *out;
	int status;

	if (obj == NULL)
		return (2);
	req = json_pack("{s:o}", what, obj);
	if (request_id != NULL)
		json_object_set_new(req, "request_id", json_string(request_id));
	status = ctl_rpc(c, method, req, &out);
	json_decref(req);
	if (status != 0)
		return (status);
	return (ctl_show(c, out));
}

int
ctl_update(struct ctl *c, const char *what, const char *idfield,
    const char *method, const char *id, const char *path)
{
	json_t *obj = load(path, what), *req, *out, *v;
	const char *k;
	char *mask = NULL;
	size_t len = 0;
	int status;

	if (obj == NULL)
		return (2);
	/* the mask: the fields the file gives */
	json_object_foreach(obj, k, v) {
		if (strcmp(k, idfield) == 0)
			continue;
		mask = realloc(mask, len + strlen(k) + 2);
		if (mask == NULL)
			abort();
		len += (size_t)sprintf(mask + len, "%s%s", len ? "," : "", k);
	}
	if (mask == NULL) {
		fprintf(stderr, "rekindlectl: %s gives no field to change\n", path);
		json_decref(obj);
		return (2);
	}
	json_object_set_new(obj, idfield, json_string(id));
	req = json_pack("{s:o,s:s}", what, obj, "update_mask", mask);
	free(mask);
	status = ctl_rpc(c, method, req, &out);
	json_decref(req);
	if (status != 0)
		return (status);
	return (ctl_show(c, out));
}

int
ctl_get(struct ctl *c, const char *method, const char *idfield,
    const char *id)
{
	json_t *req = json_pack("{s:s}", idfield, id), *out;
	int status = ctl_rpc(c, method, req, &out);

	json_decref(req);
	if (status != 0)
		return (status);
	return (ctl_show(c, out));
}

static int
list(struct ctl *c)
{
	json_t *req = json_pack("{s:i}", "page_size", 500), *out, *o, *all;
	size_t i;
	int status = ctl_rpc(c, "OfferService/ListOffers", req, &out);

	json_decref(req);
	if (status != 0)
		return (status);
	all = json_object_get(out, "offers");
	if (c->json)
		ctl_print_json(all ? all : json_array());
	else {
		printf("%-16s %-28s %-28s %-18s %-20s %s\n", "offer", "kind",
		    "title", "partner/category", "valid until", "budget used");
		json_array_foreach(all, i, o) {
			json_t *used = json_object_get(o, "budget_used");
			const char *pc = *ctl_jstr(o, "partner_id") ?
			    ctl_jstr(o, "partner_id") : ctl_jstr(o, "category");

			printf("%-16s %-28s %-28.28s %-18s %-20s %s\n",
			    ctl_jstr(o, "offer_id"), ctl_jstr(o, "kind"),
			    ctl_jstr(o, "title"), *pc ? pc : "-",
			    ctl_jstr(o, "valid_until"), used ?
			    ctl_jstr(used, "amount_minor") : "0");
		}
	}
	json_decref(out);
	return (0);
}

/* Codes one a line, sent 1,000 at a time. */
static int
add_codes(struct ctl *c, const char *id, const char *path)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char line[256];
	long total = 0;
	json_t *codes = json_array();
	int status = 0;

	if (fp == NULL) {
		fprintf(stderr, "rekindlectl: cannot read %s\n", path);
		json_decref(codes);
		return (2);
	}
	for (;;) {
		bool eof = fgets(line, sizeof(line), fp) == NULL;

		if (!eof) {
			line[strcspn(line, "\r\n")] = '\0';
			if (*line != '\0')
				json_array_append_new(codes, json_string(line));
		}
		if (json_array_size(codes) == 1000 || (eof &&
		    json_array_size(codes) > 0)) {
			json_t *req = json_pack("{s:s,s:O}", "offer_id", id, "codes",
			    codes), *out;

			status = ctl_rpc(c, "OfferService/AddVoucherCodes", req, &out);
			json_decref(req);
			if (status != 0)
				break;
			total += (long)json_array_size(codes);
			json_decref(out);
			json_array_clear(codes);
		}
		if (eof)
			break;
	}
	json_decref(codes);
	if (fp != stdin)
		fclose(fp);
	if (status == 0)
		printf("%ld codes sent for offer %s\n", total, id);
	return (status);
}

int
cmd_offers(struct ctl *c, int argc, char **argv)
{
	const char *rid = NULL;

	for (int i = 3; i + 1 < argc; i++)
		if (strcmp(argv[i], "--request-id") == 0)
			rid = argv[i + 1];
	if (argc >= 3 && strcmp(argv[1], "create") == 0)
		return (ctl_create(c, "offer", "OfferService/CreateOffer", argv[2],
		    rid));
	if (argc == 2 && strcmp(argv[1], "list") == 0)
		return (list(c));
	if (argc == 3 && strcmp(argv[1], "get") == 0)
		return (ctl_get(c, "OfferService/GetOffer", "offer_id", argv[2]));
	if (argc == 4 && strcmp(argv[1], "update") == 0)
		return (ctl_update(c, "offer", "offer_id",
		    "OfferService/UpdateOffer", argv[2], argv[3]));
	if (argc == 4 && strcmp(argv[1], "add-codes") == 0)
		return (add_codes(c, argv[2], argv[3]));
	ctl_usage(stderr, "offers");
	return (2);
}
