"""Always-on win-back journeys on real processes: a campaign of kind
ALWAYS_ON keeps its audience rule live. Customers who become dormant
between two profiling runs enter it after the second run (the profiler asks
for an entry run, the timer pool fires it, the campaigner lets the
newcomers in), each once however often the runs repeat; a customer whose
entry is older than the campaign's re-entry days, with nothing of that
journey pending, enters again as a new journey (its own control split, its
own messages under new idempotency keys). Sends are counted at the provider
doubles; the report's entries by week are recounted here in SQL."""
import datetime, hashlib, time, unittest

from harness import RekindleCase, Doubles, Rekindle, deliver_args, wait_until

K = "rekindle.v1.CampaignService"
SMS, ZNS = 2, 3
RUNNING = 3


def control(campaign, customer, entry, holdout):
    s = "%s:%s" % (campaign, customer) + (":%d" % entry if entry > 1 else "")
    return int(hashlib.md5(s.encode()).hexdigest()[:8], 16) % 10000 < holdout * 100


class JourneyTest(RekindleCase):
    @classmethod
    def setUpClass(cls):
        cls.rk = rk = Rekindle(campaigners=1, profilers=1)
        cls.dbl = Doubles(rk)
        rk.load_synthetic(1500, 5, "2025-06-30")
        rk.profile_all("2025-05-01")
        rk.create_fallback_offer()
        rk.customers_at_midday()
        for ch in ("zns", "sms"):
            rk.start("rekindle-deliver", deliver_args(ch, cls.dbl.base, extra=[
                "-o", "poll_interval_ms=100", "-o", "sms_per_day=0"]))
        for _ in range(2):
            rk.start("rekindle-timer", ["-o", "timer_poll_ms=100"])


    def entries(self):
        return int(self.sql("SELECT count(*) FROM rekindle.campaign_entries WHERE "
                            "campaign_id = 'ON1'"))

    def settled(self):
        """The entry runs asked for have run and their messages are sent."""
        wait_until(lambda: self.sql("SELECT count(*) FROM rekindle.timers WHERE "
                                    "campaign_id = 'ON1' AND kind = 8 AND seq < 0 AND "
                                    "state = 'pending'") == "0", 30, "entry runs fired")
        wait_until(lambda: self.sql("SELECT count(*) FROM rekindle.jobs WHERE queue = "
                                    "'campaign' AND state NOT IN ('done', 'discarded')")
                   == "0", 30, "entry jobs done")
        wait_until(lambda: self.sql("SELECT count(*) FROM rekindle.messages WHERE "
                                    "campaign_id = 'ON1' AND state IN ('queued', "
                                    "'sending')") == "0", 60, "entries' messages sent")

    def test_always_on_entries(self):
        rk = self.rk
        rk.call(K, "CreateCampaign", rk.msg("rekindle.v1.CreateCampaignRequest",
                campaign=rk.msg("rekindle.v1.Campaign", campaign_id="ON1",
                                name="Đánh thức mỗi ngày", kind=2, reentry_days=7,
                                fallback_offer_id="BACK", channel_order=[ZNS, SMS],
                                holdout_percent=20, attribution_days=30,
                                audience=rk.msg("rekindle.v1.AudienceRule", states=[4]))))
        rk.call(K, "LaunchCampaign", rk.msg("rekindle.v1.LaunchCampaignRequest",
                                             campaign_id="ON1"))
        wait_until(lambda: rk.call(K, "GetCampaign", rk.msg(
            "rekindle.v1.GetCampaignRequest", campaign_id="ON1")).state == RUNNING, 60,
            "ON1 running")
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
        keys = {}
        for ch in ("zns", "sms"):
            for k in self.dbl.get("/_keys/" + ch):
                if k["key"].startswith("ON1:"):
                    keys[k["key"]] = keys.get(k["key"], 0) + k["count"]
        self.assertEqual(set(keys.values()), {1})
        firsts = {k.split(":")[1] for k in keys if k.split(":")[2] == "0"}
        self.assertEqual(len(firsts), int(self.sql(
            "SELECT count(DISTINCT customer_id) FROM rekindle.messages WHERE "
            "campaign_id = 'ON1' AND step = 0 AND state = 'sent'")))
        self.assertLessEqual(len(firsts), treat)

        # A week on (the clock of these entries moved back eight days),
        # those whose journey has nothing pending enter again.
        back = self.sql("SELECT string_agg(customer_id, ',') FROM (SELECT customer_id "
                        "FROM rekindle.campaign_members WHERE campaign_id = 'ON1' AND "
                        "status <> 'excluded' ORDER BY customer_id LIMIT 30) x").split(",")
        rk.db.sql("UPDATE rekindle.campaign_members SET added_at = added_at - "
                  "interval '8 days' WHERE campaign_id = 'ON1' AND customer_id = ANY "
                  "('{%s}')" % ",".join(back))
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
        second_keys = [k["key"] for ch in ("zns", "sms") for k in
                       self.dbl.get("/_keys/" + ch) if k["key"].startswith("ON1:")
                       and k["key"].endswith(":2") and k["count"] == 1]
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


if __name__ == "__main__":
    unittest.main()
