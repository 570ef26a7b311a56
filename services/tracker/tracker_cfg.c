/*
 * tracker_cfg.c - rekindle-tracker's configuration table.
 */
#include "tracker_cfg.h"

char *var_listen_address, *var_tracker_port_file;
char *var_mo_cpid, *var_mo_private_key, *var_optout_keywords,
    *var_optout_confirmation, *var_zalo_app_id, *var_zalo_oa_secret_key,
    *var_zalo_optout_events;
int var_listen_port, var_threads;

const struct cfg_entry tracker_cfg[] = {
	{"tracker_listen_address", CFG_STR, "127.0.0.1", &var_listen_address, 0,
	    0, 0, "address the link endpoint listens on"},
	{"tracker_port", CFG_INT, "8080", &var_listen_port, 0, 65535, 0,
	    "port of the link endpoint (0: any free port)"},
	{"tracker_threads", CFG_INT, "4", &var_threads, 1, 64, 0,
	    "threads serving links, each with its database connection"},
	{"tracker_port_file", CFG_STR, "", &var_tracker_port_file, 0, 0, 0,
	    "if set, the bound port is written here once serving"},
	/* inbound opt-out (inbound.c) */
	{"mo_cpid", CFG_STR, "", &var_mo_cpid, 0, 0, 0,
	    "the SMS gateway's CP id for the MO webhook (GET /mo/sms); empty: "
	    "the webhook is off"},
	{"mo_private_key", CFG_STR, "", &var_mo_private_key, 0, 0, CFG_SECRET,
	    "the CP's private key the gateway signs each MO with"},
	{"optout_keywords", CFG_STR, "TC,HUY,TU CHOI,STOP",
	    &var_optout_keywords, 0, 0, 0, "replies that withdraw advertising "
	    "SMS consent (comma-separated; matched without regard to case, "
	    "diacritics or spacing, as the whole reply or its first words)"},
	{"optout_confirmation", CFG_STR, "Ngan hang da nhan yeu cau tu choi "
	    "nhan tin quang cao cua Quy khach luc {received}. Tu {stopped} Quy "
	    "khach se khong nhan tin quang cao qua SMS.",
	    &var_optout_confirmation, 0, 0, 0, "the one confirmation an SMS "
	    "opt-out is owed (customer care, no advertising): {received} and "
	    "{stopped} are the times"},
	{"zalo_app_id", CFG_STR, "", &var_zalo_app_id, 0, 0, 0,
	    "the Zalo app id for the OA webhook (POST /mo/zalo); empty: off"},
	{"zalo_oa_secret_key", CFG_STR, "", &var_zalo_oa_secret_key, 0, 0,
	    CFG_SECRET, "the OA secret key Zalo signs each event with"},
	{"zalo_optout_events", CFG_STR, "user_reject_zns,user_block_oa,unfollow",
	    &var_zalo_optout_events, 0, 0, 0, "Zalo event names that withdraw "
	    "ZNS consent for the event's phone number"},
	CFG_END,
};
