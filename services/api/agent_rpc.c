/*
 * agent_rpc.c - rekindle.v1.AgentService: telesales teams (routing mode,
 * SLA in business hours, supervisor) and agents (skills, capacity,
 * working hours, availability). An agent who becomes unavailable loses
 * their open tickets to the rest of the team at once (tickets.h). The
 * token methods of the service are in token_rpc.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent_rpc.h"
#include "idem.h"
#include "log.h"
#include "rekindle/v1/agent.pb-c.h"
#include "tickets.h"
#include "validate.h"

#define MAX_SKILLS 32

static const char *const day_names[] = {"mon", "tue", "wed", "thu", "fri",
	"sat", "sun"};

static int
day_of(const char *s)
{
	for (int i = 0; i < 7; i++)
		if (strncasecmp(s, day_names[i], 3) == 0)
			return (i + 1);
	return (0);
}

/*
 * "Mon-Fri 08:00-17:00" or "Mon,Wed,Sat 09:30-12:00" into ISO days
 * ("{1,2,3,4,5}") and minutes; false if it is not that.
 */
static bool
parse_hours(arena *a, const char *s, const char **days, int *from, int *to)
{
	int d1, d2, h1, m1, h2, m2, n = 0;
	char set[8] = {0};
	const char *p = s, *sp = strchr(s, ' ');
	char *out;

	if (sp == NULL || sscanf(sp + 1, "%d:%d-%d:%d%n", &h1, &m1, &h2, &m2,
	    &n) != 4 || sp[1 + n] != '\0' || h1 < 0 || m1 < 0 || m1 > 59 ||
	    h2 < 0 || m2 < 0 || m2 > 59 || h1 * 60 + m1 >= h2 * 60 + m2 ||
	    h2 * 60 + m2 > 1440)
		return (false);
	if (sp - s == 7 && s[3] == '-') {
		if ((d1 = day_of(s)) == 0 || (d2 = day_of(s + 4)) == 0 || d2 < d1)
			return (false);
		for (int d = d1; d <= d2; d++)
			set[d] = 1;
	} else
		for (; p < sp; p += 4) {
			if ((d1 = day_of(p)) == 0 || (p[3] != ',' && p + 3 != sp))
				return (false);
			set[d1] = 1;
		}
	out = arena_alloc(a, 20);
	strcpy(out, "{");
	for (int d = 1; d <= 7; d++)
		if (set[d])
			sprintf(out + strlen(out), "%s%d", strlen(out) > 1 ? "," : "", d);
	strcat(out, "}");
	*days = out;
	*from = h1 * 60 + m1;
	*to = h2 * 60 + m2;
	return (true);
}

/* "Mon-Fri 08:00-17:00" from days and minutes (the API's form). */
static char *
hours_text(arena *a, const char *days, int from, int to)
{
	size_t n;
	char **v = db_array_split(a, days, &n);
	char *s = arena_strdup(a, "");

	for (size_t i = 0; i < n; i++) {
		int d = atoi(v[i]);

		s = arena_printf(a, "%s%s%c%s", s, i ? "," : "",
		    day_names[d - 1][0] - 32, day_names[d - 1] + 1);
	}
	return (arena_printf(a, "%s %02d:%02d-%02d:%02d", s, from / 60,
	    from % 60, to / 60, to % 60));
}

#define AGENT_SQL                                                         \
	"SELECT a.agent_id, a.team_id, a.display_name, a.skills::text, "      \
	" a.capacity, a.available, a.work_days::text, a.work_start_min, "     \
	" a.work_end_min, a.time_zone, (SELECT count(*) FROM tickets t "      \
	" WHERE t.agent_id = a.agent_id AND t.state < 5) FROM agents a "

static Rekindle__V1__Agent *
agent_of(arena *a, db_res *r, int i)
{
	Rekindle__V1__Agent *g = arena_alloc(a, sizeof(*g));
	size_t n;

	rekindle__v1__agent__init(g);
	g->agent_id = arena_strdup(a, db_res_str(r, i, 0));
	g->team_id = arena_strdup(a, db_res_str(r, i, 1));
	g->display_name = arena_strdup(a, db_res_str(r, i, 2));
	g->skills = db_array_split(a, db_res_str(r, i, 3), &n);
	g->n_skills = n;
	g->capacity = (int32_t)db_res_int64(r, i, 4);
	g->available = db_res_bool(r, i, 5);
	g->working_hours = hours_text(a, db_res_str(r, i, 6),
	    (int)db_res_int64(r, i, 7), (int)db_res_int64(r, i, 8));
	g->time_zone = arena_strdup(a, db_res_str(r, i, 9));
	g->open_tickets = (int32_t)db_res_int64(r, i, 10);
	return (g);
}

static rk_err
load_agent(rpc_call *c, const char *id, Rekindle__V1__Agent **out)
{
	db_res *r;
	rk_err rc;

	if ((rc = db_execp(rpc_db(c), "agent_get", AGENT_SQL
	    "WHERE a.agent_id = $1", 1, &id, &r)) != RK_OK)
		return (rc);
	if (db_res_nrows(r) == 0) {
		db_res_free(r);
		return (rpc_error(c, RK_ENOTFOUND, "no agent %s", id));
	}
	*out = agent_of(rpc_arena(c), r, 0);
	db_res_free(r);
	return (RK_OK);
}

/* The agent a token of role agent speaks for, or NULL. */
const char *
agent_of_caller(rpc_call *c)
{
	const char *p[1] = {arena_printf(rpc_arena(c), "%lld",
	    (long long)rpc_token_id(c))};
	const char *id = NULL;
	db_res *r;

	if (rpc_role(c) != ROLE_AGENT || db_execp(rpc_db(c), "agent_caller",
	    "SELECT agent_id FROM api_tokens WHERE id = $1 AND agent_id IS NOT "
	    "NULL", 1, p, &r) != RK_OK)
		return (NULL);
	if (db_res_nrows(r) == 1)
		id = arena_strdup(rpc_arena(c), db_res_str(r, 0, 0));
	db_res_free(r);
	return (id);
}

static rk_err
write_team(rpc_call *c, const ProtobufCMessage *req, ProtobufCMessage **resp)
{
	const Rekindle__V1__CreateTeamRequest *r = (const void *)req;
	const Rekindle__V1__Team *t = r->team;
	arena *a = rpc_arena(c);
	const char *p[5] = {t->team_id, t->name, arena_printf(a, "%d",
	    t->routing), arena_printf(a, "%d", t->sla_business_hours > 0 ?
	    t->sla_business_hours : 4), *t->supervisor_agent_id ?
	    t->supervisor_agent_id : NULL};
	Rekindle__V1__Team *out;
	rk_err rc;

	rc = db_execp(rpc_db(c), "team_insert", "INSERT INTO teams (team_id, "
	    "name, routing, sla_business_hours, supervisor_agent_id) VALUES "
	    "($1, $2, $3, $4, $5)", 5, p, NULL);
	if (rc == RK_ECONFLICT)
		return (rpc_error(c, rc, "team %s exists", t->team_id));
	if (rc != RK_OK)
		return (rc);
	out = arena_alloc(a, sizeof(*out));
	*out = *t;
	out->sla_business_hours = atoi(p[3]);
	*resp = &out->base;
	return (RK_OK);
}

static rk_err
create_team(rpc_call *c, const ProtobufCMessage *req, ProtobufCMessage **resp)
{
	const Rekindle__V1__CreateTeamRequest *r = (const void *)req;
	const char *why;

	if (r->team == NULL)
		return (rpc_bad_field(c, "team", "is required"));
	if ((why = validate_id(r->team->team_id)) != NULL)
		rpc_bad_field(c, "team.team_id", "%s", why);
	if ((why = validate_text(r->team->name, 200)) != NULL ||
	    *r->team->name == '\0')
		rpc_bad_field(c, "team.name", "%s", why ? why : "is required");
	if (r->team->routing < 1 || r->team->routing > 3)
		rpc_bad_field(c, "team.routing", "round-robin, least-loaded or "
		    "skills");
	if (r->team->sla_business_hours < 0 || r->team->sla_business_hours > 720)
		rpc_bad_field(c, "team.sla_business_hours", "must be 0..720");
	if (*r->team->supervisor_agent_id &&
	    (why = validate_id(r->team->supervisor_agent_id)) != NULL)
		rpc_bad_field(c, "team.supervisor_agent_id", "%s", why);
	if (r->request_id && *r->request_id &&
	    (why = validate_id(r->request_id)) != NULL)
		rpc_bad_field(c, "request_id", "%s", why);
	if (rpc_fields_ok(c) != RK_OK)
		return (RK_EINVAL);
	return (idem_transaction(c, "CreateTeam", r->request_id, req,
	    &rekindle__v1__team__descriptor, write_team, resp));
}

static rk_err
list_teams(rpc_call *c, const ProtobufCMessage *req, ProtobufCMessage **resp)
{
	const Rekindle__V1__ListTeamsRequest *r = (const void *)req;
	Rekindle__V1__ListTeamsResponse *out;
	int size = r->page_size <= 0 || r->page_size > 100 ? 100 : r->page_size;
	arena *a = rpc_arena(c);
	const char *p[2] = {r->page_token ? r->page_token : "",
	    arena_printf(a, "%d", size + 1)};
	db_res *res;
	rk_err rc;
	int n;

	if ((rc = db_execp(rpc_db(c), "team_list", "SELECT team_id, name, "
	    "routing, sla_business_hours, coalesce(supervisor_agent_id, '') "
	    "FROM teams WHERE team_id > $1 ORDER BY team_id LIMIT $2", 2, p,
	    &res)) != RK_OK)
		return (rc);
	n = db_res_nrows(res);
	out = arena_alloc(a, sizeof(*out));
	rekindle__v1__list_teams_response__init(out);
	out->n_teams = (size_t)(n > size ? size : n);
	out->teams = arena_alloc(a, sizeof(void *) * (out->n_teams + 1));
	for (size_t i = 0; i < out->n_teams; i++) {
		Rekindle__V1__Team *t = arena_alloc(a, sizeof(*t));

		rekindle__v1__team__init(t);
		t->team_id = arena_strdup(a, db_res_str(res, (int)i, 0));
		t->name = arena_strdup(a, db_res_str(res, (int)i, 1));
		t->routing = (Rekindle__V1__RoutingMode)db_res_int64(res, (int)i, 2);
		t->sla_business_hours = (int32_t)db_res_int64(res, (int)i, 3);
		t->supervisor_agent_id = arena_strdup(a, db_res_str(res, (int)i, 4));
		out->teams[i] = t;
	}
	out->next_page_token = n > size ? out->teams[size - 1]->team_id : "";
	db_res_free(res);
	*resp = &out->base;
	return (RK_OK);
}

/* The agent's working days and minutes (08:00-17:00 Mon-Fri unless
 * working_hours says otherwise); false if working_hours is malformed. */
static bool
agent_hours(arena *a, const Rekindle__V1__Agent *g, const char **days,
    int *from, int *to)
{
	*days = "{1,2,3,4,5}";
	*from = 8 * 60;
	*to = 17 * 60;
	return (*g->working_hours == '\0' || parse_hours(a, g->working_hours,
	    days, from, to));
}

/* Checks an agent's fields; *days, *from, *to from working_hours. */
static void
check_agent(rpc_call *c, const Rekindle__V1__Agent *g, const char **days,
    int *from, int *to)
{
	const char *why;

	if ((why = validate_id(g->agent_id)) != NULL)
		rpc_bad_field(c, "agent.agent_id", "%s", why);
	if ((why = validate_id(g->team_id)) != NULL)
		rpc_bad_field(c, "agent.team_id", "%s", why);
	if ((why = validate_text(g->display_name, 200)) != NULL ||
	    *g->display_name == '\0')
		rpc_bad_field(c, "agent.display_name", "%s", why ? why :
		    "is required");
	if (g->n_skills > MAX_SKILLS)
		rpc_bad_field(c, "agent.skills", "at most %d", MAX_SKILLS);
	for (size_t i = 0; i < g->n_skills; i++)
		if ((why = validate_text(g->skills[i], 64)) != NULL ||
		    *g->skills[i] == '\0')
			rpc_bad_field(c, arena_printf(rpc_arena(c), "agent.skills[%zu]",
			    i), "%s", why ? why : "is empty");
	if (g->capacity < 0 || g->capacity > 1000)
		rpc_bad_field(c, "agent.capacity", "must be 1..1000");
	if (!agent_hours(rpc_arena(c), g, days, from, to))
		rpc_bad_field(c, "agent.working_hours", "must be like \"Mon-Fri "
		    "08:00-17:00\" or \"Mon,Wed 09:00-12:00\"");
	if (*g->time_zone && (why = validate_time_zone(g->time_zone)) != NULL)
		rpc_bad_field(c, "agent.time_zone", "%s", why);
}

static rk_err
write_agent(rpc_call *c, const ProtobufCMessage *req, ProtobufCMessage **resp)
{
	const Rekindle__V1__CreateAgentRequest *r = (const void *)req;
	const Rekindle__V1__Agent *g = r->agent;
	arena *a = rpc_arena(c);
	const char *days, *p[10];
	Rekindle__V1__Agent *out;
	int from, to;
	rk_err rc;

	(void)agent_hours(a, g, &days, &from, &to);	/* checked before */
	p[0] = g->agent_id;
	p[1] = g->team_id;
	p[2] = g->display_name;
	p[3] = db_text_array(a, (const char *const *)g->skills, g->n_skills);
	p[4] = arena_printf(a, "%d", g->capacity > 0 ? g->capacity : 10);
	p[5] = g->available ? "true" : "false";
	p[6] = days;
	p[7] = arena_printf(a, "%d", from);
	p[8] = arena_printf(a, "%d", to);
	p[9] = *g->time_zone ? g->time_zone : "Asia/Ho_Chi_Minh";
	{
		db_res *t;

		if ((rc = db_execp(rpc_db(c), "agent_team", "SELECT 1 FROM teams "
		    "WHERE team_id = $1", 1, p + 1, &t)) != RK_OK)
			return (rc);
		from = db_res_nrows(t);
		db_res_free(t);
		if (from == 0)
			return (rpc_error(c, RK_EPRECOND, "no team %s: create it "
			    "first", g->team_id));
	}
	rc = db_execp(rpc_db(c), "agent_insert", "INSERT INTO agents (agent_id, "
	    "team_id, display_name, skills, capacity, available, work_days, "
	    "work_start_min, work_end_min, time_zone) VALUES ($1, $2, $3, "
	    "$4::text[], $5, $6, $7::smallint[], $8, $9, $10)", 10, p, NULL);
	if (rc == RK_ECONFLICT)
		return (rpc_error(c, rc, "agent %s exists", g->agent_id));
	if (rc != RK_OK || (rc = load_agent(c, g->agent_id, &out)) != RK_OK)
		return (rc);
	*resp = &out->base;
	return (RK_OK);
}

static rk_err
create_agent(rpc_call *c, const ProtobufCMessage *req, ProtobufCMessage **resp)
{
	const Rekindle__V1__CreateAgentRequest *r = (const void *)req;
	const char *days;
	int from, to;

	if (r->agent == NULL)
		return (rpc_bad_field(c, "agent", "is required"));
	check_agent(c, r->agent, &days, &from, &to);
	if (rpc_fields_ok(c) != RK_OK)
		return (RK_EINVAL);
	return (idem_transaction(c, "CreateAgent", r->request_id, req,
	    &rekindle__v1__agent__descriptor, write_agent, resp));
}

static rk_err
get_agent(rpc_call *c, const ProtobufCMessage *req, ProtobufCMessage **resp)
{
	const Rekindle__V1__GetAgentRequest *r = (const void *)req;
	Rekindle__V1__Agent *out;
	rk_err rc;

	if (validate_id(r->agent_id) != NULL)
		return (rpc_bad_field(c, "agent_id", "%s", validate_id(r->agent_id)));
	if ((rc = load_agent(c, r->agent_id, &out)) != RK_OK)
		return (rc);
	*resp = &out->base;
	return (RK_OK);
}

static rk_err
list_agents(rpc_call *c, const ProtobufCMessage *req, ProtobufCMessage **resp)
{
	const Rekindle__V1__ListAgentsRequest *r = (const void *)req;
	Rekindle__V1__ListAgentsResponse *out;
	int size = r->page_size <= 0 || r->page_size > 100 ? 100 : r->page_size;
	arena *a = rpc_arena(c);
	const char *p[3] = {r->page_token ? r->page_token : "",
	    arena_printf(a, "%d", size + 1), *r->team_id ? r->team_id : NULL};
	db_res *res;
	rk_err rc;
	int n;

	if ((rc = db_execp(rpc_db(c), "agent_list", AGENT_SQL "WHERE "
	    "a.agent_id > $1 AND ($3::text IS NULL OR a.team_id = $3) "
	    "ORDER BY a.agent_id LIMIT $2", 3, p, &res)) != RK_OK)
		return (rc);
	n = db_res_nrows(res);
	out = arena_alloc(a, sizeof(*out));
	rekindle__v1__list_agents_response__init(out);
	out->n_agents = (size_t)(n > size ? size : n);
	out->agents = arena_alloc(a, sizeof(void *) * (out->n_agents + 1));
	for (size_t i = 0; i < out->n_agents; i++)
		out->agents[i] = agent_of(a, res, (int)i);
	out->next_page_token = n > size ? out->agents[size - 1]->agent_id : "";
	db_res_free(res);
	*resp = &out->base;
	return (RK_OK);
}

static rk_err
update_agent(rpc_call *c, const ProtobufCMessage *req, ProtobufCMessage **resp)
{
	const Rekindle__V1__UpdateAgentRequest *r = (const void *)req;
	const Rekindle__V1__Agent *g = r->agent;
	arena *a = rpc_arena(c);
	Rekindle__V1__Agent *out;
	const char *days, *p[8];
	int from, to, mask = 0;
	rk_err rc;

	if (g == NULL)
		return (rpc_bad_field(c, "agent", "is required"));
	if (r->update_mask == NULL || r->update_mask->n_paths == 0)
		return (rpc_bad_field(c, "update_mask", "name the fields to "
		    "change"));
	for (size_t i = 0; i < r->update_mask->n_paths; i++) {
		static const char *const ok[] = {"display_name", "skills",
		    "capacity", "working_hours", "time_zone"};
		size_t k;

		for (k = 0; k < 5; k++)
			if (strcmp(r->update_mask->paths[i], ok[k]) == 0)
				break;
		if (k == 5)
			rpc_bad_field(c, arena_printf(a, "update_mask.paths[%zu]", i),
			    "cannot change \"%s\"", r->update_mask->paths[i]);
		mask |= 1 << k;
	}
	{
		Rekindle__V1__Agent probe = *g;

		/* the fields not being changed are not checked */
		if (!(mask & 1))
			probe.display_name = "x";
		probe.team_id = "x";
		check_agent(c, &probe, &days, &from, &to);
	}
	if ((rc = rpc_fields_ok(c)) != RK_OK || (rc = rpc_begin(c)) != RK_OK)
		return (rc);
	p[0] = g->agent_id;
	p[1] = mask & 1 ? g->display_name : NULL;
	p[2] = mask & 2 ? db_text_array(a, (const char *const *)g->skills,
	    g->n_skills) : NULL;
	p[3] = mask & 4 ? arena_printf(a, "%d", g->capacity > 0 ? g->capacity :
	    10) : NULL;
	p[4] = mask & 8 ? days : NULL;
	p[5] = mask & 8 ? arena_printf(a, "%d", from) : NULL;
	p[6] = mask & 8 ? arena_printf(a, "%d", to) : NULL;
	p[7] = mask & 16 ? g->time_zone : NULL;
	rc = db_execp(rpc_db(c), "agent_update", "UPDATE agents SET "
	    "display_name = coalesce($2, display_name), skills = "
	    "coalesce($3::text[], skills), capacity = coalesce($4::int, "
	    "capacity), work_days = coalesce($5::smallint[], work_days), "
	    "work_start_min = coalesce($6::int, work_start_min), work_end_min = "
	    "coalesce($7::int, work_end_min), time_zone = coalesce($8, "
	    "time_zone), updated_at = now() WHERE agent_id = $1", 8, p, NULL);
	if (rc == RK_OK)
		rc = load_agent(c, g->agent_id, &out);
	if (rc != RK_OK || (rc = db_commit(rpc_db(c))) != RK_OK) {
		db_rollback(rpc_db(c));
		return (rc);
	}
	*resp = &out->base;
	return (RK_OK);
}

static rk_err
set_availability(rpc_call *c, const ProtobufCMessage *req,
    ProtobufCMessage **resp)
{
	const Rekindle__V1__SetAvailabilityRequest *r = (const void *)req;
	const char *p[2] = {r->agent_id, r->available ? "true" : "false"}, *me;
	Rekindle__V1__Agent *out;
	db_res *res;
	rk_err rc;
	int moved = 0;
	bool was;

	if (validate_id(r->agent_id) != NULL)
		return (rpc_bad_field(c, "agent_id", "%s", validate_id(r->agent_id)));
	if ((rc = rpc_begin(c)) != RK_OK)
		return (rc);
	me = agent_of_caller(c);
	if (rpc_role(c) == ROLE_AGENT && (me == NULL || strcmp(me,
	    r->agent_id) != 0)) {
		db_rollback(rpc_db(c));
		return (rpc_error(c, RK_EPERM, "an agent sets only their own "
		    "availability"));
	}
	rc = db_execp(rpc_db(c), "agent_avail", "WITH old AS (SELECT available "
	    "FROM agents WHERE agent_id = $1 FOR UPDATE) UPDATE agents a SET "
	    "available = $2, updated_at = now() FROM old WHERE a.agent_id = $1 "
	    "RETURNING old.available", 2, p, &res);
	if (rc != RK_OK) {
		db_rollback(rpc_db(c));
		return (rc);
	}
	if (db_res_nrows(res) == 0) {
		db_res_free(res);
		db_rollback(rpc_db(c));
		return (rpc_error(c, RK_ENOTFOUND, "no agent %s", r->agent_id));
	}
	was = db_res_bool(res, 0, 0);
	db_res_free(res);
	if (was && !r->available)
		rc = ticket_reassign_agent(rpc_db(c), rpc_arena(c), r->agent_id,
		    me ? arena_printf(rpc_arena(c), "agent:%s", me) :
		    arena_printf(rpc_arena(c), "token:%lld",
		    (long long)rpc_token_id(c)), &moved);
	if (rc == RK_OK)
		rc = load_agent(c, r->agent_id, &out);
	if (rc != RK_OK || (rc = db_commit(rpc_db(c))) != RK_OK) {
		db_rollback(rpc_db(c));
		return (rc);
	}
	log_info("AGENT-AVAILABILITY", "agent %s %s; %d open tickets moved",
	    r->agent_id, r->available ? "available" : "unavailable", moved);
	*resp = &out->base;
	return (RK_OK);
}

const struct rpc_handler agent_handlers[] = {
	{.path = "/rekindle.v1.AgentService/CreateTeam", .unary = create_team},
	{.path = "/rekindle.v1.AgentService/ListTeams", .unary = list_teams},
	{.path = "/rekindle.v1.AgentService/CreateAgent", .unary = create_agent},
	{.path = "/rekindle.v1.AgentService/GetAgent", .unary = get_agent},
	{.path = "/rekindle.v1.AgentService/ListAgents", .unary = list_agents},
	{.path = "/rekindle.v1.AgentService/UpdateAgent", .unary = update_agent},
	{.path = "/rekindle.v1.AgentService/SetAvailability",
	    .unary = set_availability},
	{.path = NULL},
};
