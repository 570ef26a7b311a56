"""What a campaign cost and earned, on real processes. Three variants carry
three kinds of offer - 5 % cashback at a partner (Tiki, known by its
merchant-name prefix), a fixed 100,000 VND in a category (travel, known by
its MCC), a voucher with codes - and comeback transactions come in through
the ingest API: at the partner, in the category, with the voucher code, at
an unrelated shop (a comeback, not a redemption), and in US dollars
(converted at the day's rate, not dropped). The report's redemptions,
offer cost, message cost per channel, cost per reactivation and ROI are
checked against sums computed here from what was sent in."""
import csv, datetime, os, subprocess, time, unittest

from harness import Doubles, Rekindle, deliver_args, wait_until

K, O, C = "rekindle.v1.CampaignService", "rekindle.v1.OfferService", \
    "rekindle.v1.CustomerService"
SMS = 2
PRICE_SMS = 800
MARGIN_BP = 150


class MoneyTest(unittest.TestCase):
    def test_redemption_costs_and_roi(self):
        rk = Rekindle(campaigners=1, profilers=1)
        try:
            self.run_campaign(rk)
        finally:
            rk.close()

    def run_campaign(self, rk):
        dbl = Doubles(rk)
        rk.load_synthetic(1200, 13, "2025-06-30")
        rk.profile_all("2025-05-01")
        rk.create_fallback_offer()
        now = int(time.time())
        ts = lambda s: rk.msg("google.protobuf.Timestamp", seconds=s)
        sms = [rk.msg("rekindle.v1.MessageTemplate", channel=SMS,
                      body="{name}: {offer} {code} {link}")]
        money = lambda v: rk.msg("rekindle.v1.Money", amount_minor=v, currency="VND")
        for oid, kw in (("TIKI5", dict(kind=2, partner_id="TIKI", cashback_percent=5,
                                       amount=money(200000))),
                        ("TRAVEL100", dict(kind=3, category="travel", amount=money(100000))),
                        ("VOUCH", dict(kind=1, category="dining", amount=money(150000)))):
            rk.call(O, "CreateOffer", rk.msg("rekindle.v1.CreateOfferRequest", offer=rk.msg(
                "rekindle.v1.Offer", offer_id=oid, title="Ưu đãi " + oid,
                valid_from=ts(now - 60), valid_until=ts(now + 86400 * 30),
                landing_url="https://bank.example/o", templates=sms, **kw)))
        rk.call(O, "AddVoucherCodes", rk.msg("rekindle.v1.AddVoucherCodesRequest",
                offer_id="VOUCH", codes=["V%04d" % i for i in range(2000)]))
        rk.customers_at_midday()
        rk.start("rekindle-deliver", deliver_args("sms", dbl.base, extra=[
            "-o", "poll_interval_ms=100", "-o", "sms_per_day=0"]))
        rk.call(K, "CreateCampaign", rk.msg("rekindle.v1.CreateCampaignRequest",
                campaign=rk.msg("rekindle.v1.Campaign", campaign_id="M1", name="Chi phí",
                                fallback_offer_id="BACK", channel_order=[SMS],
                                holdout_percent=20, attribution_days=30,
                                audience=rk.msg("rekindle.v1.AudienceRule", states=[4]),
                                variants=[rk.msg("rekindle.v1.Variant", variant_id=v,
                                                 offer_id=o) for v, o in
                                          (("A", "TIKI5"), ("B", "TRAVEL100"),
                                           ("C", "VOUCH"))])))
        rk.call(K, "LaunchCampaign", rk.msg("rekindle.v1.LaunchCampaignRequest",
                                             campaign_id="M1"))
        count = lambda w: int(rk.db.sql("SELECT count(*) FROM rekindle.messages WHERE "
                                        "campaign_id = 'M1' AND " + w))
        wait_until(lambda: count("true") > 0, 60, "launch")
        wait_until(lambda: count("state IN ('queued', 'sending')") == 0, 60, "sent")
        members = {}
        for row in rk.db.sql("SELECT customer_id || '|' || status || '|' || "
                             "coalesce(offer_id, '') || '|' || coalesce(voucher_code, '') "
                             "FROM rekindle.campaign_members WHERE campaign_id = 'M1' AND "
                             "status <> 'excluded' ORDER BY customer_id").splitlines():
            c, st, o, code = row.split("|")
            members[c] = (st, o, code)
        by = lambda o: [c for c, (st, oo, _) in members.items() if oo == o]
        ctl = [c for c, (st, _, _) in members.items() if st == "control"]
        tiki, travel, vouch = by("TIKI5"), by("TRAVEL100"), by("VOUCH")
        self.assertTrue(len(tiki) > 10 and len(travel) > 10 and len(vouch) > 10)
        travel_mcc = rk.db.sql("SELECT min(mcc) FROM rekindle.mcc_codes WHERE "
                               "category = 'travel'")
        shop_mcc = rk.db.sql("SELECT min(mcc) FROM rekindle.mcc_codes WHERE "
                             "category NOT IN ('travel', 'dining')")
        # A US dollar is 25,400 VND on the day - and the day before: the
        # purchase ten minutes ago falls on yesterday (Ho Chi Minh City)
        # when the test runs just after midnight there (17:00 UTC).
        day = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=7)))
        rk.call(C, "UpsertFxRates", rk.msg("rekindle.v1.UpsertFxRatesRequest", rates=[
            rk.msg("rekindle.v1.FxRate", currency="USD", day=d.strftime("%Y-%m-%d"),
                   vnd_per_unit=25400, minor_units=2)
            for d in (day - datetime.timedelta(days=1), day)]))
        at = (datetime.datetime.now(datetime.timezone.utc) +
              datetime.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        rows, spend = [], {}

        def txn(c, amount, cur="VND", mcc=shop_mcc, merchant="CHO BEN THANH", code=""):
            rows.append(["m-%d" % len(rows), c, at, amount, cur, mcc, "",
                         merchant, "pos", code])
            vnd = amount * 254 if cur == "USD" else amount
            spend[c] = spend.get(c, 0) + vnd
        # at the partner: 1,200,000 and 3,000,000 -> 5 % capped at 200,000
        txn(tiki[0], 1200000, merchant="TIKI.VN HCM")
        txn(tiki[1], 6000000, merchant="TIKI.VN HN")
        txn(tiki[2], 500000)                       # elsewhere: back, not redeemed
        txn(travel[0], 2500000, mcc=travel_mcc)    # fixed 100,000
        txn(travel[1], 900000)                     # not travel
        txn(vouch[0], 400000, code=members[vouch[0]][2])   # its own code
        txn(vouch[1], 400000, code=members[vouch[0]][2])   # someone else's code
        txn(tiki[3], 10000, cur="USD")             # 100.00 USD, elsewhere
        for c in ctl[:3]:
            txn(c, 300000)
        # and 50.00 USD ten minutes ago, before any message: for the profile
        past = (datetime.datetime.now(datetime.timezone.utc) -
                datetime.timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
        rows.append(["m-usd", ctl[5], past, 5000, "USD", shop_mcc, "", "SHOP", "ecom", ""])
        path = os.path.join(rk.tmp, "back.csv")
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["transaction_id", "customer_id", "occurred_at", "amount_minor",
                        "currency", "mcc", "merchant_id", "merchant_name", "channel",
                        "voucher_code"])
            w.writerows(rows)
        rk.ctl("customers", "import", path)
        rep = rk.call(K, "GetCampaignReport", rk.msg("rekindle.v1.GetCampaignReportRequest",
                                                     campaign_id="M1"))
        self.assertEqual(rep.redeemed, 4)
        want_offer_cost = 60000 + 200000 + 100000 + 150000
        self.assertEqual(rep.offer_cost.amount_minor, want_offer_cost)
        sent = count("state = 'sent'")
        self.assertEqual(rep.message_cost.amount_minor, sent * PRICE_SMS)
        self.assertEqual([(ch.channel, ch.messages, ch.cost.amount_minor)
                          for ch in rep.channels], [(SMS, sent, sent * PRICE_SMS)])
        offers = {o.offer_id: (o.redeemed, o.cost.amount_minor) for o in rep.offers}
        self.assertEqual(offers["TIKI5"], (2, 260000))
        self.assertEqual(offers["TRAVEL100"], (1, 100000))
        self.assertEqual(offers["VOUCH"], (1, 150000))
        treat = sum(1 for st, _, _ in members.values() if st == "treatment")
        self.assertAlmostEqual(rep.redemption_rate, 4 / treat)
        # spend: the dollars count, at 254 VND a cent
        self.assertEqual(rep.stats.reactivated, 8)
        spend_t = sum(v for c, v in spend.items() if members[c][0] == "treatment")
        spend_c = sum(v for c, v in spend.items() if members[c][0] == "control")
        nt, nc = treat, len(ctl)
        inc = (spend_t / nt - spend_c / nc) * nt
        self.assertAlmostEqual(rep.incremental_spend.amount_minor, round(inc), delta=1)
        total = want_offer_cost + sent * PRICE_SMS
        self.assertEqual(rep.total_cost.amount_minor, total)
        self.assertAlmostEqual(rep.margin_percent, MARGIN_BP / 100)
        self.assertAlmostEqual(rep.roi, (inc * MARGIN_BP / 10000 - total) / total, places=6)
        self.assertEqual([(s.step, s.sent) for s in rep.steps], [(0, sent)])
        self.html_report(rk, sent)
        # The profile counts the dollars too (ingest profiles the customer).
        wait_until(lambda: rk.db.sql("SELECT count(*) FROM rekindle.jobs WHERE queue = "
                                     "'profile' AND state NOT IN ('done', 'discarded')")
                   == "0", 60, "incremental profiling")
        last = int(rk.db.sql("SELECT total_spend_minor FROM rekindle.customer_profiles "
                             "WHERE customer_id = '%s'" % ctl[5]))
        before = int(rk.db.sql("SELECT coalesce(sum(amount_minor), 0) FROM "
                               "rekindle.transactions WHERE customer_id = '%s' AND "
                               "currency = 'VND'" % ctl[5]))
        self.assertEqual(last, before + 5000 * 254)


    def html_report(self, rk, sent):
        """The report as one HTML page: self-contained, and Chromium (Debian's,
        headless) loads it with no console message or failed request."""
        page = os.path.join(rk.tmp, "M1.html")
        out = rk.ctl("campaigns", "report", "M1", "--html", page)
        self.assertIn("ROI", out.stdout)
        with open(page, encoding="utf-8") as f:
            html = f.read()
        self.assertTrue(html.startswith("<!DOCTYPE html>"))
        self.assertNotRegex(html, r'(src|href)="?(https?:)?//')
        self.assertNotIn("<script", html)
        self.assertNotIn("@import", html)
        for text in ("Báo cáo chiến dịch", "Campaign report", "Chi phí", "Cost",
                     "{:,}".format(sent), "<svg", "polyline", "TIKI5"):
            self.assertIn(text, html)
        shot = os.path.join(rk.tmp, "M1.png")
        run = subprocess.run(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-dev-shm-usage", "--enable-logging=stderr", "--v=0",
             "--window-size=1280,2400", "--screenshot=" + shot, "file://" + page],
            capture_output=True, text=True, timeout=120)
        self.assertEqual(run.returncode, 0, run.stderr[-3000:])
        bad = [l for l in run.stderr.splitlines()
               if "CONSOLE" in l or "Failed to load resource" in l or "net::ERR_" in l]
        self.assertEqual(bad, [])
        self.assertGreater(os.path.getsize(shot), 20000)


if __name__ == "__main__":
    unittest.main()
