"""Campaigns that run themselves, on real processes: a campaign scheduled a
few seconds ahead starts on its own although the timer pool and the API
are restarted in between; its end time stops first messages; pause holds
sends within a second and resume lets them go at once; cancelling in the
middle of delivery leaves no queued message, no pending timer and no open
ticket; a one-shot campaign completes once every journey has ended and its
attribution window has closed. Sends are counted at the provider doubles
(rkdouble), which here answer slowly (a busy provider), so delivery takes
long enough to be interrupted. The clock is compressed: a policy hour is a
second."""
import datetime, hashlib, hmac, signal, time, unittest

from harness import RekindleCase, TRACKING_SECRET, Doubles, Rekindle, deliver_args, wait_until

AS_OF = "2025-06-30"
K, E, A = "rekindle.v1.CampaignService", "rekindle.v1.EngagementService", \
    "rekindle.v1.AgentService"
SMS, ZNS = 2, 3
DRAFT, SCHEDULED, RUNNING, PAUSED, COMPLETED, CANCELLED = 1, 2, 3, 4, 5, 6
HOUR = ["-o", "policy_hour_seconds=1"]


def token(message_id):
    mac = hmac.new(TRACKING_SECRET.encode(), str(message_id).encode(), hashlib.sha256)
    return "%d.%s" % (message_id, mac.hexdigest()[:16])


class ScheduleTest(RekindleCase):
    @classmethod
    def setUpClass(cls):
        cls.rk = rk = Rekindle(campaigners=1, profilers=1,
                               api_opts=HOUR + ["-o", "machine_click_seconds=0"])
        cls.dbl = Doubles(rk)
        rk.load_synthetic(1500, 11, AS_OF)
        rk.profile_all(AS_OF)
        rk.create_fallback_offer()
        # customers live where it is midday now: every send window is open
        rk.customers_at_midday()
        cls.pools = [rk.start("rekindle-deliver", deliver_args(ch, cls.dbl.base, extra=[
            "-o", "poll_interval_ms=100", "-o", "sms_per_day=0",
            "-o", "provider_parallel=8", "-o", "deliver_batch=64"]))
            for ch in ("zns", "sms")]
        cls.timers = [cls.timer() for _ in range(2)]
        rk.call(A, "CreateTeam", rk.msg("rekindle.v1.CreateTeamRequest", team=rk.msg(
            "rekindle.v1.Team", team_id="TS", name="Telesales", routing=2,
            sla_business_hours=50)))
        rk.call(A, "CreateAgent", rk.msg("rekindle.v1.CreateAgentRequest", agent=rk.msg(
            "rekindle.v1.Agent", agent_id="AG1", team_id="TS", display_name="Agent 1",
            capacity=1000, available=True, working_hours="Mon-Sun 00:00-24:00")))
        rk.db.sql("INSERT INTO rekindle.customer_consents (customer_id, channel, purpose, "
                  "granted, granted_at, source) SELECT id, 5, 1, true, now(), 'test' FROM "
                  "rekindle.customers ON CONFLICT DO NOTHING")

    @classmethod
    def timer(cls):
        return cls.rk.start("rekindle-timer", HOUR + ["-o", "timer_poll_ms=100", "-o",
                                                      "timer_lease_seconds=3"])


    def slow_provider(self, late_ms):
        """Every ZNS and SMS request is answered late_ms late (still within
        the client's timeout: taken, just slow); 0 ends it."""
        for ch in ("zns", "sms"):
            self.dbl.post("/_faults", {"channel": ch, "rate": {"late": 1.0 if late_ms else 0},
                                       "late_ms": late_ms})

    def accepted(self):
        s = self.dbl.get("/_stats")
        return s["zns"]["accepted"] + s["sms"]["accepted"]

    def create(self, cid, **kw):
        rk = self.rk
        kw.setdefault("channel_order", [ZNS, SMS])
        kw.setdefault("attribution_days", 1)
        rk.call(K, "CreateCampaign", rk.msg("rekindle.v1.CreateCampaignRequest",
                campaign=rk.msg("rekindle.v1.Campaign", campaign_id=cid, name="Hẹn giờ " + cid,
                                fallback_offer_id="BACK",
                                audience=rk.msg("rekindle.v1.AudienceRule", states=[4]),
                                **kw)))
        return rk.call(K, "LaunchCampaign", rk.msg("rekindle.v1.LaunchCampaignRequest",
                                                    campaign_id=cid))

    def state(self, cid):
        return self.rk.call(K, "GetCampaign", self.rk.msg("rekindle.v1.GetCampaignRequest",
                                                          campaign_id=cid)).state

    def act(self, verb, cid, reason=""):
        return self.rk.call(K, verb + "Campaign", self.rk.msg(
            "rekindle.v1.CampaignActionRequest", campaign_id=cid, reason=reason))

    def count(self, cid, where):
        return int(self.sql("SELECT count(*) FROM rekindle.messages WHERE campaign_id = "
                            "'%s' AND %s" % (cid, where)))

    def test_1_scheduled_start_survives_restarts(self):
        rk = self.rk
        ts = lambda s: rk.msg("google.protobuf.Timestamp", seconds=int(s))
        # whole seconds: the start sent is the start checked against
        start = int(time.time()) + 8
        op = self.create("S1", start_time=ts(start))
        self.assertFalse(op.done)              # the launch waits for its start
        self.assertEqual(self.state("S1"), SCHEDULED)
        self.assertEqual(self.sql("SELECT count(*) FROM rekindle.timers WHERE campaign_id = "
                                  "'S1' AND kind = 5 AND state = 'pending'"), "1")
        # Everything that keeps time is restarted before the start: the
        # timer pool (one killed, one stopped) and the API.
        self.timers[0].stop(signal.SIGKILL)
        self.timers[1].stop()
        rk.api.stop()
        self.assertEqual(self.count("S1", "true"), 0)
        time.sleep(1)
        rk.api = rk.start("rekindle-api", HOUR + ["-o", "machine_click_seconds=0"])
        wait_until(rk.serving, 30, "API back")
        self.timers[:] = [self.timer(), self.timer()]
        wait_until(lambda: self.state("S1") == RUNNING, 40, "S1 running")
        self.assertGreaterEqual(time.time(), start)
        first = float(self.sql("SELECT extract(epoch FROM min(created_at)) FROM "
                               "rekindle.messages WHERE campaign_id = 'S1'"))
        self.assertGreaterEqual(first, start - 0.5)   # selected at the start, not before
        n = self.count("S1", "true")
        self.assertGreater(n, 20)
        wait_until(lambda: self.count("S1", "state IN ('queued', 'sending')") == 0, 60,
                   "S1 sent")
        self.assertEqual(self.count("S1", "state = 'sent'"), n)
        op = rk.call(K, "GetOperation", rk.msg("rekindle.v1.GetOperationRequest",
                                               name=op.name))
        self.assertTrue(op.done)
        # No journey has anything left; the window (1 day of 24 one-second
        # hours) closes, and S1 completes by itself.
        wait_until(lambda: self.state("S1") == COMPLETED, 60, "S1 completed")
        self.assertGreaterEqual(
            float(self.sql("SELECT extract(epoch FROM updated_at - "
                           "(SELECT max(sent_at) FROM rekindle.messages WHERE campaign_id "
                           "= 'S1')) FROM rekindle.campaigns WHERE campaign_id = 'S1'")), 24)

    def test_2_end_time_stops_first_messages(self):
        rk = self.rk
        ts = lambda s: rk.msg("google.protobuf.Timestamp", seconds=int(s))
        # A send window that is closed now (customers' local time is about
        # midday) keeps the first messages queued until the end.
        self.create("S2", end_time=ts(time.time() + 5), send_window_start="02:00",
                    send_window_end="03:00")
        wait_until(lambda: self.count("S2", "true") > 0, 30, "S2 launched")
        n = self.count("S2", "true")
        wait_until(lambda: self.count("S2", "state = 'cancelled' AND reason = "
                                      "'campaign ended'") == n, 30, "first messages ended")
        self.assertEqual(self.sql("SELECT outcome FROM rekindle.timers WHERE campaign_id = "
                                  "'S2' AND kind = 6"), "%d first messages cancelled" % n)

    def test_3_pause_holds_and_resume_releases(self):
        self.slow_provider(400)
        try:
            self.create("S3")
            wait_until(lambda: self.count("S3", "state = 'sent'") >= 10, 60, "S3 sending")
            self.act("Pause", "S3", "budget review")
            paused_at = time.time()
            # in flight when paused: answered within the 400 ms delay
            time.sleep(1.0)
            before = self.accepted()
            time.sleep(3)
            self.assertEqual(self.accepted(), before, "sends after a pause")
            self.assertLess(time.time() - paused_at, 6)
            waiting = self.count("S3", "state = 'queued'")
            self.assertGreater(waiting, 0)
            self.act("Resume", "S3")
            # at once, not after the minute a paused message waits
            wait_until(lambda: self.accepted() > before, 5, "sends after resume")
        finally:
            self.slow_provider(0)
        wait_until(lambda: self.count("S3", "state IN ('queued', 'sending')") == 0, 60,
                   "S3 done")

    def test_4_cancel_mid_delivery(self):
        rk = self.rk
        self.slow_provider(300)
        try:
            self.create("S4", reminders=rk.msg(
                "rekindle.v1.ReminderPolicy", delay_hours=3, max_reminders=0,
                escalate_to_ticket=True, ticket_team_id="TS"))
            wait_until(lambda: self.count("S4", "state = 'sent'") >= 16, 60, "S4 sending")
            sent = self.sql("SELECT id FROM rekindle.messages WHERE campaign_id = 'S4' AND "
                            "state = 'sent' ORDER BY id LIMIT 16").split()
            click = lambda ids: rk.call(E, "RecordEvents", rk.msg(
                "rekindle.v1.RecordEventsRequest", events=[rk.msg(
                    "rekindle.v1.Event", event_id="c-%s" % i, type=3, token=token(int(i)),
                    user_agent="Mozilla/5.0 (Linux; Android 13) Mobile",
                    time=rk.msg("google.protobuf.Timestamp", seconds=int(time.time()) - 1))
                    for i in ids]))
            # the first eight showed interest: a ticket each, 3 s later
            click(sent[:8])
            wait_until(lambda: self.sql("SELECT count(*) FROM rekindle.tickets WHERE "
                                        "campaign_id = 'S4' AND state = 2") == "8", 30,
                       "tickets assigned")
            # the next eight: escalations still pending at the cancel
            click(sent[8:])
            self.assertGreater(self.count("S4", "state = 'queued'"), 0)
            self.assertGreater(int(self.sql("SELECT count(*) FROM rekindle.timers WHERE "
                                            "campaign_id = 'S4' AND kind = 2 AND "
                                            "state = 'pending'")), 0)
            self.act("Cancel", "S4", "wrong audience")
            time.sleep(1.0)                      # what was in flight answers
            before = self.accepted()
            self.assertEqual(self.count("S4", "state = 'queued'"), 0)
            self.assertEqual(self.sql("SELECT count(*) FROM rekindle.timers WHERE "
                                      "campaign_id = 'S4' AND state = 'pending'"), "0")
            self.assertEqual(self.sql("SELECT count(*) FROM rekindle.tickets WHERE "
                                      "campaign_id = 'S4' AND state < 6"), "0")
            self.assertEqual(self.sql("SELECT DISTINCT closed_reason FROM rekindle.tickets "
                                      "WHERE campaign_id = 'S4'"),
                             "campaign cancelled: wrong audience")
            self.assertEqual(self.sql("SELECT count(*) FROM rekindle.ticket_audit a JOIN "
                                      "rekindle.tickets t ON t.id = a.ticket_id WHERE "
                                      "t.campaign_id = 'S4' AND a.action = 'closed'"),
                             self.sql("SELECT count(*) FROM rekindle.tickets WHERE "
                                      "campaign_id = 'S4'"))
            # the agent's queue is empty
            queue = rk.call("rekindle.v1.TicketService", "ListTickets", rk.msg(
                "rekindle.v1.ListTicketsRequest", agent_id="AG1"))
            self.assertEqual([t for t in queue.tickets if t.campaign_id == "S4"
                              and t.state < 5], [])
            time.sleep(3)
            self.assertEqual(self.accepted(), before, "sends after the cancel")
            wait_until(lambda: self.count("S4", "state = 'sending'") == 0, 30,
                       "attempts in flight recorded")
            self.assertEqual(self.count("S4", "state = 'queued'"), 0)
            self.assertGreater(self.count("S4", "state = 'cancelled' AND reason LIKE "
                                          "'campaign cancelled%'"), 0)
            self.assertEqual(self.state("S4"), CANCELLED)
        finally:
            self.slow_provider(0)


if __name__ == "__main__":
    unittest.main()
