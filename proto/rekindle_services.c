/*
 * rekindle_services.c - the rekindle.v1 service descriptors.
 */
#include "rekindle/v1/agent.pb-c.h"
#include "rekindle/v1/audit.pb-c.h"
#include "rekindle/v1/campaign.pb-c.h"
#include "rekindle/v1/customer.pb-c.h"
#include "rekindle/v1/engagement.pb-c.h"
#include "rekindle/v1/offer.pb-c.h"
#include "rekindle/v1/profile.pb-c.h"
#include "rekindle/v1/ticket.pb-c.h"
#include "rekindle_services.h"

const ProtobufCServiceDescriptor *const rekindle_services[REKINDLE_NSERVICES] = {
	&rekindle__v1__customer_service__descriptor,
	&rekindle__v1__profile_service__descriptor,
	&rekindle__v1__offer_service__descriptor,
	&rekindle__v1__campaign_service__descriptor,
	&rekindle__v1__engagement_service__descriptor,
	&rekindle__v1__ticket_service__descriptor,
	&rekindle__v1__agent_service__descriptor,
	&rekindle__v1__audit_service__descriptor,
};
