/*
 * pbjson.h - protobuf-c messages to and from JSON, by their descriptors
 * (the proto3 JSON mapping with the .proto field names): enums by name or
 * number, 64-bit integers as numbers or strings, Timestamps as RFC 3339,
 * FieldMasks as "a,b", map entries as objects. Lets rekindlectl call any
 * unary method with a JSON request.
 */
#ifndef RK_PBJSON_H
#define RK_PBJSON_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

/*
 * A new message of type d from j (free it with
 * protobuf_c_message_free_unpacked(m, NULL)), or NULL with err (errlen
 * bytes) saying which field is wrong.
 */
ProtobufCMessage *pbjson_parse(const ProtobufCMessageDescriptor *d,
    const json_t *j, char *err, size_t errlen);

/* m as JSON (new reference); fields at their defaults are left out. */
json_t *pbjson_dump(const ProtobufCMessage *m);

#endif
