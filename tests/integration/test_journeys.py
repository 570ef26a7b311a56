"""Always-on win-back journeys on real processes: a campaign of kind
ALWAYS_ON keeps its audience rule live. Customers who become dormant
between two profiling runs enter it after the second run (the profiler asks
for an entry run, the timer pool fires it, the campaigner lets the
newcomers in), each once however often the runs repeat; a customer whose
entry is older than the campaign's re-entry days, with nothing of that
journey pending, enters again as a new journey (its own control split, its
own messages under new idempotency keys). Sends are counted at the provider
doubles; the report's entries by week are recounted here in SQL."""
import datetime, hashlib, signal, time, unittest

from harness import RekindleCase, Doubles, Rekindle, deliver_args, wait_until

K = "rekindle.v1.CampaignService"
SMS, ZNS = 2, 3
RUNNING = 3


def control(campaign, customer, entry, holdout):
    s = "%s:%s" % (campaign, customer) + (":%d" % entry if entry > 1 else "")
    return int(hashlib.md5(s.encode()).hexdigest()[:8], 16) % 10000 < holdout * 100


def journeys(campaigners):
    """1,500 synthetic customers profiled as of 2025-05-01, the fallback
    offer BACK, ZNS and SMS pools on the provider doubles and two timers:
    returns the Rekindle and its Doubles."""
    rk = Rekindle(campaigners=campaigners, profilers=1)
    dbl = Doubles(rk)
    rk.load_synthetic(1500, 5, "2025-06-30")
    rk.profile_all("2025-05-01")
    rk.create_fallback_offer()
    rk.customers_at_midday()
    for ch in ("zns", "sms"):
        rk.start("rekindle-deliver", deliver_args(ch, dbl.base, extra=[
            "-o", "poll_interval_ms=100", "-o", "sms_per_day=0"]))
    for _ in range(2):
        rk.start("rekindle-timer", ["-o", "timer_poll_ms=100"])
    return rk, dbl


def always_on(rk, cid):
    """Creates and launches cid: always on, dormant customers, re-entry
    after 7 days, ZNS then SMS, 20 % held out; returns once running."""
    rk.call(K, "CreateCampaign", rk.msg("rekindle.v1.CreateCampaignRequest",
            campaign=rk.msg("rekindle.v1.Campaign", campaign_id=cid,
                            name="Đánh thức mỗi ngày", kind=2, reentry_days=7,
                            fallback_offer_id="BACK", channel_order=[ZNS, SMS],
                            holdout_percent=20, attribution_days=30,
                            audience=rk.msg("rekindle.v1.AudienceRule", states=[4]))))
    rk.call(K, "LaunchCampaign", rk.msg("rekindle.v1.LaunchCampaignRequest",
                                         campaign_id=cid))
    wait_until(lambda: rk.call(K, "GetCampaign", rk.msg(
        "rekindle.v1.GetCampaignRequest", campaign_id=cid)).state == RUNNING, 60,
        cid + " running")


def settle(rk, cid):
    """The entry runs asked for have run and their messages are sent."""
    wait_until(lambda: rk.db.sql("SELECT count(*) FROM rekindle.timers WHERE "
                                 "campaign_id = '%s' AND kind = 8 AND seq < 0 AND "
                                 "state = 'pending'" % cid) == "0", 30, "entry runs fired")
    wait_until(lambda: rk.db.sql("SELECT count(*) FROM rekindle.jobs WHERE queue = "
                                 "'campaign' AND state NOT IN ('done', 'discarded')")
               == "0", 60, "entry jobs done")
    wait_until(lambda: rk.db.sql("SELECT count(*) FROM rekindle.messages WHERE "
                                 "campaign_id = '%s' AND state IN ('queued', "
                                 "'sending')" % cid) == "0", 60, "entries' messages sent")


def send_back(rk, cid, n):
    """Moves the entries of n of cid's members (by id, the first whose
    journey has nothing pending) eight days back, past the re-entry days;
    returns their ids."""
    back = rk.db.sql("SELECT string_agg(customer_id, ',') FROM (SELECT customer_id "
                     "FROM rekindle.campaign_members WHERE campaign_id = '%s' AND "
                     "status <> 'excluded' AND entry = 1 AND added_at > now() - "
                     "interval '1 day' ORDER BY customer_id LIMIT %d) x" % (cid, n)
                     ).split(",")
    rk.db.sql("UPDATE rekindle.campaign_members SET added_at = added_at - "
              "interval '8 days' WHERE campaign_id = '%s' AND customer_id = ANY "
              "('{%s}')" % (cid, ",".join(back)))
    return back


def provider_keys(dbl, cid):
    """Every idempotency key of cid the ZNS and SMS doubles received, with
    how many times."""
    keys = {}
    for ch in ("zns", "sms"):
        for k in dbl.get("/_keys/" + ch):
            if k["key"].startswith(cid + ":"):
                keys[k["key"]] = keys.get(k["key"], 0) + k["count"]
    return keys


class JourneyTest(RekindleCase):
    @classmethod
    def setUpClass(cls):
        cls.rk, cls.dbl = journeys(campaigners=1)


    def entries(self):
        return int(self.sql("SELECT count(*) FROM rekindle.campaign_entries WHERE "
                            "campaign_id = 'ON1'"))

    def settled(self):
        settle(self.rk, "ON1")

    def test_always_on_entries(self):
        rk = self.rk
        always_on(rk, "ON1")
        first = self.entries()
        self.assertGreater(first, 10)
        # the daily entry run waits a day ahead
        self.assertEqual(self.sql("SELECT count(*) FROM rekindle.timers WHERE campaign_id "
                                  "= 'ON1' AND kind = 8 AND seq > 0 AND state = 'pending' "
                                  "AND due_at > now() + interval '23 hours'"), "1")
        self.settled()
        # Six weeks later more customers have gone quiet: the profiling
        # run lets them in, and only them.
        rk.profile_all("2025-06-15")
        wait_until(lambda: self.entries() > first, 60, "newcomers entered")
        self.settled()
        second = self.entries()
        dormant = int(self.sql("SELECT count(*) FROM rekindle.customer_profiles WHERE "
                               "state = 'dormant'"))
        self.assertGreater(second, first)
        # the same run again finds nobody new
        rk.profile_all("2025-06-15")
        self.settled()
        self.assertEqual(self.entries(), second)
        self.assertEqual(self.sql("SELECT count(*) FROM (SELECT customer_id FROM "
                                  "rekindle.campaign_entries WHERE campaign_id = 'ON1' "
                                  "GROUP BY customer_id HAVING count(*) > 1) d"), "0")
        # every dormant customer is in, with its reason if excluded
        self.assertEqual(self.sql("SELECT count(*) FROM rekindle.customer_profiles p "
                                  "WHERE p.state = 'dormant' AND p.txn_count > 0 AND "
                                  "NOT EXISTS (SELECT 1 FROM rekindle.campaign_members m "
                                  "WHERE m.campaign_id = 'ON1' AND m.customer_id = "
                                  "p.customer_id)"), "0", "dormant %d" % dormant)
        treat = int(self.sql("SELECT count(*) FROM rekindle.campaign_entries WHERE "
                             "campaign_id = 'ON1' AND status = 'treatment'"))
        # Counted at the provider: one first message per treatment entry.
        keys = provider_keys(self.dbl, "ON1")
        self.assertEqual(set(keys.values()), {1})
        firsts = {k.split(":")[1] for k in keys if k.split(":")[2] == "0"}
        self.assertEqual(len(firsts), int(self.sql(
            "SELECT count(DISTINCT customer_id) FROM rekindle.messages WHERE "
            "campaign_id = 'ON1' AND step = 0 AND state = 'sent'")))
        self.assertLessEqual(len(firsts), treat)

        # A week on (the clock of these entries moved back eight days),
        # those whose journey has nothing pending enter again.
        back = send_back(rk, "ON1", 30)
        rk.profile_all("2025-06-15")
        wait_until(lambda: self.sql("SELECT count(*) FROM rekindle.campaign_entries WHERE "
                                    "campaign_id = 'ON1' AND entry = 2") != "0", 60,
                   "second entries")
        self.settled()
        again = self.sql("SELECT customer_id || '|' || status FROM "
                         "rekindle.campaign_entries WHERE campaign_id = 'ON1' AND "
                         "entry = 2 ORDER BY customer_id").splitlines()
        self.assertEqual(len(again), len([c for c in back if self.sql(
            "SELECT state FROM rekindle.customer_profiles WHERE customer_id = '%s'" % c)
            == "dormant"]))
        for row in again:
            cid, status = row.split("|")
            self.assertIn(cid, back)
            self.assertEqual(status == "control", control("ON1", cid, 2, 20), cid)
            self.assertEqual(self.sql("SELECT entry FROM rekindle.campaign_members WHERE "
                                      "campaign_id = 'ON1' AND customer_id = '%s'" % cid),
                             "2")
        # each first journey is kept as it ended, beside the member row
        # that is now the second (campaign_past_entries)
        ids = ",".join(r.split("|")[0] for r in again)
        self.assertEqual(self.sql(
            "SELECT count(*) FROM rekindle.campaign_past_entries WHERE campaign_id = "
            "'ON1' AND entry = 1 AND journey IS NOT NULL AND reminders IS NOT NULL AND "
            "customer_id = ANY ('{%s}')" % ids), str(len(again)))
        self.assertEqual(self.sql(
            "SELECT count(*) FROM rekindle.campaign_past_entries WHERE campaign_id = "
            "'ON1' AND NOT (customer_id = ANY ('{%s}'))" % ids), "0")
        # the second journeys' messages went out under keys of their own
        second_keys = [k for k, n in provider_keys(self.dbl, "ON1").items()
                       if k.endswith(":2") and n == 1]
        self.assertEqual(len(second_keys), sum(1 for r in again if r.endswith("treatment")))
        # The report: entries by week, recounted.
        rep = rk.call(K, "GetCampaignReport", rk.msg("rekindle.v1.GetCampaignReportRequest",
                                                     campaign_id="ON1"))
        weeks = {w.week: (w.treatment, w.control) for w in rep.entries_by_week}
        want = {}
        for row in self.sql("SELECT w || '|' || count(*) FILTER (WHERE status = "
                            "'treatment') || '|' || count(*) FILTER (WHERE status = "
                            "'control') FROM (SELECT to_char(date_trunc('week', entered_at "
                            "AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS w, status FROM "
                            "rekindle.campaign_entries WHERE campaign_id = 'ON1') e "
                            "GROUP BY w").splitlines():
            w, t, c = row.split("|")
            want[w] = (int(t), int(c))
        self.assertEqual(weeks, want)
        self.assertEqual(rep.stats.audience, self.entries())


class JourneyFaultTest(RekindleCase):
    """An entry run is one transaction, as a launch is: a campaigner
    SIGKILLed at its last step (writing the outbox), or PostgreSQL crashing
    there (pg_ctl restart -m immediate), after the run has already kept
    the earlier journeys of those entering again (campaign_past_entries)
    and replaced their member rows, leaves nothing of it behind; whoever
    takes the job next makes the run once, whole. Each entry is recorded
    once, each earlier journey kept once, the offer spent once per
    treatment entry, and the providers' doubles received each entry's
    message once."""

    @classmethod
    def setUpClass(cls):
        cls.rk, cls.dbl = journeys(campaigners=0)

    def campaigner(self):
        """A campaigner whose jobs return 2 s after it dies."""
        return self.rk.start_worker("rekindle-campaigner", ["-o", "lease_seconds=2"])

    def entry_run_under(self, cid, fault, campaigner):
        """Profiles as of 2025-06-15 while a session holds the outbox
        (messages) in SHARE mode, so the entry run the profiling run asks
        for stops at its last step, everything before it written in its
        transaction; then fault. Returns the campaigner left running."""
        rk = self.rk
        held = rk.db.hold("LOCK TABLE rekindle.messages IN SHARE MODE")
        try:
            rk.profile_all("2025-06-15")
            wait_until(lambda: rk.db.sql(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE 'INSERT INTO messages%'") == "1", 60,
                "the entry run waiting at the outbox")
            job = rk.db.sql("SELECT id FROM rekindle.jobs WHERE queue = 'campaign' AND "
                            "state = 'running'")
            state = "SELECT attempt || ',' || state FROM rekindle.jobs WHERE id = " + job
            self.assertEqual(rk.db.sql(state), "1,running")
            # the earlier journeys are kept in the run's transaction, not
            # yet seen
            self.assertEqual(rk.db.sql("SELECT count(*) FROM rekindle.campaign_members "
                                       "WHERE campaign_id = '%s' AND entry > 1" % cid),
                             self.entered_again)
            if fault == "kill":
                campaigner.stop(signal.SIGKILL)
                campaigner = self.campaigner()
                wait_until(lambda: rk.db.sql(state) == "2,running", 30,
                           "the job taken again")
                held.release()
            else:
                rk.db.crash_restart()
                held.release()
            # after a crash the campaigner that lost its connection may
            # run the job again itself, under the same attempt
            wait_until(lambda: rk.db.sql(state).endswith(",done"), 90, "the entry run done")
        finally:
            held.release()
        settle(rk, cid)
        return campaigner

    def check(self, cid, back):
        """Each of back still dormant entered again once, its first journey
        kept once, and nothing sent or spent twice."""
        rk = self.rk
        dormant = set(rk.db.sql("SELECT customer_id FROM rekindle.customer_profiles WHERE "
                                "state = 'dormant' AND customer_id = ANY ('{%s}')"
                                % ",".join(back)).split())
        again = set(rk.db.sql("SELECT customer_id FROM rekindle.campaign_members WHERE "
                              "campaign_id = '%s' AND entry = 2 AND customer_id = ANY "
                              "('{%s}')" % (cid, ",".join(back))).split())
        self.assertTrue(dormant, "someone sent back is still dormant")
        self.assertEqual(again, dormant)
        self.entered_again = rk.db.sql("SELECT count(*) FROM rekindle.campaign_members "
                                       "WHERE campaign_id = '%s' AND entry > 1" % cid)
        # one past entry per customer entering again, none for anyone else
        self.assertEqual(rk.db.sql(
            "SELECT count(*) || ',' || count(DISTINCT customer_id) || ',' || "
            "count(*) FILTER (WHERE entry = 1 AND journey IS NOT NULL) FROM "
            "rekindle.campaign_past_entries WHERE campaign_id = '%s'" % cid),
            "%s,%s,%s" % ((self.entered_again,) * 3))
        # the offer spent once per treatment entry, past and current
        self.assertEqual(rk.db.sql("SELECT quantity_used FROM rekindle.offers WHERE "
                                   "offer_id = 'BACK'"),
                         rk.db.sql("SELECT count(*) FROM rekindle.campaign_entries WHERE "
                                   "campaign_id = '%s' AND status = 'treatment'" % cid))
        # one first message per treatment entry in the outbox
        treat = set(tuple(r.split("|")) for r in rk.db.sql(
            "SELECT customer_id || '|' || entry FROM rekindle.campaign_entries WHERE "
            "campaign_id = '%s' AND status = 'treatment'" % cid).split())
        outbox = rk.db.sql("SELECT customer_id || '|' || entry FROM rekindle.messages WHERE "
                           "campaign_id = '%s' AND step = 0" % cid).split()
        self.assertEqual(len(outbox), len(set(outbox)))
        self.assertEqual(set(tuple(r.split("|")) for r in outbox), treat)
        # Counted at the providers: every key once, each a treatment entry's
        keys = provider_keys(self.dbl, cid)
        self.assertEqual([k for k, n in keys.items() if n != 1], [])
        got = set()
        for k in keys:
            parts = k.split(":")
            self.assertEqual(parts[2], "0", k)
            got.add((parts[1], parts[4] if len(parts) > 4 else "1"))
        self.assertLessEqual(got, treat)
        self.assertEqual(len(got), int(rk.db.sql(
            "SELECT count(*) FROM rekindle.messages WHERE campaign_id = '%s' AND "
            "step = 0 AND state = 'sent'" % cid)))
        return again

    def test_entry_run_killed_or_crashed_midway_is_made_once(self):
        rk = self.rk
        campaigner = self.campaigner()
        always_on(rk, "ON2")
        settle(rk, "ON2")
        self.entered_again = "0"
        # Newcomers and customers entering again, the campaigner killed.
        back = send_back(rk, "ON2", 25)
        campaigner = self.entry_run_under("ON2", "kill", campaigner)
        first = self.check("ON2", back)
        # Customers entering again, PostgreSQL crashed.
        back = send_back(rk, "ON2", 25)
        campaigner = self.entry_run_under("ON2", "crash", campaigner)
        self.assertFalse(self.check("ON2", back) & first)
        # second journeys' messages reached the providers, under keys of their own
        self.assertTrue([k for k in provider_keys(self.dbl, "ON2") if k.endswith(":2")])
        campaigner.stop()


if __name__ == "__main__":
    unittest.main()
