"""The CDNOW master data set (23,570 real customers of an online music shop,
Fader & Hardie; tests/fixtures/cdnow) loaded through rekindlectl and
profiled for real, read back through the API from python3-grpcio: what
is not known is absent, never 0; segments agree with lifecycle states; an
audience rule on churn risk states what it does with the unscored."""
import calendar, os, re, signal, subprocess, time, unittest

import grpc

from harness import Rekindle, SRC, wait_until

AS_OF = "1998-07-01"          # the day after the data ends
P, K = "rekindle.v1.ProfileService", "rekindle.v1.CampaignService"
C = "rekindle.v1.CustomerService"
ZERO_ONLY = 68                # customers whose only records are $0.00
# Segments a state allows (the R x F grid, recency bounded by the state).
ALLOWED = {
    "lost": {"Lost", "Hibernating", "At risk", "Cannot lose them"},
    "dormant": {"Lost", "Hibernating", "At risk", "Cannot lose them"},
    "at_risk": {"About to sleep", "Needs attention", "Loyal", "Potential loyalists",
                "Promising"},
    "active": {"Champions", "Loyal", "Potential loyalists", "Promising",
               "About to sleep", "Needs attention"},
    "new": {"Champions", "Loyal", "Potential loyalists", "Promising", "New",
            "About to sleep", "Needs attention"},
}


class CdnowTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rk = rk = Rekindle(profilers=2, campaigners=1)
        out = os.path.join(rk.tmp, "cdnow")
        subprocess.run(["/usr/bin/python3", os.path.join(SRC, "deploy/demo/cdnow.py"),
                        os.path.join(SRC, "tests/fixtures/cdnow/CDNOW_master.txt.gz"), out],
                       check=True, capture_output=True)
        r = rk.ctl("customers", "import", os.path.join(out, "customers.csv"))
        assert "23570 created" in r.stdout, r.stdout + r.stderr
        r = rk.ctl("customers", "import", os.path.join(out, "transactions.csv"))
        assert "69659 accepted" in r.stdout, r.stdout + r.stderr
        # Every customer profiled incrementally; no churn model exists yet.
        wait_until(lambda: rk.db.sql("SELECT count(*) FROM rekindle.customer_profiles")
                   == "23570", 180, "incremental profiles")
        rk.create_fallback_offer()

    @classmethod
    def tearDownClass(cls):
        cls.rk.close()

    def profiles(self, cols, where):
        return [l.split("|") for l in self.rk.db.sql(
            "SELECT %s FROM rekindle.customer_profiles WHERE %s" % (cols, where)
        ).splitlines()]

    def launch(self, cid, **rule):
        rk = self.rk
        rk.call(K, "CreateCampaign", rk.msg("rekindle.v1.CreateCampaignRequest",
                campaign=rk.msg("rekindle.v1.Campaign", campaign_id=cid, name=cid,
                                fallback_offer_id="BACK", channel_order=[2],
                                audience=rk.msg("rekindle.v1.AudienceRule", **rule))))
        op = rk.call(K, "LaunchCampaign", rk.msg("rekindle.v1.LaunchCampaignRequest",
                                                  campaign_id=cid))
        deadline = time.time() + 120
        while not op.done and time.time() < deadline:
            time.sleep(0.2)
            op = rk.call(K, "GetOperation", rk.msg("rekindle.v1.GetOperationRequest",
                                                    name=op.name))
        self.assertTrue(op.done and not op.error_message, op)
        got = dict(l.split("|") for l in rk.db.sql(
            "SELECT coalesce(reason, status), count(*) FROM rekindle.campaign_members "
            "WHERE campaign_id = '%s' GROUP BY 1" % cid).splitlines())
        # the launch's Operation says the same, each exclusion by reason
        self.assertEqual({k: str(v) for k, v in op.counters.items()
                          if k.startswith("excluded_")},
                         {"excluded_" + k: v for k, v in got.items()
                          if k not in ("treatment", "control")}, op)
        self.assertEqual(op.counters["excluded"], sum(
            int(v) for k, v in got.items() if k not in ("treatment", "control")))
        return got

    def test_1_unscored_churn_rule(self):
        """Before any model: nobody has a churn risk, and a rule on it
        excludes them as not_scored - unless the campaign includes the
        unscored, when they go on to the other checks (no consent here)."""
        rk = self.rk
        buyers = int(rk.db.sql("SELECT count(*) FROM rekindle.customer_profiles "
                               "WHERE txn_count > 0 AND state = 'lost'"))
        self.assertEqual(rk.db.sql("SELECT count(*) FROM rekindle.customer_profiles "
                                   "WHERE churn_risk IS NOT NULL"), "0")
        got = self.launch("RISKY", states=[5], min_churn_risk=0.5)
        self.assertEqual(got, {"not_scored": str(buyers)})
        got = self.launch("RISKY-ALL", states=[5], min_churn_risk=0.5, include_unscored=True)
        self.assertEqual(got, {"no_consent": str(buyers)})
        c = rk.call(K, "GetCampaign", rk.msg("rekindle.v1.GetCampaignRequest",
                                             campaign_id="RISKY-ALL"))
        self.assertTrue(c.audience.include_unscored)
        # a rule on P(alive) the same: nobody has one before a fit
        got = self.launch("ALIVE-EARLY", states=[5], min_p_alive=0.3)
        self.assertEqual(got, {"not_scored": str(buyers)})
        got = self.launch("ALIVE-EARLY-ALL", states=[5], min_p_alive=0.3,
                          include_unscored=True)
        self.assertEqual(got, {"no_consent": str(buyers)})
        p = rk.call(P, "ExplainChurnRisk", rk.msg("rekindle.v1.ExplainChurnRiskRequest",
                                                   customer_id="CD00001"))
        self.assertFalse(p.HasField("churn_risk"))
        self.assertIn("no churn model", p.not_scored_reason)

    def test_2_full_run(self):
        rk = self.rk
        r = rk.ctl("profiles", "run", "--as-of", AS_OF)
        self.assertIn("done: ok", r.stdout, r.stderr)
        rows = self.profiles(
            "customer_id, state, coalesce(segment, ''), txn_count, "
            "total_spend_minor, coalesce(recency_score, 0), coalesce(frequency_score, 0), "
            "coalesce(monetary_score, 0), churn_risk IS NULL, p_alive IS NULL, "
            "days_since_last IS NULL", "true")
        self.assertEqual(len(rows), 23570)
        # The $0-only customers: no purchase, so nothing scored, segment
        # "No purchase", whatever their state.
        nopurchase = [r for r in rows if r[2] == "No purchase"]
        self.assertEqual(len(nopurchase), ZERO_ONLY)
        for r in nopurchase:
            self.assertEqual(r[3:5], ["0", "0"], r)
            self.assertEqual(r[5:], ["0", "0", "0", "t", "t", "t"], r)
        # Everyone who bought is scored and in a segment their state allows.
        bad = [r for r in rows if r[2] != "No purchase" and (
            r[2] not in ALLOWED[r[1]] or "0" in r[5:8] or "t" in r[8:])]
        self.assertEqual(bad, [])
        # No quintile collapses: every R and M score is used, and F (65 %
        # of CDNOW bought on one day only) still has at least three.
        for col, least in ((5, 5), (6, 3), (7, 5)):
            self.assertGreaterEqual(len({r[col] for r in rows if r[col] != "0"}), least, col)
        self.assertEqual({r[1] for r in rows if r[2] in ("New", "Promising")} & {"lost"},
                         set())

        # The API: absent, never 0, with why; the CLI says "not scored".
        cid = nopurchase[0][0]
        p = rk.call(P, "GetProfile", rk.msg("rekindle.v1.GetProfileRequest", customer_id=cid))
        for f in ("churn_risk", "p_alive", "recency_score", "frequency_score",
                  "monetary_score", "days_since_last_transaction", "expected_purchases_90d"):
            self.assertFalse(p.HasField(f), f)
            self.assertEqual(p.not_scored[f], "no purchase before the profile time")
        self.assertEqual(p.segment, "No purchase")
        out = rk.ctl("profiles", "get", cid).stdout
        self.assertIn("churn risk             not scored (no purchase", out)
        self.assertIn("(no purchase)", out)
        js = rk.ctl("--json", "profiles", "get", cid).stdout
        self.assertIn('"churn_risk":null', js)
        buyer = next(r[0] for r in rows if r[2] not in ("No purchase",))
        p = rk.call(P, "GetProfile", rk.msg("rekindle.v1.GetProfileRequest",
                                            customer_id=buyer))
        self.assertTrue(p.HasField("churn_risk") and p.HasField("recency_score"))
        self.assertEqual(dict(p.not_scored), {})
        # A list filtered on churn risk leaves the unscored out; unfiltered
        # lists them.
        seen = rk.call(P, "ListProfiles", rk.msg("rekindle.v1.ListProfilesRequest",
                                                  page_size=1000, segments=["No purchase"]))
        self.assertEqual(len(seen.profiles), ZERO_ONLY)
        self.assertTrue(all(not q.HasField("churn_risk") for q in seen.profiles))
        seen = rk.call(P, "ListProfiles", rk.msg("rekindle.v1.ListProfilesRequest",
                                                  page_size=1000, segments=["No purchase"],
                                                  min_churn_risk=0.01))
        self.assertEqual(len(seen.profiles), 0)

    def test_3_models_honest_and_calibrated(self):
        """Points 3-5 on CDNOW: a random sample, a BTYD choice whose
        stated reason is true, validation AUCs beside the churn model's,
        calibrated risk, and a grammatical reason for every risky
        customer - strongest first."""
        rk = self.rk
        rep = rk.call(P, "GetModelReport", rk.msg("rekindle.v1.GetModelReportRequest"))
        if not rep.churn_model:
            rk.ctl("profiles", "run", "--as-of", AS_OF)
            rep = rk.call(P, "GetModelReport", rk.msg("rekindle.v1.GetModelReportRequest"))
        fits = {f.model: f for f in rep.fits}
        self.assertEqual(set(fits), {"BG/NBD", "MBG/NBD"})
        self.assertEqual([f.degenerate for f in rep.fits], ["", ""])
        # the stated reason names the log-likelihoods actually fitted
        self.assertIn(rep.btyd_model, ("BG/NBD", "MBG/NBD"))
        for f in rep.fits:
            self.assertIn("%s %.1f" % (f.model, f.log_likelihood), rep.btyd_reason)
        if rep.btyd_model == "BG/NBD":
            self.assertGreater(fits["BG/NBD"].log_likelihood,
                               fits["MBG/NBD"].log_likelihood + 2)
        self.assertTrue(rep.p_alive_informative)
        self.assertGreater(rep.p_alive_auc.value, 0.7)
        self.assertGreater(rep.expected_purchases_auc.value, 0.7)
        self.assertGreater(rep.churn_auc, 0.8)
        # a sample of 10,000 of 23,570, drawn by a seeded hash, not the
        # first ids
        self.assertEqual(fits["BG/NBD"].customers, 10000)
        # the same seed and data, the same sample and fit
        rk.ctl("profiles", "run", "--as-of", AS_OF, "--request-id", "again")
        again = {f.model: f for f in rk.call(P, "GetModelReport", rk.msg(
            "rekindle.v1.GetModelReportRequest")).fits}
        self.assertEqual(dict(again["BG/NBD"].parameters), dict(fits["BG/NBD"].parameters))
        # calibrated: out of fold, bins of 200+ within 0.05, Brier better
        self.assertIn(rep.calibration_method, ("platt", "isotonic"))
        self.assertLess(rep.brier_after, rep.brier_before)
        for b in rep.calibration:
            if b.count >= 200:
                self.assertLessEqual(abs(b.predicted - b.observed), 0.05, rep)
        # a reason for every customer at risk 0.5 or more, in both
        # languages; plurals agree; a long silence is said first
        rows = self.profiles(
            "customer_id, churn_risk, days_since_last, "
            "coalesce(array_to_string(churn_reasons, ' ## '), ''), "
            "coalesce(array_to_string(churn_reasons_vi, ' ## '), '')", "churn_risk >= 0.5")
        self.assertGreater(len(rows), 10000)
        quiet = 0
        for cid, risk, days, en, vi in rows:
            self.assertTrue(en and vi, cid)
            self.assertEqual(len(en.split(" ## ")), len(vi.split(" ## ")), cid)
            self.assertIsNone(re.search(r"\b1 (purchases|days)\b", en), en)
            self.assertIsNone(re.search(r"\b([02-9]|\d\d+) (purchase|day)\b", en), en)
            if "no purchase for" in en:
                self.assertIn("no purchase for %s day" % days, en)
                self.assertIn("không giao dịch %s ngày" % days, vi)
            if int(days) > 365:
                # a year's silence is told as one reason, never as its
                # consequences ("only 1 purchase in the last year")
                self.assertNotIn("in the last", en)
                quiet += 1
        self.assertGreater(quiet, 5000)

        # A rule on P(alive) once it is scored: the lost who are still
        # likely to come back (or who are not), every one of them and no
        # one else; nobody who bought is unscored on CDNOW.
        for cid, rule, cond in (("ALIVE-LOST", dict(min_p_alive=0.3), "p_alive >= 0.3"),
                                ("GONE-LOST", dict(max_p_alive=0.1, min_churn_risk=0.5),
                                 "p_alive <= 0.1 AND churn_risk >= 0.5")):
            want = self.rk.db.sql("SELECT count(*) FROM rekindle.customer_profiles WHERE "
                                  "txn_count > 0 AND state = 'lost' AND " + cond)
            self.assertGreater(int(want), 100, cid)
            self.assertEqual(self.launch(cid, states=[5], **rule), {"no_consent": want})
            c = rk.call(K, "GetCampaign", rk.msg("rekindle.v1.GetCampaignRequest",
                                                 campaign_id=cid))
            self.assertEqual((c.audience.min_p_alive, c.audience.max_p_alive),
                             (rule.get("min_p_alive", 0), rule.get("max_p_alive", 0)))

    def test_4_full_run_through_kills_and_a_crash(self):
        """A full run writes a table of its own and swaps it in: a
        profiler SIGKILLed mid-run and an immediate PostgreSQL restart lose
        no profile, leave no run table behind, and a purchase ingested
        during the run is in the data the profile was computed from (an
        incremental profile that saw more than the run is carried over by
        the swap)."""
        rk = self.rk
        # slow profilers, so that the faults land while chunks run
        slow = [rk.start("rekindle-profiler", ["-o", "debug_stall_ms=700",
                                               "-o", "lease_seconds=3"]) for _ in range(2)]
        op = rk.call(P, "RunProfiling", rk.msg(
            "rekindle.v1.RunProfilingRequest", request_id="faults",
            as_of=rk.msg("google.protobuf.Timestamp", seconds=calendar.timegm(
                time.strptime(AS_OF, "%Y-%m-%d")))))
        wait_until(lambda: rk.db.sql("SELECT count(*) FROM pg_tables WHERE tablename "
                                     "LIKE 'customer\\_profiles\\_run\\_%'") == "1",
                   60, "the run's table")
        slow[0].p.send_signal(signal.SIGKILL)
        slow[0].p.wait()
        rk.call(C, "IngestTransactions", [rk.msg(
            "rekindle.v1.IngestTransactionsRequest", transactions=[rk.msg(
                "rekindle.v1.Transaction", transaction_id="CD-00001-late",
                customer_id="CD00001", occurred_at=rk.msg(
                    "google.protobuf.Timestamp", seconds=int(time.time()) - 60),
                amount_minor=1999, currency="USD", mcc=5735)])])
        rk.db.crash_restart()

        def done():
            try:
                return rk.call(P, "GetOperation", rk.msg(
                    "rekindle.v1.GetOperationRequest", name=op.name)).done
            except grpc.RpcError:
                return False
        wait_until(done, 120, "the run done after the faults")
        self.assertEqual(rk.db.sql("SELECT count(*) FROM rekindle.customer_profiles"),
                         "23570")
        self.assertEqual(rk.db.sql("SELECT count(*) FROM pg_tables WHERE tablename "
                                   "LIKE 'customer\\_profiles\\_run\\_%'"), "0")
        # the purchase ingested during the run is in the data the
        # customer's profile was computed from (the run's, as of its date,
        # or the incremental one's, as of now - whichever saw more)
        wait_until(lambda: rk.db.sql(
            "SELECT p.data_watermark >= t.ingested_at FROM rekindle.customer_profiles p "
            "JOIN rekindle.transactions t USING (customer_id) WHERE t.txn_id = "
            "'CD-00001-late'") == "t", 60, "the late purchase profiled")


if __name__ == "__main__":
    unittest.main()
