"""Engagement, reminders and escalation on real processes: a dormant
campaign goes out over ZNS and SMS (rkdouble); customers follow their
personal links on the tracking endpoint (rekindle-tracker) - a click, an
open pixel, a link scanner, a registration, an unsubscribe; the timer pool
(rekindle-timer, on a compressed clock: a policy hour is a second) sends
reminders to the interested who did not register, and nothing to anyone
else. Tokens are computed here from the HMAC definition, independently of
rekindle's C code."""
import datetime, hashlib, hmac, json, os, signal, time, unittest
import urllib.error
import urllib.request

from harness import TRACKING_SECRET, Rekindle, deliver_args, read_port, wait_until

AS_OF = "2025-06-30"
O, K, E = "rekindle.v1.OfferService", "rekindle.v1.CampaignService", \
    "rekindle.v1.EngagementService"
A, T = "rekindle.v1.AgentService", "rekindle.v1.TicketService"
EMAIL, SMS, ZNS, CALL = 1, 2, 3, 5


def token(message_id):
    mac = hmac.new(TRACKING_SECRET.encode(), str(message_id).encode(), hashlib.sha256)
    return "%d.%s" % (message_id, mac.hexdigest()[:16])


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **kw):
        return None


class Setup(unittest.TestCase):
    """Processes, data, teams and a launched campaign E1, for each test class."""

    @classmethod
    def setUpClass(cls):
        cls.rk = rk = Rekindle(profilers=1, campaigners=1,
                               api_opts=["-o", "policy_hour_seconds=1", "-o",
                                         "machine_click_seconds=0"])
        pf = os.path.join(rk.tmp, "double.port")
        rk.start("rkdouble", ["--port-file", pf])
        cls.base = "http://127.0.0.1:%s" % read_port(pf)
        tf = os.path.join(rk.tmp, "tracker.port")
        # Customers here act within seconds of the send, which the
        # evidence rules would call machines (unit-tested): not here.
        rk.start("rekindle-tracker", ["-o", "tracker_port=0", "-o", "tracker_port_file=" + tf,
                                      "-o", "policy_hour_seconds=1", "-o",
                                      "machine_open_seconds=0", "-o", "machine_click_seconds=0"])
        cls.track = "http://127.0.0.1:%s" % read_port(tf)
        rk.load_synthetic(2000, 7, AS_OF)
        rk.profile_all(AS_OF)
        for ch in ("zns", "sms"):
            rk.start("rekindle-deliver", deliver_args(ch, cls.base, extra=[
                "-o", "tracking_url=" + cls.track + "/t/", "-o", "poll_interval_ms=100",
                "-o", "sms_per_day=0"]))
        cls.timers = [cls.timer() for _ in range(2)]
        # Telesales: team TS routes to the least loaded; TX is another
        # team. Agents work around the clock here.
        # First contact is due 15 policy hours (seconds here) after a
        # ticket opens.
        for team, routing in (("TS", 2), ("TX", 1)):
            rk.call(A, "CreateTeam", rk.msg("rekindle.v1.CreateTeamRequest", team=rk.msg(
                "rekindle.v1.Team", team_id=team, name="Telesales " + team, routing=routing,
                sla_business_hours=15)))
        cls.tokens = {}
        for agent, team in (("AG1", "TS"), ("AG2", "TS"), ("AG3", "TX")):
            rk.call(A, "CreateAgent", rk.msg("rekindle.v1.CreateAgentRequest", agent=rk.msg(
                "rekindle.v1.Agent", agent_id=agent, team_id=team, display_name="Agent " + agent,
                skills=["lang:vi"], capacity=5, available=True,
                working_hours="Mon-Sun 00:00-24:00")))
            cls.tokens[agent] = rk.call(A, "CreateToken", rk.msg(
                "rekindle.v1.CreateTokenRequest", name="tok-" + agent, role=3,
                agent_id=agent)).secret
        # Everyone agreed to advertising calls; customers live where it is
        # now midday, inside the calling window.
        rk.db.sql("INSERT INTO rekindle.customer_consents (customer_id, channel, purpose, "
                  "granted, granted_at, source) SELECT id, 5, 1, true, now(), 'test' FROM "
                  "rekindle.customers ON CONFLICT DO NOTHING")
        rk.customers_at_midday()
        rk.create_fallback_offer(landing_url="https://bank.example/uu-dai?src=rk")
        rk.call(K, "CreateCampaign", rk.msg("rekindle.v1.CreateCampaignRequest",
                campaign=rk.msg("rekindle.v1.Campaign", campaign_id="E1", name="Nhắc",
                                fallback_offer_id="BACK", channel_order=[ZNS, SMS],
                                holdout_percent=10,
                                audience=rk.msg("rekindle.v1.AudienceRule", states=[4]),
                                reminders=rk.msg("rekindle.v1.ReminderPolicy", delay_hours=2,
                                                 max_reminders=2, interval_hours=2,
                                                 channels=[SMS], escalate_to_ticket=True,
                                                 ticket_team_id="TS"))))
        rk.call(K, "LaunchCampaign", rk.msg("rekindle.v1.LaunchCampaignRequest",
                                             campaign_id="E1"))
        wait_until(lambda: rk.db.sql("SELECT count(*) FROM rekindle.messages WHERE "
                                     "campaign_id = 'E1'") not in ("", "0"), 60, "launch")
        wait_until(lambda: rk.db.sql("SELECT count(*) FROM rekindle.messages WHERE "
                                     "campaign_id = 'E1' AND state IN ('queued', 'sending')") == "0",
                   60, "first messages sent")
        rows = rk.db.sql("SELECT customer_id || '|' || id || '|' || channel FROM "
                         "rekindle.messages WHERE campaign_id = 'E1' AND step = 0 "
                         "ORDER BY customer_id").splitlines()
        cls.msg = {r.split("|")[0]: (int(r.split("|")[1]), int(r.split("|")[2]))
                   for r in rows}
        assert len(cls.msg) >= 10, rows

    @classmethod
    def timer(cls):
        return cls.rk.start("rekindle-timer", ["-o", "policy_hour_seconds=1", "-o",
                                               "timer_poll_ms=100", "-o",
                                               "timer_lease_seconds=3"])

    @classmethod
    def tearDownClass(cls):
        cls.rk.close()

    def get(self, path, ua="Mozilla/5.0 (Linux; Android 13) Mobile", method="GET"):
        opener = urllib.request.build_opener(NoRedirect)
        req = urllib.request.Request(self.track + path, method=method,
                                     data=b"confirm=1" if method == "POST" else None,
                                     headers={"User-Agent": ua})
        try:
            with opener.open(req, timeout=10) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()


class EngageTest(Setup):
    """The story: links followed, reminders, tickets worked, the report."""

    def test_token_past_int64_is_unknown(self):
        """An id past int64 in a link is no message (UBSan would stop the
        tracker on the overflow, were there one), and the tracker serves on."""
        for tok in ("99999999999999999999999", "9223372036854775808"):
            status, _, _ = self.get("/t/%s.0123456789abcdef" % tok)
            self.assertIn(status, (400, 404))
        # a well-signed link of a message that does not exist: 404, for
        # every path, and nothing recorded
        gone = token(987654321)
        for path, method in (("", "GET"), ("/register", "POST"), ("/register", "GET"),
                             ("/unsubscribe", "POST")):
            status, _, _ = self.get("/t/" + gone + path, method=method)
            self.assertEqual(status, 404, path)
        self.assertEqual(self.rk.db.sql("SELECT count(*) FROM rekindle.events WHERE "
                                        "message_id = 987654321"), "0")
        # a 10 MB body is refused on its headers, before it is sent
        import http.client
        host, port = self.track[len("http://"):].split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.putrequest("POST", "/t/" + gone + "/register")
        conn.putheader("Content-Length", str(10 << 20))
        conn.endheaders()
        resp = conn.getresponse()
        self.assertEqual(resp.status, 413)
        conn.close()
        mid, _ = next(iter(self.msg.values()))
        status, _, _ = self.get("/t/" + token(mid))
        self.assertIn(status, (200, 302))

    def test_the_loop(self):
        rk = self.rk
        a, b, c, d, e, f = sorted(self.msg)[:6]
        tok = {x: token(self.msg[x][0]) for x in (a, b, c, d, e, f)}
        # A forged token records nothing.
        bad = tok[a][:-1] + ("0" if tok[a][-1] != "0" else "1")
        self.assertEqual(self.get("/t/" + bad)[0], 404)
        # A clicks: redirected to the offer's page with the token.
        code, headers, _ = self.get("/t/" + tok[a])
        self.assertEqual(code, 302)
        self.assertEqual(headers["Location"], "https://bank.example/uu-dai?src=rk&rk=" + tok[a])
        # B clicks, then views the registration page and registers.
        self.assertEqual(self.get("/t/" + tok[b])[0], 302)
        self.assertEqual(self.get("/t/%s/register" % tok[b])[0], 200)
        self.assertEqual(self.get("/t/%s/register" % tok[b], method="POST")[0], 200)
        # C's mail client fetched an image only: weak at most, no reminder.
        code, headers, body = self.get("/t/%s/open.gif" % tok[c])
        self.assertEqual((code, headers["Content-Type"], body[:6]), (200, "image/gif", b"GIF89a"))
        # D opens the unsubscribe page (a scanner would stop here), then confirms.
        self.assertEqual(self.get("/t/%s/unsubscribe" % tok[d])[0], 200)
        self.assertEqual(rk.db.sql("SELECT count(*) FROM rekindle.events WHERE "
                                   "customer_id = '%s' AND type = 5" % d), "0")
        self.assertEqual(self.get("/t/%s/unsubscribe" % tok[d], method="POST")[0], 200)
        # E's bank mail gateway checks every link: a machine, not interest.
        self.assertEqual(self.get("/t/" + tok[e], ua="Mozilla/5.0 (compatible; "
                                  "Mimecast URL Protection)")[0], 302)
        # F's click comes in through the API from the bank's app, twice.
        ev = lambda i: rk.msg("rekindle.v1.Event", event_id="app-%s" % i, type=8,
                              token=tok[f])
        r = rk.call(E, "RecordEvents", rk.msg("rekindle.v1.RecordEventsRequest",
                                              events=[ev(1), ev(1), rk.msg(
                                                  "rekindle.v1.Event", event_id="x", type=3,
                                                  token=bad)]))
        self.assertEqual((r.recorded, r.duplicate, r.unknown_token), (1, 1, 1))
        evidence = dict(l.split("|") for l in rk.db.sql(
            "SELECT customer_id || ':' || type, evidence FROM rekindle.events "
            "WHERE campaign_id = 'E1'").splitlines())
        self.assertEqual(evidence["%s:3" % a], "2")      # click: strong
        self.assertEqual(evidence["%s:2" % c], "1")      # open: weak
        self.assertEqual(evidence["%s:3" % e], "3")      # scanner: machine
        self.assertEqual(evidence["%s:8" % f], "2")      # app open: strong
        # Reminders at +2 and +4 policy hours (seconds here), on SMS, to A
        # and F only.
        reminded = lambda: rk.db.sql(
            "SELECT customer_id || ':' || step FROM rekindle.messages WHERE "
            "campaign_id = 'E1' AND step > 0 AND state = 'sent' ORDER BY 1").splitlines()
        wait_until(lambda: len(reminded()) == 4, 30, "two reminders each to A and F")
        self.assertEqual(reminded(), sorted(["%s:1" % a, "%s:2" % a, "%s:1" % f, "%s:2" % f]))
        keys = {k["key"] for k in json.loads(urllib.request.urlopen(
            self.base + "/_keys/sms").read())}
        self.assertTrue({"E1:%s:1:sms" % a, "E1:%s:2:sms" % a} <= keys)
        # B registered: journey ended, no reminder; D unsubscribed from its
        # channel, journey ended.
        journey = dict(l.split("|") for l in rk.db.sql(
            "SELECT customer_id, journey FROM rekindle.campaign_members WHERE "
            "campaign_id = 'E1' AND customer_id IN ('%s', '%s')" % (b, d)).splitlines())
        self.assertEqual(journey, {b: "registered", d: "unsubscribed"})
        self.assertEqual(rk.db.sql(
            "SELECT granted FROM rekindle.customer_consents WHERE customer_id = '%s' "
            "AND channel = %d AND purpose = 1" % (d, self.msg[d][1])), "f")
        # Every timer fired once; none pending for the reminded.
        self.assertEqual(rk.db.sql("SELECT count(*) FROM rekindle.timers WHERE "
                                   "state = 'fired' AND kind = 1"), "4")
        lateness = float(rk.db.sql("SELECT max(extract(epoch FROM fired_at - due_at)) "
                                   "FROM rekindle.timers WHERE state = 'fired' AND kind = 1"))
        self.assertLess(lateness, 1.0)
        # Delivery receipts: the ZNS tracking id names the message.
        if self.msg[a][1] == ZNS:
            r = rk.call(E, "RecordDeliveryReceipts", rk.msg(
                "rekindle.v1.RecordDeliveryReceiptsRequest", receipts=[rk.msg(
                    "rekindle.v1.DeliveryReceipt", channel=ZNS,
                    tracking_id="E1:%s:0:zns" % a, status="user_received_message",
                    delivery_time=rk.msg("google.protobuf.Timestamp",
                                         seconds=int(time.time()) - 5))]))
            self.assertEqual(r.recorded, 1)
            self.assertNotEqual(rk.db.sql("SELECT delivered_at IS NOT NULL FROM "
                                          "rekindle.messages WHERE id = %d" % self.msg[a][0]),
                                "f")
        listed = rk.call(E, "ListEvents", rk.msg("rekindle.v1.ListEventsRequest",
                                                 customer_id=a, page_size=1))
        self.assertEqual(listed.events[0].token, tok[a])
        self.assertTrue(listed.next_page_token)
        self.tickets(a, f)

    def tickets(self, a, f):
        """After the last reminder: tickets for A and F, routed, worked."""
        rk = self.rk
        tickets = lambda: dict(l.split("|") for l in rk.db.sql(
            "SELECT customer_id, id || ':' || coalesce(agent_id, '') FROM "
            "rekindle.tickets WHERE campaign_id = 'E1'").splitlines())
        wait_until(lambda: len(tickets()) == 2, 30, "tickets for A and F")
        got = tickets()
        self.assertEqual(set(got), {a, f})
        # least loaded: one each
        self.assertEqual({v.split(":")[1] for v in got.values()}, {"AG1", "AG2"})
        as_agent = lambda ag: dict(token=self.tokens[ag])
        by_agent = {v.split(":")[1]: (v.split(":")[0], c) for c, v in got.items()}
        t1, c1 = by_agent["AG1"]
        t2, c2 = by_agent["AG2"]
        # The context an agent reads before calling.
        t = rk.call(T, "GetTicket", rk.msg("rekindle.v1.GetTicketRequest", ticket_id=t1),
                    **as_agent("AG1"))
        self.assertIn("Ưu đãi: Quà 50.000đ", t.context_summary)
        self.assertIn("bấm liên kết", t.context_summary)
        self.assertTrue(any("chưa đăng ký" in p for p in t.talking_points))
        # Another team's agent may not look.
        with self.assertRaises(Exception) as e:
            rk.call(T, "GetTicket", rk.msg("rekindle.v1.GetTicketRequest", ticket_id=t1),
                    **as_agent("AG3"))
        self.assertEqual(e.exception.code().name, "PERMISSION_DENIED")
        with self.assertRaises(Exception) as e:
            rk.call(T, "ListTickets", rk.msg("rekindle.v1.ListTicketsRequest", team_id="TS"),
                    **as_agent("AG3"))
        self.assertEqual(e.exception.code().name, "PERMISSION_DENIED")
        # AG1 claims, calls, reaches the customer; a second advertising
        # call within 24 hours is refused.
        claimed = rk.call(T, "ClaimNextTicket", rk.msg("rekindle.v1.ClaimNextTicketRequest"),
                          **as_agent("AG1"))
        self.assertEqual(claimed.ticket_id, t1)
        call = lambda rid, **kw: rk.call(T, "LogCallAttempt", rk.msg(
            "rekindle.v1.LogCallAttemptRequest", request_id=rid, ticket_id=t1, **kw),
            **as_agent("AG1"))
        self.assertEqual(call("c1", reached=True, note="Khách quan tâm").state, 4)
        self.assertEqual(call("c1", reached=True).call_attempts, 1)    # same request
        with self.assertRaises(Exception) as e:
            call("c2", reached=False)
        self.assertEqual(e.exception.code().name, "FAILED_PRECONDITION")
        self.assertIn("daily_cap", e.exception.details())
        # AG1 registers the customer: the journey ends.
        done = rk.call(T, "ResolveTicket", rk.msg("rekindle.v1.ResolveTicketRequest",
                       request_id="r1", ticket_id=t1, resolution=1, note="Đã đăng ký"),
                       **as_agent("AG1"))
        self.assertEqual((done.state, done.resolution), (5, 1))
        self.assertEqual(rk.db.sql("SELECT journey FROM rekindle.campaign_members WHERE "
                                   "campaign_id = 'E1' AND customer_id = '%s'" % c1),
                         "registered")
        # AG2 goes off: their ticket moves to AG1, the one available.
        rk.call(A, "SetAvailability", rk.msg("rekindle.v1.SetAvailabilityRequest",
                                             agent_id="AG2", available=False),
                **as_agent("AG2"))
        moved = rk.call(T, "GetTicket", rk.msg("rekindle.v1.GetTicketRequest", ticket_id=t2))
        self.assertEqual(moved.agent_id, "AG1")
        # A listed ticket is the ticket GetTicket gives, notes and all.
        listed = {t.ticket_id: t for t in rk.call(T, "ListTickets", rk.msg(
            "rekindle.v1.ListTicketsRequest", team_id="TS", page_size=1)).tickets}
        listed.update({t.ticket_id: t for t in rk.call(T, "ListTickets", rk.msg(
            "rekindle.v1.ListTicketsRequest", team_id="TS")).tickets})
        for tid in (t1, t2):
            self.assertEqual(listed[tid], rk.call(T, "GetTicket", rk.msg(
                "rekindle.v1.GetTicketRequest", ticket_id=tid)))
        self.assertEqual([n.text for n in listed[t1].notes], ["Đã đăng ký"])
        # AG1 asks to call back in 2 s: the ticket comes back then, on top.
        rk.call(T, "ResolveTicket", rk.msg(
            "rekindle.v1.ResolveTicketRequest", ticket_id=t2, resolution=4,
            call_back_time=rk.msg("google.protobuf.Timestamp", seconds=int(time.time()) + 2)),
            **as_agent("AG1"))
        back = lambda: rk.call(T, "GetTicket", rk.msg("rekindle.v1.GetTicketRequest",
                                                     ticket_id=t2))
        wait_until(lambda: back().state == 2, 20, "call-back due")
        self.assertEqual((back().priority, back().agent_id), (1, "AG1"))
        # Every change is in the audit trail.
        trail = rk.db.sql("SELECT string_agg(action, ',' ORDER BY id) FROM "
                          "rekindle.ticket_audit WHERE ticket_id = %s" % t2)
        for step in ("opened", "assigned", "unassigned: agent unavailable", "resolved",
                     "call-back due"):
            self.assertIn(step, trail)
        # Nobody reached F within the SLA: priority stays top, the ticket
        # leaves AG1 (and waits in the queue: AG2 is off), the supervisor
        # is flagged. A's ticket, resolved in time, breached nothing.
        sla = lambda t: rk.db.sql("SELECT sla_breached || '|' || supervisor_flag || '|' || "
                                  "coalesce(agent_id, '-') || '|' || priority FROM "
                                  "rekindle.tickets WHERE id = %s" % t)
        wait_until(lambda: sla(t2).startswith("true|"), 40, "SLA breach")
        self.assertEqual(sla(t2), "true|true|-|1")
        self.assertEqual(sla(t1).split("|")[0], "false")
        self.assertIn("sla breached", rk.db.sql(
            "SELECT string_agg(action, ',') FROM rekindle.ticket_audit WHERE ticket_id = %s"
            % t2))
        self.report(a, f, c1)
        self.batch_as_one_at_a_time()

    def batch_as_one_at_a_time(self):
        """One RecordEvents call ends as its events would one at a time: G
        clicks then registers (interest, then the journey and its reminder
        end); H registers then clicks (no interest after the end); I's
        message is delivered twice (the earlier time is kept)."""
        rk = self.rk
        g, h, i = sorted(self.msg)[6:9]
        now = int(time.time())
        ev = lambda eid, typ, who, ago=0: rk.msg(
            "rekindle.v1.Event", event_id=eid, type=typ, token=token(self.msg[who][0]),
            time=rk.msg("google.protobuf.Timestamp", seconds=now - ago))
        r = rk.call(E, "RecordEvents", rk.msg("rekindle.v1.RecordEventsRequest", events=[
            ev("b-g1", 3, g), ev("b-h1", 4, h), ev("b-i1", 1, i, 5), ev("b-g2", 4, g),
            ev("b-h2", 3, h), ev("b-i2", 1, i, 9), ev("b-g1", 3, g)]))
        self.assertEqual((r.recorded, r.duplicate, r.unknown_token), (6, 1, 0))
        member = lambda x: rk.db.sql(
            "SELECT journey || '|' || (interest_at IS NOT NULL) FROM "
            "rekindle.campaign_members WHERE campaign_id = 'E1' AND customer_id = '%s'" % x)
        self.assertEqual(member(g), "registered|true")
        self.assertEqual(member(h), "registered|false")
        self.assertEqual(rk.db.sql(
            "SELECT string_agg(state, ',') FROM rekindle.timers WHERE campaign_id = 'E1' "
            "AND customer_id IN ('%s', '%s')" % (g, h)), "cancelled")
        self.assertEqual(rk.db.sql(
            "SELECT extract(epoch FROM delivered_at)::bigint FROM rekindle.messages "
            "WHERE id = %d" % self.msg[i][0]), str(now - 9))

    def report(self, a, f, registered_by_call):
        """The funnel so far, and reactivation measured from transactions
        for treatment and control alike."""
        rk = self.rk
        control = rk.db.sql("SELECT customer_id FROM rekindle.campaign_members WHERE "
                            "campaign_id = 'E1' AND status = 'control' ORDER BY 1 "
                            "LIMIT 1")
        self.assertTrue(control)
        # A and one control customer buy again today; F does not.
        path = os.path.join(rk.tmp, "back.csv")
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        with open(path, "w") as fh:
            fh.write("transaction_id,customer_id,occurred_at,amount_minor,currency,mcc,"
                     "merchant_id,merchant_name,channel\n")
            fh.write("back-1,%s,%s,350000,VND,5311,M1,TIKI,ecommerce\n" % (a, stamp))
            fh.write("back-2,%s,%s,120000,VND,5411,M2,COOPMART,pos\n" % (control, stamp))
        rk.ctl("customers", "import", path)
        rep = rk.call(K, "GetCampaignReport", rk.msg("rekindle.v1.GetCampaignReportRequest",
                                                     campaign_id="E1"))
        s = rep.stats
        members = rk.db.sql("SELECT count(*) FILTER (WHERE status <> 'excluded') || ',' || "
                            "count(*) FILTER (WHERE status = 'control') FROM "
                            "rekindle.campaign_members WHERE campaign_id = 'E1'").split(",")
        self.assertEqual((s.audience, s.control), (int(members[0]), int(members[1])))
        self.assertEqual(s.sent, s.audience - s.control)
        self.assertEqual(s.reminded, 2)               # A and F
        self.assertEqual((s.ticketed, s.contacted), (2, 1))
        self.assertEqual(s.registered, 2)             # B online, one by phone
        self.assertGreaterEqual(s.clicked, 2)         # A and B (E was a scanner)
        self.assertEqual((s.reactivated, s.control_reactivated), (1, 1))
        self.assertAlmostEqual(rep.treatment_rate, 1 / (s.audience - s.control))
        self.assertAlmostEqual(rep.control_rate, 1 / s.control)
        self.assertLess(rep.lift_ci_low, rep.lift)
        self.assertGreater(rep.lift_ci_high, rep.lift)
        self.assertTrue(rep.funnel_svg.startswith("<svg"))
        out = rk.ctl("campaigns", "report", "E1").stdout
        self.assertIn("reactivation   treatment", out)
        self.assertIn("95% CI", out)


class TimerKillTest(Setup):
    """A timer process killed with SIGKILL while reminders fire: its
    timers fire later in another process, each exactly once."""

    def test_timer_killed_mid_fire(self):
        rk = self.rk
        rk.call(K, "CreateCampaign", rk.msg("rekindle.v1.CreateCampaignRequest",
                campaign=rk.msg("rekindle.v1.Campaign", campaign_id="E2", name="Nhắc 2",
                                fallback_offer_id="BACK", channel_order=[SMS],
                                audience=rk.msg("rekindle.v1.AudienceRule", states=[4]),
                                reminders=rk.msg("rekindle.v1.ReminderPolicy", delay_hours=3,
                                                 max_reminders=1, channels=[SMS]))))
        rk.call(K, "LaunchCampaign", rk.msg("rekindle.v1.LaunchCampaignRequest",
                                             campaign_id="E2"))
        ids = lambda: [int(x) for x in rk.db.sql(
            "SELECT id FROM rekindle.messages WHERE campaign_id = 'E2' AND step = 0 "
            "AND state = 'sent' ORDER BY id").splitlines()]
        wait_until(lambda: rk.db.sql("SELECT count(*) FROM rekindle.messages WHERE "
                                     "campaign_id = 'E2' AND state IN ('queued', 'sending')") == "0"
                   and ids(), 60, "E2 sent")
        sent = ids()
        # Everyone clicks, in ten waves: reminders fall due over 2-3 s.
        for w in range(10):
            wave = sent[w::10]
            rk.call(E, "RecordEvents", rk.msg("rekindle.v1.RecordEventsRequest", events=[
                rk.msg("rekindle.v1.Event", event_id="k-%d" % i, type=3, token=token(i))
                for i in wave]))
            time.sleep(0.25)
        fired = lambda: int(rk.db.sql("SELECT count(*) FROM rekindle.timers WHERE "
                                      "campaign_id = 'E2' AND kind = 1 AND "
                                      "state = 'fired'"))
        wait_until(lambda: fired() > 0, 30, "first reminders")
        os.kill(self.timers[0].p.pid, signal.SIGKILL)
        self.timers[0].p.wait()
        self.timers[0] = self.timer()
        wait_until(lambda: fired() == len(sent), 60, "every reminder timer fired")
        self.assertEqual(rk.db.sql("SELECT count(*) FROM rekindle.timers WHERE "
                                   "campaign_id = 'E2' AND kind = 1 AND state <> 'fired'"), "0")
        wait_until(lambda: rk.db.sql("SELECT count(*) FROM rekindle.messages WHERE "
                                     "campaign_id = 'E2' AND step = 1 AND state = 'sent'")
                   == str(len(sent)), 60, "every reminder sent")
        keys = {k["key"]: k["count"] for k in json.loads(urllib.request.urlopen(
            self.base + "/_keys/sms").read()) if k["key"].startswith("E2:")
            and k["key"].endswith(":1:sms")}
        self.assertEqual(len(keys), len(sent))
        self.assertEqual(set(keys.values()), {1})
        late = float(rk.db.sql("SELECT max(extract(epoch FROM fired_at - due_at)) FROM "
                               "rekindle.timers WHERE campaign_id = 'E2' AND kind = 1"))
        print("\nE2: %d reminder timers, one timer process killed; latest fire %.1f s late "
              "(lease 3 s)" % (len(sent), late))


class RoutingTest(Setup):
    """Round-robin and skills-based teams: escalation at once (no
    reminders), tickets routed as each team says."""

    def test_round_robin_and_skills(self):
        rk = self.rk
        for team, routing in (("RR", 1), ("SK", 3)):
            rk.call(A, "CreateTeam", rk.msg("rekindle.v1.CreateTeamRequest", team=rk.msg(
                "rekindle.v1.Team", team_id=team, name=team, routing=routing)))
        for agent, team, skills in (("R1", "RR", []), ("R2", "RR", []), ("R3", "RR", []),
                                    ("EN", "SK", ["lang:en"]), ("VI", "SK", ["lang:vi"])):
            rk.call(A, "CreateAgent", rk.msg("rekindle.v1.CreateAgentRequest", agent=rk.msg(
                "rekindle.v1.Agent", agent_id=agent, team_id=team, display_name=agent,
                skills=skills, capacity=50, available=True,
                working_hours="Mon-Sun 00:00-24:00")))
        sent = {}
        for cid, team in (("R", "RR"), ("S", "SK")):
            rk.call(K, "CreateCampaign", rk.msg("rekindle.v1.CreateCampaignRequest",
                    campaign=rk.msg("rekindle.v1.Campaign", campaign_id="E" + cid, name=cid,
                                    fallback_offer_id="BACK", channel_order=[SMS],
                                    audience=rk.msg("rekindle.v1.AudienceRule", states=[4]),
                                    reminders=rk.msg("rekindle.v1.ReminderPolicy",
                                                     escalate_to_ticket=True,
                                                     ticket_team_id=team))))
            rk.call(K, "LaunchCampaign", rk.msg("rekindle.v1.LaunchCampaignRequest",
                                                 campaign_id="E" + cid))
            wait_until(lambda: rk.db.sql(
                "SELECT count(*) FROM rekindle.messages WHERE campaign_id = 'E%s' AND "
                "state = 'sent'" % cid) not in ("", "0") and rk.db.sql(
                "SELECT count(*) FROM rekindle.messages WHERE campaign_id = 'E%s' AND "
                "state = 'queued'" % cid) == "0", 60, "E%s sent" % cid)
            sent[cid] = [int(x) for x in rk.db.sql(
                "SELECT id FROM rekindle.messages WHERE campaign_id = 'E%s' AND step = 0 "
                "ORDER BY id LIMIT 9" % cid).splitlines()]
            for i in sent[cid]:
                rk.call(E, "RecordEvents", rk.msg("rekindle.v1.RecordEventsRequest", events=[
                    rk.msg("rekindle.v1.Event", event_id="r-%d" % i, type=3, token=token(i))]))
                time.sleep(0.05)
        routed = lambda c: rk.db.sql("SELECT string_agg(coalesce(agent_id, '-'), ',' ORDER "
                                     "BY id) FROM rekindle.tickets WHERE campaign_id = "
                                     "'E%s'" % c)
        wait_until(lambda: len(routed("R").split(",")) == 9 and
                   len(routed("S").split(",")) == 9, 30, "escalated at once")
        # Round-robin: each agent in turn.
        self.assertEqual(routed("R"), ",".join(["R1", "R2", "R3"] * 3))
        # Skills: these customers speak Vietnamese.
        self.assertEqual(set(routed("S").split(",")), {"VI"})


if __name__ == "__main__":
    unittest.main()
