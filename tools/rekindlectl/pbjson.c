/*
 * pbjson.c - JSON <-> protobuf-c by descriptor walking.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "csv.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "mem.h"
#include "pbjson.h"

#define TS_NAME "google.protobuf.Timestamp"
/* The wrapper types, "google.protobuf.<Type>Value": in JSON their plain
 * value (the proto3 JSON mapping), and absent when the field is. */
#define WRAPPER_PREFIX "google.protobuf."
#define FM_NAME "google.protobuf.FieldMask"

static bool parse_into(const ProtobufCMessageDescriptor *d,
    ProtobufCMessage *m, const json_t *j, const char *path, char *err,
    size_t len);

/* Size of one element of a repeated field of type t. */
static size_t
elem_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32: case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_ENUM:
		return (4);
	case PROTOBUF_C_TYPE_FLOAT:
		return (sizeof(float));
	case PROTOBUF_C_TYPE_BOOL:
		return (sizeof(protobuf_c_boolean));
	case PROTOBUF_C_TYPE_STRING: case PROTOBUF_C_TYPE_MESSAGE:
		return (sizeof(void *));
	case PROTOBUF_C_TYPE_BYTES:
		return (sizeof(ProtobufCBinaryData));
	default:
		return (8);
	}
}

/* "validUntil" and "valid_until" both name the field valid_until. */
static const ProtobufCFieldDescriptor *
find_field(const ProtobufCMessageDescriptor *d, const char *key)
{
	char snake[128];
	size_t n = 0;

	for (const char *k = key; *k && n + 2 < sizeof(snake); k++) {
		if (isupper((unsigned char)*k)) {
			snake[n++] = '_';
			snake[n++] = (char)tolower((unsigned char)*k);
		} else
			snake[n++] = *k;
	}
	snake[n] = '\0';
	return (protobuf_c_message_descriptor_get_field_by_name(d, snake));
}

static bool
get_int(const json_t *v, long long *out)
{
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return (true);
	}
	if (json_is_string(v)) {
		char *end;

		*out = strtoll(json_string_value(v), &end, 10);
		return (*json_string_value(v) != '\0' && *end == '\0');
	}
	return (false);
}

/* A wrapper type: google.protobuf.*Value with one field, "value". */
static bool
is_wrapper(const ProtobufCMessageDescriptor *d)
{
	size_t n = strlen(d->name);

	return (strncmp(d->name, WRAPPER_PREFIX, sizeof(WRAPPER_PREFIX) - 1) ==
	    0 && n > 5 && strcmp(d->name + n - 5, "Value") == 0 &&
	    d->n_fields == 1 && strcmp(d->fields[0].name, "value") == 0);
}

/* One value of field f into dst (a field or an array element). */
static bool
set_value(const ProtobufCFieldDescriptor *f, void *dst, const json_t *v,
    const char *path, char *err, size_t len)
{
	long long i;

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		if (!get_int(v, &i) || i < INT32_MIN || i > INT32_MAX)
			break;
		*(int32_t *)dst = (int32_t)i;
		return (true);
	case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
		if (!get_int(v, &i) || i < 0 || i > UINT32_MAX)
			break;
		*(uint32_t *)dst = (uint32_t)i;
		return (true);
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		if (!get_int(v, &i))
			break;
		*(int64_t *)dst = i;
		return (true);
	case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
		if (!get_int(v, &i) || i < 0)
			break;
		*(uint64_t *)dst = (uint64_t)i;
		return (true);
	case PROTOBUF_C_TYPE_FLOAT:
		if (!json_is_number(v))
			break;
		*(float *)dst = (float)json_number_value(v);
		return (true);
	case PROTOBUF_C_TYPE_DOUBLE:
		if (!json_is_number(v))
			break;
		*(double *)dst = json_number_value(v);
		return (true);
	case PROTOBUF_C_TYPE_BOOL:
		if (!json_is_boolean(v))
			break;
		*(protobuf_c_boolean *)dst = json_is_true(v);
		return (true);
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumValue *ev = json_is_string(v) ?
		    protobuf_c_enum_descriptor_get_value_by_name(f->descriptor,
		    json_string_value(v)) : NULL;

		if (ev != NULL)
			*(int *)dst = ev->value;
		else if (get_int(v, &i))
			*(int *)dst = (int)i;
		else
			break;
		return (true);
	}
	case PROTOBUF_C_TYPE_STRING:
		if (!json_is_string(v))
			break;
		*(char **)dst = xstrdup(json_string_value(v));
		return (true);
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessageDescriptor *md = f->descriptor;
		ProtobufCMessage *sub = xcalloc(1, md->sizeof_message);

		protobuf_c_message_init(md, sub);
		*(ProtobufCMessage **)dst = sub;
		if (strcmp(md->name, TS_NAME) == 0 && json_is_string(v)) {
			int64_t us;

			if (csv_time(json_string_value(v), &us) != 0)
				break;
			/* floored: before 1970 the nanos still count up */
			((Google__Protobuf__Timestamp *)(void *)sub)->seconds =
			    us / 1000000 - (us % 1000000 < 0);
			((Google__Protobuf__Timestamp *)(void *)sub)->nanos =
			    (int32_t)((us % 1000000 + 1000000) % 1000000 * 1000);
			return (true);
		}
		if (is_wrapper(md) && !json_is_object(v))
			return (set_value(&md->fields[0], (char *)sub +
			    md->fields[0].offset, v, path, err, len));
		if (strcmp(md->name, FM_NAME) == 0 && json_is_string(v)) {
			json_t *arr = json_array(), *obj;
			char *s = xstrdup(json_string_value(v)), *save, *tok;
			bool ok;

			for (tok = strtok_r(s, ",", &save); tok != NULL;
			    tok = strtok_r(NULL, ",", &save))
				json_array_append_new(arr, json_string(tok));
			free(s);
			obj = json_pack("{s:o}", "paths", arr);
			ok = parse_into(md, sub, obj, path, err, len);
			json_decref(obj);
			return (ok);
		}
		return (parse_into(md, sub, v, path, err, len));
	}
	default:
		snprintf(err, len, "%s: this field type is not supported", path);
		return (false);
	}
	snprintf(err, len, "%s: expected a %s", path, f->type ==
	    PROTOBUF_C_TYPE_ENUM ? "name or number" : f->type ==
	    PROTOBUF_C_TYPE_STRING ? "string" : f->type == PROTOBUF_C_TYPE_BOOL ?
	    "boolean" : "number");
	return (false);
}

/* A map entry type: "...Entry" with fields key and value. */
static bool
is_map_entry(const ProtobufCMessageDescriptor *d)
{
	size_t n = strlen(d->name);

	return (n > 5 && strcmp(d->name + n - 5, "Entry") == 0 &&
	    d->n_fields == 2 && strcmp(d->fields[0].name, "key") == 0 &&
	    strcmp(d->fields[1].name, "value") == 0);
}

static bool
parse_into(const ProtobufCMessageDescriptor *d, ProtobufCMessage *m,
    const json_t *j, const char *path, char *err, size_t len)
{
	const char *key;
	json_t *v;

	if (!json_is_object(j)) {
		snprintf(err, len, "%s: expected an object", *path ? path :
		    "request");
		return (false);
	}
	json_object_foreach((json_t *)j, key, v) {
		const ProtobufCFieldDescriptor *f = find_field(d, key);
		char sub[256];
		char *base = (char *)m;

		snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", key);
		if (f == NULL) {
			snprintf(err, len, "%s: no such field in %s", sub, d->name);
			return (false);
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t es = elem_size(f->type), n;
			const json_t *arr = v;
			json_t *tmp = NULL;
			void *elems;

			if (f->type == PROTOBUF_C_TYPE_MESSAGE &&
			    is_map_entry(f->descriptor) && json_is_object(v)) {
				const char *k;
				json_t *x;

				tmp = json_array();
				json_object_foreach(v, k, x)
					json_array_append_new(tmp, json_pack("{s:s,s:O}",
					    "key", k, "value", x));
				arr = tmp;
			}
			if (!json_is_array(arr)) {
				snprintf(err, len, "%s: expected an array", sub);
				json_decref(tmp);
				return (false);
			}
			n = json_array_size(arr);
			elems = xcalloc(n + 1, es);
			*(void **)(base + f->offset) = elems;
			*(size_t *)(base + f->quantifier_offset) = n;
			for (size_t i = 0; i < n; i++) {
				char el[280];

				snprintf(el, sizeof(el), "%s[%zu]", sub, i);
				if (!set_value(f, (char *)elems + i * es,
				    json_array_get(arr, i), el, err, len)) {
					/* free what is set; the rest stays zero */
					json_decref(tmp);
					return (false);
				}
			}
			json_decref(tmp);
			continue;
		}
		if (json_is_null(v))
			continue;
		if (f->label == PROTOBUF_C_LABEL_OPTIONAL &&
		    f->quantifier_offset != 0 &&
		    f->type != PROTOBUF_C_TYPE_MESSAGE &&
		    f->type != PROTOBUF_C_TYPE_STRING)
			*(protobuf_c_boolean *)(base + f->quantifier_offset) = 1;
		if (f->type == PROTOBUF_C_TYPE_STRING) {
			char **slot = (char **)(base + f->offset);

			if (*slot != NULL && *slot != (char *)f->default_value &&
			    *slot != protobuf_c_empty_string)
				free(*slot);
		}
		if (!set_value(f, base + f->offset, v, sub, err, len))
			return (false);
	}
	return (true);
}

ProtobufCMessage *
pbjson_parse(const ProtobufCMessageDescriptor *d, const json_t *j, char *err,
    size_t errlen)
{
	ProtobufCMessage *m = xcalloc(1, d->sizeof_message);

	protobuf_c_message_init(d, m);
	if (!parse_into(d, m, j, "", err, errlen)) {
		protobuf_c_message_free_unpacked(m, NULL);
		return (NULL);
	}
	return (m);
}

static json_t *dump_message(const ProtobufCMessage *m);

static json_t *
dump_value(const ProtobufCFieldDescriptor *f, const void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return (json_integer(*(const int32_t *)p));
	case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
		return (json_integer(*(const uint32_t *)p));
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return (json_integer(*(const int64_t *)p));
	case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
		return (json_integer((json_int_t)*(const uint64_t *)p));
	case PROTOBUF_C_TYPE_FLOAT:
		return (json_real(*(const float *)p));
	case PROTOBUF_C_TYPE_DOUBLE:
		return (json_real(*(const double *)p));
	case PROTOBUF_C_TYPE_BOOL:
		return (json_boolean(*(const protobuf_c_boolean *)p));
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(
		    f->descriptor, *(const int *)p);

		return (ev ? json_string(ev->name) : json_integer(*(const int *)p));
	}
	case PROTOBUF_C_TYPE_STRING:
		return (json_string(*(char *const *)p ? *(char *const *)p : ""));
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;

		if (sub == NULL)
			return (json_null());
		if (is_wrapper(sub->descriptor))
			return (dump_value(&sub->descriptor->fields[0],
			    (const char *)sub + sub->descriptor->fields[0].offset));
		if (strcmp(sub->descriptor->name, TS_NAME) == 0) {
			const Google__Protobuf__Timestamp *t = (const void *)sub;
			time_t s = (time_t)t->seconds;
			struct tm tm;
			char buf[40];

			gmtime_r(&s, &tm);
			/* the fraction too (fuzz_pbjson: a round trip lost it) */
			if (t->nanos != 0) {
				size_t n = strftime(buf, sizeof(buf),
				    "%Y-%m-%dT%H:%M:%S", &tm);

				snprintf(buf + n, sizeof(buf) - n, ".%06dZ",
				    (int)(t->nanos / 1000));
			} else {
				strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ",
				    &tm);
			}
			return (json_string(buf));
		}
		return (dump_message(sub));
	}
	default:
		return (json_null());
	}
}

static bool
is_default(const ProtobufCFieldDescriptor *f, const void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		return (*(char *const *)p == NULL || **(char *const *)p == '\0');
	case PROTOBUF_C_TYPE_MESSAGE:
		return (*(void *const *)p == NULL);
	case PROTOBUF_C_TYPE_DOUBLE:
		return (*(const double *)p == 0);
	case PROTOBUF_C_TYPE_FLOAT:
		return (*(const float *)p == 0);
	default: {
		static const char zero[8];

		return (memcmp(p, zero, elem_size(f->type)) == 0);
	}
	}
}

static json_t *
dump_message(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	json_t *o = json_object();

	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)m;

		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + f->quantifier_offset),
			    es = elem_size(f->type);
			const char *elems = *(char *const *)(base + f->offset);
			bool map = f->type == PROTOBUF_C_TYPE_MESSAGE &&
			    is_map_entry(f->descriptor);
			json_t *arr = map ? json_object() : json_array();

			if (n == 0) {
				json_decref(arr);
				continue;
			}
			for (size_t k = 0; k < n; k++) {
				json_t *v = dump_value(f, elems + k * es);

				if (map) {
					json_t *key = json_object_get(v, "key"),
					    *val = json_object_get(v, "value");

					json_object_set_new(arr, json_is_string(key) ?
					    json_string_value(key) : "", val ?
					    json_incref(val) : json_integer(0));
					json_decref(v);
				} else
					json_array_append_new(arr, v);
			}
			json_object_set_new(o, f->name, arr);
			continue;
		}
		if (is_default(f, base + f->offset))
			continue;
		json_object_set_new(o, f->name, dump_value(f, base + f->offset));
	}
	return (o);
}

json_t *
pbjson_dump(const ProtobufCMessage *m)
{
	return (dump_message(m));
}
