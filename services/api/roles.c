/*
 * roles.c - who may call what: the one table of role x method. Every
 * method the server serves has a row here (the server refuses to start
 * otherwise), and nowhere else says it; the README's matrix is this table,
 * and tests/integration/test_roles.py calls every method with every role
 * and checks the two agree.
 *
 *	admin	the bank's operators: everything but an agent's own queue
 *	service	the bank's systems feeding rekindle: customers, their
 *		consents and transactions, engagement events and delivery
 *		receipts - nothing of campaigns, offers, profiles or tickets
 *	agent	telesales and customer-service agents: their tickets, their
 *		team, their availability, why a customer is at risk
 */
#include <string.h>

#include "methods.h"

#define A ROLE_ADMIN
#define S ROLE_SERVICE
#define G ROLE_AGENT
#define PUBLIC 0u

static const struct {
	const char *method;	/* "Service/Method" of rekindle.v1 or grpc */
	unsigned roles;
} matrix[] = {
	/* clang-format off */
	{"grpc.health.v1.Health/Check",				PUBLIC},
	{"grpc.health.v1.Health/Watch",				PUBLIC},
	{"grpc.reflection.v1.ServerReflection/ServerReflectionInfo",	PUBLIC},
	{"grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", PUBLIC},
	{"CustomerService/UpsertCustomers",		A | S},
	{"CustomerService/IngestTransactions",		A | S},
	{"CustomerService/GetCustomer",			A | S},
	{"CustomerService/ListCustomers",		A | S},
	{"CustomerService/ListTransactions",		A | S},
	{"CustomerService/UpdateConsent",		A | S},
	{"CustomerService/ListConsentEvents",		A | S},
	{"CustomerService/ExportCustomerData",		A},
	{"CustomerService/EraseCustomer",		A},
	{"CustomerService/UpdateDoNotCall",		A | S},
	{"CustomerService/UpsertFxRates",		A | S},
	{"CustomerService/ListFxRates",			A | S},
	{"CustomerService/UpsertPartners",		A},
	{"CustomerService/ListPartners",		A},
	{"CustomerService/UpsertPromotions",		A},
	{"CustomerService/ListPromotions",		A},
	{"CustomerService/DeletePromotion",		A},
	{"EngagementService/RecordEvents",		A | S},
	{"EngagementService/RecordDeliveryReceipts",	A | S},
	{"EngagementService/ListEvents",		A | S},
	{"ProfileService/RunProfiling",			A},
	{"ProfileService/GetOperation",			A},
	{"ProfileService/GetProfile",			A},
	{"ProfileService/ListProfiles",			A},
	{"ProfileService/GetModelReport",		A},
	{"ProfileService/ExplainChurnRisk",		A | G},
	{"OfferService/CreateOffer",			A},
	{"OfferService/GetOffer",			A},
	{"OfferService/ListOffers",			A},
	{"OfferService/UpdateOffer",			A},
	{"OfferService/AddVoucherCodes",		A},
	{"CampaignService/CreateCampaign",		A},
	{"CampaignService/GetCampaign",			A},
	{"CampaignService/ListCampaigns",		A},
	{"CampaignService/UpdateCampaign",		A},
	{"CampaignService/LaunchCampaign",		A},
	{"CampaignService/PauseCampaign",		A},
	{"CampaignService/ResumeCampaign",		A},
	{"CampaignService/CancelCampaign",		A},
	{"CampaignService/GetOperation",		A},
	{"CampaignService/GetCampaignStats",		A},
	{"CampaignService/GetCampaignReport",		A},
	{"CampaignService/ListMessages",		A},
	{"AgentService/CreateTeam",			A},
	{"AgentService/ListTeams",			A | G},
	{"AgentService/CreateAgent",			A},
	{"AgentService/GetAgent",			A | G},
	{"AgentService/ListAgents",			A | G},
	{"AgentService/UpdateAgent",			A},
	{"AgentService/SetAvailability",		A | G},
	{"AgentService/CreateToken",			A},
	{"AgentService/ListTokens",			A},
	{"AgentService/RevokeToken",			A},
	{"TicketService/GetTicket",			A | G},
	{"TicketService/ListTickets",			A | G},
	{"TicketService/ClaimNextTicket",		G},
	{"TicketService/UpdateTicket",			A | G},
	{"TicketService/LogCallAttempt",		A | G},
	{"TicketService/ResolveTicket",			A | G},
	{"TicketService/AddNote",			A | G},
	{"AuditService/ListAuditEvents",		A},
	/* clang-format on */
};

bool
roles_of(const char *path, unsigned *roles)
{
	/* path: "/rekindle.v1.CustomerService/GetCustomer" */
	const char *p = strncmp(path, "/rekindle.v1.", 13) == 0 ? path + 13 :
	    path + 1;

	for (size_t i = 0; i < sizeof(matrix) / sizeof(matrix[0]); i++)
		if (strcmp(matrix[i].method, p) == 0) {
			*roles = matrix[i].roles;
			return (true);
		}
	return (false);
}
