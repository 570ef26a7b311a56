/*
 * rekindle_services.h - the rekindle.v1 services, for the code that walks
 * them: the API's method table and rekindlectl call.
 */
#ifndef RK_REKINDLE_SERVICES_H
#define RK_REKINDLE_SERVICES_H

#include <protobuf-c/protobuf-c.h>

#define REKINDLE_NSERVICES 8

extern const ProtobufCServiceDescriptor *const
    rekindle_services[REKINDLE_NSERVICES];

#endif
