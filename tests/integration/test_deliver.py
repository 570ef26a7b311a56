"""Delivery end to end: a launched campaign's outbox goes out through the
ZNS and SMS pools (rekindle-deliver) to the provider doubles (rkdouble),
through the contact governor, with one idempotency key per message; a
customer without Zalo falls back to SMS; a pool killed with SIGKILL
mid-campaign of some 20,000 messages loses nothing and sends nothing twice."""
import json, os, signal, subprocess, time, unittest, urllib.request

from harness import BIN, Rekindle, wait_until

AS_OF = "2025-06-30"
O, K = "rekindle.v1.OfferService", "rekindle.v1.CampaignService"
SMS, ZNS = 2, 3


class DeliverTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rk = rk = Rekindle(profilers=1, campaigners=1)
        pf = os.path.join(rk.tmp, "double.port")
        cls.double = rk.start("rkdouble", ["--port-file", pf])
        def port():
            if not os.path.exists(pf):
                return ""
            with open(pf) as fh:
                return fh.read().strip()
        wait_until(port, 10, "double")
        cls.base = "http://127.0.0.1:%s" % port()
        out = os.path.join(rk.tmp, "gen")
        subprocess.run([os.path.join(BIN, "rkgen"), "--customers", "20000", "--seed", "5",
                        "--as-of", AS_OF, "--days", "730", "--out", out],
                       check=True, capture_output=True)
        for f in ("customers.csv", "transactions.csv"):
            rk.ctl("customers", "import", os.path.join(out, f))
        r = rk.ctl("profiles", "run", "--as-of", AS_OF)
        assert "done: ok" in r.stdout, r.stdout + r.stderr
        # Everyone is on Zalo and agreed to ZNS marketing too; a few have
        # no Zalo account after all.
        rk.db.sql("UPDATE rekindle.customers SET zalo_available = true")
        rk.db.sql("INSERT INTO rekindle.customer_consents (customer_id, channel, purpose, "
                  "granted, granted_at, source) SELECT id, 3, 1, true, now(), 'test' "
                  "FROM rekindle.customers ON CONFLICT DO NOTHING")
        cls.no_zalo = rk.db.sql("SELECT id || '|' || substr(phone_e164, 2) FROM "
                                "rekindle.customers ORDER BY id LIMIT 25").splitlines()
        cls.post("/_zns/no_account", {"phones": [x.split("|")[1] for x in cls.no_zalo]})
        now = int(time.time())
        ts = lambda s: rk.msg("google.protobuf.Timestamp", seconds=s)
        rk.call(O, "CreateOffer", rk.msg("rekindle.v1.CreateOfferRequest", offer=rk.msg(
            "rekindle.v1.Offer", offer_id="BACK", title="Quà 50.000đ", kind=3, fallback=True,
            amount=rk.msg("rekindle.v1.Money", amount_minor=50000, currency="VND"),
            valid_from=ts(now - 60), valid_until=ts(now + 86400 * 30),
            landing_url="https://bank.example/uu-dai", templates=[
                rk.msg("rekindle.v1.MessageTemplate", channel=SMS,
                       body="{name} oi, {offer} cho ban, HSD {expiry}: {link}"),
                rk.msg("rekindle.v1.MessageTemplate", channel=ZNS,
                       provider_template_id="231456")])))
        cls.pools = {}
        for ch in ("zns", "sms"):
            cls.pools[ch] = cls.pool(ch)

    @classmethod
    def pool(cls, ch):
        url = {"zns": "/zns/message/template", "sms": "/sms/send"}[ch]
        return cls.rk.start("rekindle-deliver", [
            "--channel", ch, "-o", "provider_url=" + cls.base + url,
            "-o", "zns_access_token=zns-token-1", "-o", "zns_refresh_token=zns-refresh-1",
            "-o", "zns_refresh_url=" + cls.base + "/zns/oa/access_token",
            "-o", "sms_api_key=k", "-o", "sms_secret_key=s", "-o", "sms_brandname=BANK",
            "-o", "tracking_secret=test-secret", "-o", "poll_interval_ms=200",
            "-o", "lease_seconds=3", "-o", "sms_from_hour=0", "-o", "sms_until_hour=24"])

    @classmethod
    def tearDownClass(cls):
        cls.rk.close()

    @classmethod
    def post(cls, path, body):
        req = urllib.request.Request(cls.base + path, json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def get(self, path):
        with urllib.request.urlopen(self.base + path, timeout=10) as r:
            return json.loads(r.read())

    def test_campaign_delivered_once_with_fallback_and_a_crash(self):
        rk = self.rk
        # Slow replies, so the kill lands mid-campaign.
        self.post("/_faults", {"channel": "zns", "stalls": 40, "stall_ms": 100})
        rk.call(K, "CreateCampaign", rk.msg("rekindle.v1.CreateCampaignRequest",
                campaign=rk.msg("rekindle.v1.Campaign", campaign_id="D1", name="Quay lại",
                                fallback_offer_id="BACK", channel_order=[ZNS, SMS])))
        rk.call(K, "LaunchCampaign", rk.msg("rekindle.v1.LaunchCampaignRequest",
                                             campaign_id="D1"))
        total = lambda: int(rk.db.sql("SELECT count(*) FROM rekindle.messages "
                                      "WHERE campaign_id = 'D1'") or 0)
        try:
            wait_until(lambda: total() > 0, 60, "launch")
        except AssertionError:
            print([l for l in rk.logs().splitlines() if "campaigner" in l][-8:])
            raise
        wait_until(lambda: self.get("/_stats")["zns"]["accepted"] > 5, 60, "first sends")
        os.kill(self.pools["zns"].p.pid, signal.SIGKILL)
        left = int(rk.db.sql("SELECT count(*) FROM rekindle.messages WHERE campaign_id = "
                             "'D1' AND state = 'queued' AND channel = 3"))
        self.assertGreater(left, 0)     # killed mid-campaign
        self.pools["zns"].p.wait()
        self.pools["zns"] = self.pool("zns")
        wait_until(lambda: rk.db.sql("SELECT count(*) FROM rekindle.messages WHERE "
                                     "campaign_id = 'D1' AND state <> 'sent'") == "0",
                   120, "every message sent")
        msgs = dict(l.split("|") for l in rk.db.sql(
            "SELECT customer_id, channel FROM rekindle.messages WHERE campaign_id = 'D1'"
        ).splitlines())
        self.assertEqual(len(msgs), total())
        zns = {k["key"]: k["count"] for k in self.get("/_keys/zns")}
        sms = {k["key"]: k["count"] for k in self.get("/_keys/sms")}
        # Every message's key reached a provider, on the channel it ended on.
        want_zns = {"D1:%s:0:zns" % c for c, ch in msgs.items() if ch == "3"}
        want_sms = {"D1:%s:0:sms" % c for c, ch in msgs.items() if ch == "2"}
        self.assertEqual(set(zns), want_zns)
        self.assertEqual(set(sms), want_sms)
        # Accepted once each: a repeat after the crash is a known duplicate.
        stats = self.get("/_stats")
        print("\nkilled with %d ZNS messages queued; doubles: %s" % (left, stats))
        self.assertEqual(stats["zns"]["accepted"], len(want_zns))
        self.assertEqual(stats["sms"]["accepted"], len(want_sms))
        # No Zalo account: SMS instead, with the [QC] label.
        for cid, _ in (x.split("|") for x in self.no_zalo):
            if cid in msgs:
                self.assertEqual(msgs[cid], "2", cid)
        self.assertTrue(want_sms)
        for body in self.get("/_messages/sms"):
            self.assertTrue(body["Content"].startswith("[QC] "), body["Content"])
            self.assertRegex(body["Content"], r"https://rk.invalid/t/[0-9]+\.[0-9a-f]{16}$")
        stats_api = rk.call(K, "GetCampaignStats", rk.msg(
            "rekindle.v1.GetCampaignStatsRequest", campaign_id="D1"))
        self.assertEqual(stats_api.sent, total())


if __name__ == "__main__":
    unittest.main()
