"""Customer analytics against ground truth: the seeded synthetic bank-card
generator (tools/rkgen) makes Tiki and Shopee shoppers, travellers, weekend
shoppers, promotion-driven customers and customers who go quiet at a known
date; a full profiling run must recover what the generator put in."""
import csv, datetime, hashlib, os, subprocess, unittest

from harness import BIN, Rekindle

AS_OF = "2025-06-30"


def share(rows, pred):
    rows = list(rows)
    return sum(1 for r in rows if pred(r)) / max(len(rows), 1), len(rows)


class GroundTruthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rk = rk = Rekindle(profilers=2)
        out = os.path.join(rk.tmp, "gen")
        subprocess.run([os.path.join(BIN, "rkgen"), "--customers", "1500", "--seed",
                        "11", "--as-of", AS_OF, "--days", "730", "--out", out],
                       check=True, capture_output=True)
        for f in ("customers.csv", "transactions.csv"):
            r = rk.ctl("customers", "import", os.path.join(out, f))
            assert "rejected" not in r.stdout or " 0 rejected" in r.stdout, r.stdout
        r = rk.ctl("promotions", "import", os.path.join(out, "promotions.csv"))
        assert "promotions upserted" in r.stdout, r.stdout + r.stderr
        # Local time is the customer's: the same Saturday 03:00 UTC
        # purchases are Saturday 10:00 in Ho Chi Minh City and Friday
        # evening in New York (22:00 in winter, 23:00 in summer).
        for cid, zone in (("TZ-HCM", "Asia/Ho_Chi_Minh"), ("TZ-NYC", "America/New_York")):
            rk.db.sql("INSERT INTO rekindle.customers (id, time_zone) VALUES "
                      "('%s', '%s')" % (cid, zone))
            rk.db.sql("INSERT INTO rekindle.transactions (txn_id, customer_id, "
                      "occurred_at, amount_minor, currency, mcc) SELECT "
                      "'%s-' || k, '%s', timestamptz '2025-01-04 03:00Z' + "
                      "(CASE WHEN k < 8 THEN 7 * k ELSE 154 + 7 * k END) * "
                      "interval '1 day', 100000, 'VND', 5411 "
                      "FROM generate_series(0, 9) k" % (cid, cid))
        rk.profile_all(AS_OF)
        cols = ("customer_id, state, days_since_last, count_365d, top_category, "
                "top_partner, weekend_spend_share, promo_spend_share, "
                "median_gap_days, p_alive, segment, churn_risk, peak_hour, "
                "cardinality(churn_reasons)")
        cls.p = {}
        for line in rk.db.sql("SELECT %s FROM rekindle.customer_profiles" % cols
                              ).splitlines():
            v = line.split("|")
            cls.p[v[0]] = dict(zip([c.strip() for c in cols.split(",")][:-1] +
                                   ["nreasons"], v))
        with open(os.path.join(out, "truth.csv")) as fh:
            cls.truth = list(csv.DictReader(fh))
        asof = datetime.datetime.fromisoformat(AS_OF + "T00:00:00+00:00")
        for t in cls.truth:
            t["quiet_days"] = ((asof - datetime.datetime.fromisoformat(
                t["dormant_since"].replace("Z", "+00:00"))).days
                if t["dormant_since"] else None)

    @classmethod
    def tearDownClass(cls):
        cls.rk.close()

    def recent(self, archetype):
        """Profiles of an archetype with enough purchases in the last year."""
        return [self.p[t["customer_id"]] for t in self.truth
                if t["archetype"] == archetype and t["customer_id"] in self.p
                and int(self.p[t["customer_id"]]["count_365d"]) >= 5]

    def test_every_customer_with_a_purchase_is_profiled(self):
        buyers = int(self.rk.db.sql("SELECT count(DISTINCT customer_id) FROM "
                                    "rekindle.transactions"))
        self.assertGreater(buyers, 1450)
        self.assertEqual(len(self.p), buyers)
        # the full run's table, swapped in, keeps its settings: room for
        # incremental updates in place, no vacuum for the rows it inserted
        self.assertEqual(self.rk.db.sql(
            "SELECT array_to_string(reloptions, ',') FROM pg_class WHERE oid = "
            "'rekindle.customer_profiles'::regclass"),
            "fillfactor=70,autovacuum_vacuum_insert_threshold=-1")

    def test_habits_are_in_the_customers_own_time_zone(self):
        hcm, nyc = self.p["TZ-HCM"], self.p["TZ-NYC"]
        self.assertEqual((hcm["peak_hour"], float(hcm["weekend_spend_share"])), ("10", 1.0))
        self.assertEqual((nyc["peak_hour"], float(nyc["weekend_spend_share"])), ("22", 0.0))

    def test_marketplace_shoppers_have_their_partner_first(self):
        for arch, partner in (("tiki", "TIKI"), ("shopee", "SHOPEE")):
            s, n = share(self.recent(arch), lambda r: r["top_partner"] == partner)
            self.assertGreater(n, 50)
            self.assertGreaterEqual(s, 0.95, "%s: %.2f of %d" % (arch, s, n))

    def test_travellers_have_travel_first(self):
        s, n = share(self.recent("traveller"), lambda r: r["top_category"] == "travel")
        self.assertGreater(n, 50)
        self.assertGreaterEqual(s, 0.95)
        s, n = share(self.recent("everyday"), lambda r: r["top_category"] in
                     ("groceries", "dining", "fuel_transport"))
        self.assertGreaterEqual(s, 0.95)

    def test_weekend_shoppers_spend_on_weekends(self):
        s, n = share(self.recent("weekend"), lambda r: float(r["weekend_spend_share"]) > 0.95)
        self.assertGreaterEqual(s, 0.95, "%.2f of %d" % (s, n))
        s, n = share(self.recent("everyday"), lambda r: float(r["weekend_spend_share"]) < 0.5)
        self.assertGreaterEqual(s, 0.95)

    def test_promotion_driven_spend_at_promotions(self):
        s, n = share(self.recent("promo"), lambda r: float(r["promo_spend_share"]) >= 0.5)
        self.assertGreater(n, 20)
        self.assertGreaterEqual(s, 0.9, "%.2f of %d" % (s, n))
        s, n = share(self.recent("everyday"), lambda r: float(r["promo_spend_share"]) < 0.2)
        self.assertGreaterEqual(s, 0.95)

    def test_customers_who_went_quiet_are_dormant_from_that_date(self):
        quiet = [(t, self.p[t["customer_id"]]) for t in self.truth
                 if t["quiet_days"] and t["customer_id"] in self.p]
        self.assertGreater(len(quiet), 300)
        # The last purchase is before the quiet date, by about one gap.
        s, n = share(quiet, lambda tp: 0 <= int(tp[1]["days_since_last"]) -
                     tp[0]["quiet_days"] <= 6 * float(tp[0]["mean_gap_days"]) + 3)
        self.assertGreaterEqual(s, 0.95, "%.2f of %d" % (s, n))
        s, n = share([tp for tp in quiet if tp[0]["quiet_days"] >= 100],
                     lambda tp: tp[1]["state"] in ("dormant", "lost"))
        self.assertGreaterEqual(s, 0.98)
        s, n = share([tp for tp in quiet if tp[0]["quiet_days"] >= 380],
                     lambda tp: tp[1]["state"] == "lost")
        self.assertGreaterEqual(s, 0.98)

    def test_regular_customers_are_active(self):
        regular = [self.p[t["customer_id"]] for t in self.truth
                   if not t["quiet_days"] and t["archetype"] in
                   ("tiki", "shopee", "everyday", "weekend")]
        s, n = share(regular, lambda r: r["state"] not in ("dormant", "lost"))
        self.assertGreaterEqual(s, 0.99, "%.2f of %d" % (s, n))
        # "At risk" flags a silence of 3 usual gaps: with exponential gaps
        # that is about one regular customer in ten on any given day.
        s, n = share(regular, lambda r: r["state"] in ("active", "new"))
        self.assertGreaterEqual(s, 0.8, "%.2f of %d" % (s, n))

    def test_usual_gap_tracks_the_true_rhythm(self):
        rows = [(float(t["mean_gap_days"]), float(self.p[t["customer_id"]]["median_gap_days"]))
                for t in self.truth if t["archetype"] == "everyday" and not t["quiet_days"]]
        s, n = share(rows, lambda g: 0.3 <= g[1] / g[0] <= 1.5)
        self.assertGreaterEqual(s, 0.9, "%.2f of %d" % (s, n))

    def test_p_alive_separates_quiet_from_regular(self):
        alive = lambda rows: sum(float(r["p_alive"]) for r in rows) / len(rows)
        quiet = [self.p[t["customer_id"]] for t in self.truth
                 if t["quiet_days"] and t["quiet_days"] > 200 and t["customer_id"] in self.p]
        regular = [self.p[t["customer_id"]] for t in self.truth
                   if not t["quiet_days"] and t["customer_id"] in self.p]
        self.assertLess(alive(quiet), 0.5 * alive(regular))
        self.assertGreater(alive(regular), 0.8)

    def test_churn_models_trained_compared_and_explained(self):
        rk = self.rk
        report = rk.call("rekindle.v1.ProfileService", "GetModelReport",
                         rk.msg("rekindle.v1.GetModelReportRequest"))
        self.assertIn("AUC on the later period", report.churn_model)
        self.assertGreater(report.churn_auc, 0.85)
        self.assertGreaterEqual(len(report.calibration), 5)
        self.assertEqual({f.model for f in report.fits}, {"BG/NBD", "MBG/NBD"})
        # Calibrated on the validation period (point 4): out of fold, every
        # bin of 200 or more customers within 0.05 of its observed rate,
        # and a better Brier score than the raw scores.
        self.assertIn(report.calibration_method, ("platt", "isotonic"))
        self.assertIn("judged out of fold", report.calibration_reason)
        for b in report.calibration:
            if b.count >= 200:
                self.assertLessEqual(abs(b.predicted - b.observed), 0.05, report)
        self.assertLess(report.brier_after, report.brier_before)
        self.assertGreaterEqual(len(report.calibration_before), 5)
        # The BTYD choice, with its validation AUCs beside the churn model's.
        self.assertIn(report.btyd_model, ("BG/NBD", "MBG/NBD"))
        self.assertTrue(report.p_alive_informative)
        self.assertTrue(report.HasField("p_alive_auc"))
        self.assertTrue(report.HasField("expected_purchases_auc"))
        self.assertGreater(report.validation_customers, 0)
        # Customers who went quiet long ago are high risk; regulars low.
        risk = lambda rows: sum(float(r["churn_risk"]) for r in rows) / len(rows)
        quiet = [self.p[t["customer_id"]] for t in self.truth
                 if t["quiet_days"] and t["quiet_days"] > 120 and t["customer_id"] in self.p]
        regular = [self.p[t["customer_id"]] for t in self.truth
                   if not t["quiet_days"] and t["customer_id"] in self.p]
        self.assertGreater(risk(quiet), 0.8)
        self.assertLess(risk(regular), 0.3)
        s, n = share(quiet, lambda r: int(r["nreasons"] or 0) >= 1)
        self.assertGreaterEqual(s, 0.99)
        cid = max(quiet, key=lambda r: float(r["churn_risk"]))["customer_id"]
        ex = rk.call("rekindle.v1.ProfileService", "ExplainChurnRisk",
                     rk.msg("rekindle.v1.ExplainChurnRiskRequest", customer_id=cid))
        self.assertGreater(ex.churn_risk.value, 0.9)
        self.assertTrue(any(r.startswith("no purchase for ") and "usual gap" in r
                            for r in ex.reasons), list(ex.reasons))
        self.assertEqual(len(ex.reasons_vi), len(ex.reasons))
        self.assertTrue(ex.reasons_vi[0].startswith("không giao dịch "), list(ex.reasons_vi))


M64 = (1 << 64) - 1


def splitmix64(state):
    """The first output of splitmix64 from state (Vigna; fit.c's
    next_rand)."""
    z = (state + 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


class FitSampleTest(unittest.TestCase):
    """The fit sample is uniform and seeded: the customers whose first 32
    bits of md5(id) fall in a window of 2^32 n / customers placed by the
    seed, wrapping at 2^32 - recomputed here from the ids alone and
    compared with what the model report says the BTYD fit took."""

    N, SAMPLE = 900, 300

    @classmethod
    def setUpClass(cls):
        cls.rk = rk = Rekindle()
        out = os.path.join(rk.tmp, "gen")
        subprocess.run([os.path.join(BIN, "rkgen"), "--customers", str(cls.N),
                        "--seed", "5", "--as-of", AS_OF, "--days", "730",
                        "--out", out], check=True, capture_output=True)
        for f in ("customers.csv", "transactions.csv"):
            rk.ctl("customers", "import", os.path.join(out, f))
        cls.keys = {}
        for cid in rk.db.sql("SELECT id FROM rekindle.customers").splitlines():
            cls.keys[cid] = int(hashlib.md5(cid.encode()).hexdigest()[:8], 16)

    @classmethod
    def tearDownClass(cls):
        cls.rk.close()

    def window(self, seed):
        start = splitmix64(seed) >> 32
        width = (1 << 32) * self.SAMPLE // len(self.keys)
        return start, width, {c for c, k in self.keys.items()
                              if (k - start) % (1 << 32) < width}

    def fitted(self, seed, run):
        rk = self.rk
        p = rk.start("rekindle-profiler", ["-o", "profile_fit_sample=%d" % self.SAMPLE,
                                           "-o", "profile_fit_seed=%d" % seed])
        try:
            r = rk.ctl("profiles", "run", "--as-of", AS_OF, "--request-id", run)
            self.assertIn("done: ok", r.stdout, r.stdout + r.stderr)
        finally:
            p.stop()
        rep = rk.call("rekindle.v1.ProfileService", "GetModelReport",
                      rk.msg("rekindle.v1.GetModelReportRequest"))
        return {f.model: f for f in rep.fits}

    def test_the_sample_is_the_seeds_window(self):
        rk = self.rk
        # the stored key is md5's, as computed here
        for line in rk.db.sql("SELECT id, sample_key FROM rekindle.customers "
                              "LIMIT 50").splitlines():
            cid, key = line.split("|")
            self.assertEqual(int(key), self.keys[cid], cid)
        # a seed whose window wraps past 2^32, and one whose does not
        wraps = next(s for s in range(1, 100000)
                     if self.window(s)[0] + self.window(s)[1] > (1 << 32) + 1000)
        plain = next(s for s in range(1, 100000)
                     if self.window(s)[0] + self.window(s)[1] < (1 << 32) - 1000)
        fits = {}
        for seed in (wraps, plain):
            start, width, members = self.window(seed)
            self.assertGreater(len(members), self.SAMPLE * 0.7)
            self.assertLess(len(members), self.SAMPLE * 1.3)
            fits[seed] = self.fitted(seed, "sample-%d" % seed)
            # the BTYD fit takes the sampled customers with a history
            # (T > 0): exactly those of the window
            hist = set(rk.db.sql("SELECT customer_id FROM rekindle.customer_profiles "
                                 "WHERE btyd_t > 0").splitlines())
            self.assertEqual(fits[seed]["BG/NBD"].customers, len(members & hist),
                             "seed %d: window [%d, +%d)" % (seed, start, width))
        # another seed, another sample; the same seed, the same fit
        self.assertNotEqual(dict(fits[wraps]["BG/NBD"].parameters),
                            dict(fits[plain]["BG/NBD"].parameters))
        again = self.fitted(wraps, "sample-again")
        self.assertEqual(dict(again["BG/NBD"].parameters),
                         dict(fits[wraps]["BG/NBD"].parameters))


if __name__ == "__main__":
    unittest.main()
