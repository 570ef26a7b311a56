/*
 * reflection.h - grpc.reflection.v1 and v1alpha ServerReflection, served
 * from the embedded descriptor set, so grpcurl, Postman, Evans and
 * grpc_cli work with no local .proto files.
 */
#ifndef RK_REFLECTION_H
#define RK_REFLECTION_H

#include "rpc.h"

extern const struct rpc_handler reflection_handlers[];

#endif
