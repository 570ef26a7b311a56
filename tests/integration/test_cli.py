"""rekindlectl as a CRM team uses it: offers and campaigns from readable
YAML (and JSON) files, their lifecycle, the send ledger and the report,
--json on every read command (parsed here), --help on every command (to
stdout, exit 0), and clear errors for bad files."""
import json, os, subprocess, unittest

from harness import BIN, Doubles, RekindleCase, Rekindle, deliver_args, wait_until

OFFER_YAML = """\
# Quà chào mừng trở lại - the fallback of the win-back campaigns
offer_id: BACK-Y
title: "Quà 50.000đ"
kind: OFFER_KIND_FIXED_AMOUNT
fallback: true
amount: {amount_minor: 50000, currency: VND}
valid_from: 2026-01-01T00:00:00Z
valid_until: 2099-01-01T00:00:00Z
landing_url: https://bank.example/uu-dai
templates:
  - channel: CHANNEL_SMS
    body: "{name}: {offer}, HSD {expiry} {link}"
  - channel: CHANNEL_ZNS
    provider_template_id: "231456"
"""

CAMPAIGN_YAML = """\
campaign:
  campaign_id: WIN-Y
  name: Đánh thức khách hàng ngủ đông
  audience:
    states: [LIFECYCLE_STATE_DORMANT]
    min_dormant_days: 90
  fallback_offer_id: BACK-Y
  holdout_percent: 10
  channel_order: [CHANNEL_SMS]
  reminders: {delay_hours: 24, max_reminders: 1, interval_hours: 24}
  attribution_days: 30
"""


class CliTest(RekindleCase):
    @classmethod
    def setUpClass(cls):
        cls.rk = rk = Rekindle(campaigners=1, profilers=1)
        cls.dbl = Doubles(rk)
        rk.load_synthetic(600, 3, "2025-06-30")
        rk.profile_all("2025-06-30")
        rk.customers_at_midday()
        rk.start("rekindle-deliver", deliver_args("sms", cls.dbl.base, extra=[
            "-o", "poll_interval_ms=100", "-o", "sms_per_day=0"]))

    def ctl(self, *args, check=True):
        r = self.rk.ctl(*args, check=False)
        if check:
            self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def write(self, name, text):
        path = os.path.join(self.rk.tmp, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def test_1_offers_from_yaml(self):
        out = self.ctl("offers", "create", self.write("offer.yaml", OFFER_YAML)).stdout
        self.assertIn("BACK-Y", out)
        got = json.loads(self.ctl("offers", "get", "BACK-Y", "--json").stdout)
        self.assertEqual((got["title"], got["kind"], got["amount"]["amount_minor"]),
                         ("Quà 50.000đ", "OFFER_KIND_FIXED_AMOUNT", "50000"
                          if isinstance(got["amount"]["amount_minor"], str) else 50000))
        self.assertEqual(got["templates"][1]["provider_template_id"], "231456")
        listed = json.loads(self.ctl("offers", "list", "--json").stdout)
        self.assertIn("BACK-Y", [o["offer_id"] for o in listed])
        self.assertIn("BACK-Y", self.ctl("offers", "list").stdout)
        # update: only the fields the file gives
        self.ctl("offers", "update", "BACK-Y", self.write("title.json",
                                                          '{"title": "Quà 60.000đ"}'))
        got = json.loads(self.ctl("offers", "get", "BACK-Y", "--json").stdout)
        self.assertEqual(got["title"], "Quà 60.000đ")
        self.assertEqual(got["landing_url"], "https://bank.example/uu-dai")
        # a bad file: the line, and nothing written
        bad = self.ctl("offers", "create", self.write("bad.yaml", "offer_id: [x\n"),
                       check=False)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("line", bad.stderr)
        bad = self.ctl("offers", "create", self.write("bad2.yaml", OFFER_YAML.replace(
            "offer_id: BACK-Y", "offer_id: BAD-Y").replace("amount_minor: 50000",
                                                           "amount_minor: -5")),
                       check=False)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("INVALID_ARGUMENT", bad.stderr)
        self.assertIn("offer.amount", bad.stderr)
        self.assertEqual(self.sql("SELECT count(*) FROM rekindle.offers WHERE "
                                  "offer_id = 'BAD-Y'"), "0")

    def test_2_campaign_lifecycle_ledger_and_report(self):
        self.ctl("campaigns", "create", self.write("c.yaml", CAMPAIGN_YAML))
        got = json.loads(self.ctl("campaigns", "get", "WIN-Y", "--json").stdout)
        self.assertEqual(got["audience"]["min_dormant_days"], 90)
        self.assertEqual(got["state"], "CAMPAIGN_STATE_DRAFT")
        out = self.ctl("campaigns", "launch", "WIN-Y").stdout
        self.assertIn("done", out)
        wait_until(lambda: self.sql("SELECT count(*) FROM rekindle.messages WHERE "
                                    "campaign_id = 'WIN-Y' AND state IN ('queued', "
                                    "'sending')") == "0", 60, "sent")
        listed = json.loads(self.ctl("campaigns", "list", "--json").stdout)
        self.assertEqual([c["state"] for c in listed if c["campaign_id"] == "WIN-Y"],
                         ["CAMPAIGN_STATE_RUNNING"])
        msgs = json.loads(self.ctl("campaigns", "messages", "WIN-Y", "--state",
                                   "MESSAGE_STATE_SENT", "--json").stdout)["messages"]
        self.assertGreater(len(msgs), 0)
        self.assertTrue(all(m["state"] == "MESSAGE_STATE_SENT" for m in msgs))
        self.assertIn("MESSAGE_STATE_SENT", self.ctl("campaigns", "messages", "WIN-Y").stdout)
        self.assertIn("CAMPAIGN_STATE_PAUSED",
                      self.ctl("campaigns", "pause", "WIN-Y", "--reason", "review").stdout)
        self.ctl("campaigns", "resume", "WIN-Y")
        rep = json.loads(self.ctl("campaigns", "report", "WIN-Y", "--json").stdout)
        self.assertEqual(int(rep["stats"]["sent"]), len(msgs) if len(msgs) < 100
                         else int(rep["stats"]["sent"]))
        self.assertIn("CAMPAIGN_STATE_CANCELLED",
                      self.ctl("campaigns", "cancel", "WIN-Y", "--reason", "done").stdout)
        # what was silently ignored before: --json on these reads
        for args in (("profiles", "list", "--limit", "3"), ("profiles", "models"),
                     ("promotions", "list"), ("tokens", "list"),
                     ("customers", "get", msgs[0]["customer_id"])):
            json.loads(self.ctl(*args, "--json").stdout)

    def test_3_help_everywhere(self):
        for cmd in ("health", "customers", "tokens", "profiles", "promotions", "offers",
                    "campaigns", "call"):
            for args in ((cmd, "--help"), (cmd, "list", "--help"), (cmd, "-h")):
                r = subprocess.run([os.path.join(BIN, "rekindlectl")] + list(args),
                                   capture_output=True, text=True, timeout=30)
                self.assertEqual(r.returncode, 0, (args, r.stderr))
                self.assertIn(cmd, r.stdout)
                self.assertEqual(r.stderr, "")
        r = subprocess.run([os.path.join(BIN, "rekindlectl"), "--help"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0)
        self.assertIn("offers create", r.stdout)


if __name__ == "__main__":
    unittest.main()
