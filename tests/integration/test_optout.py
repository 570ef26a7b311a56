"""Opting out by reply on real processes (Decree 91/2020): the SMS
gateway's inbound (MO) webhook, as eSMS calls it (an HTTP GET signed with
MD5 of cpid, smsid, content, receiverTime and the CP's private key), and
Zalo's OA events (signed with SHA-256 of app id, body, timestamp and the
OA secret). A reply "Hủy" withdraws advertising SMS consent at once -
the customer's queued SMS are cancelled within a second - and the one
confirmation the law asks for (customer care: SmsType 2, no [QC]) reaches
the gateway double once, even when the gateway delivers the MO twice and
the SMS pool is killed while sending. Unsigned requests record nothing."""
import hashlib, json, os, signal, time, unittest
import urllib.error
import urllib.parse
import urllib.request

from harness import Doubles, RekindleCase, Rekindle, deliver_args, read_port, wait_until

K = "rekindle.v1.CampaignService"
SMS = 2
CPID, PKEY = "CP-BANK-01", "17417a0d20114d36a902e49cad0e97f3"
APP, OASECRET = "4318829112", "zalo-oa-secret-77"


class OptOutTest(RekindleCase):
    @classmethod
    def setUpClass(cls):
        cls.rk = rk = Rekindle(campaigners=1, profilers=1)
        cls.d = Doubles(rk)
        tf = os.path.join(rk.tmp, "tracker.port")
        rk.start("rekindle-tracker", ["-o", "tracker_port=0", "-o", "tracker_port_file=" + tf,
                                      "-o", "mo_cpid=" + CPID, "-o", "mo_private_key=" + PKEY,
                                      "-o", "zalo_app_id=" + APP,
                                      "-o", "zalo_oa_secret_key=" + OASECRET])
        cls.track = "http://127.0.0.1:%s" % read_port(tf)
        rk.load_synthetic(300, 5, "2025-06-30")
        rk.profile_all("2025-06-30")
        rk.create_fallback_offer()
        cls.pool = cls.sms_pool()

    @classmethod
    def sms_pool(cls):
        return cls.rk.start("rekindle-deliver", deliver_args(
            "sms", cls.d.base, extra=["-o", "poll_interval_ms=100", "-o", "sms_per_day=0",
                                      "-o", "lease_seconds=2"]))

    def mo(self, sender, content, smsid, key=PKEY, when=None):
        t = when or time.strftime("%Y%m%d%H%M%S", time.gmtime(time.time() + 7 * 3600))
        sign = hashlib.md5((CPID + smsid + content + t + key).encode()).hexdigest()
        q = urllib.parse.urlencode({"sender": sender, "content": content,
                                    "serviceNumber": "8079", "keyword": content.split()[0],
                                    "sign": sign, "cpid": CPID, "smsid": smsid,
                                    "receiverTime": t})
        try:
            with urllib.request.urlopen(self.track + "/mo/sms?" + q, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def zalo(self, event, secret=OASECRET):
        body = json.dumps(event).encode()
        mac = hashlib.sha256(APP.encode() + body + str(event["timestamp"]).encode() +
                             secret.encode()).hexdigest()
        req = urllib.request.Request(self.track + "/mo/zalo", body, {
            "Content-Type": "application/json", "X-ZEvent-Signature": "mac=" + mac})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    def consent(self, cid, channel=SMS):
        return self.sql("SELECT granted::text || '|' || source FROM rekindle.customer_consents "
                        "WHERE customer_id = '%s' AND channel = %d AND purpose = 1"
                        % (cid, channel))

    def care_sms(self):
        return [m for m in self.d.get("/_messages/sms") if m and m.get("SmsType") == "2"]

    def test_sms_and_zalo_opt_out(self):
        rk = self.rk
        # Queued advertising SMS: the campaign's window is closed where
        # the customers live.
        rk.queued_sms_campaign("OPT")
        cid, phone = self.sql(
            "SELECT m.customer_id || '|' || c.phone_e164 FROM rekindle.messages m JOIN "
            "rekindle.customers c ON c.id = m.customer_id WHERE m.campaign_id = 'OPT' AND "
            "m.state = 'queued' ORDER BY 1 LIMIT 1").split("|")
        self.assertEqual(self.consent(cid).split("|")[0], "true")
        sender = phone[1:]                                  # eSMS: 84...

        # Unsigned, wrongly signed or another CP: 403, nothing recorded.
        self.assertEqual(self.mo(sender, "HUY", "mo-1", key="wrong")[0], 403)
        self.assertEqual(self.sql("SELECT count(*) FROM rekindle.inbound_messages"), "0")
        self.assertEqual(self.consent(cid).split("|")[0], "true")
        # Not a keyword: recorded, nothing withdrawn.
        code, body = self.mo(sender, "Cho hỏi lãi suất", "mo-0")
        self.assertEqual(code, 200)
        self.assertIn("<Smsid>mo-0</Smsid>", body)
        self.assertEqual(self.consent(cid).split("|")[0], "true")
        # "Hủy" (with diacritics, any case): withdrawn in the request.
        t0 = time.time()
        code, body = self.mo(sender, "  hủy ", "mo-2")
        self.assertEqual(code, 200)
        self.assertIn("<ClientResponse>", body)
        self.assertEqual(self.consent(cid), "false|sms_reply")
        self.assertEqual(self.sql(
            "SELECT state || '|' || reason FROM rekindle.messages WHERE campaign_id = 'OPT' "
            "AND customer_id = '%s'" % cid), "cancelled|consent withdrawn")
        self.assertLess(time.time() - t0, 1.0)
        ev = self.sql("SELECT evidence FROM rekindle.consent_events WHERE customer_id = '%s' "
                      "AND NOT granted" % cid)
        self.assertTrue(ev.startswith("inbound:"), ev)
        # The gateway delivers the same MO again (its retry): nothing new.
        self.assertEqual(self.mo(sender, "  hủy ", "mo-2")[0], 200)
        self.assertEqual(self.sql("SELECT count(*) FROM rekindle.care_messages"), "1")
        # The confirmation: customer care, to that number, once - though
        # the pool is killed while sending it.
        wait_until(lambda: self.care_sms(), 30, "the confirmation at the gateway")
        self.pool.stop(signal.SIGKILL)
        self.sql("UPDATE rekindle.care_messages SET state = 'sending', lease_expires_at = "
                 "now() - interval '1 second'")        # as if killed mid-call
        self.pool = self.sms_pool()
        wait_until(lambda: self.sql("SELECT state FROM rekindle.care_messages") == "sent",
                   30, "recorded sent")
        care = self.care_sms()
        self.assertEqual(len(care), 1, care)
        self.assertEqual(care[0]["Phones"], ["0" + phone[3:]])
        self.assertFalse(care[0]["Content"].startswith("[QC]"))
        self.assertIn("tu choi", care[0]["Content"])
        self.assertEqual(len([k for k in self.d.get("/_log/sms")
                              if k[0] == "0" + phone[3:]]), 1)
        # The reply text is kept as evidence; the number only as a digest.
        self.assertEqual(self.sql("SELECT text = '  hủy ' FROM rekindle.inbound_messages "
                                  "WHERE action = 'opt_out' AND sender_digest IS NOT NULL "
                                  "AND provider_message_id = 'mo-2'"), "t")
        # Other keywords and forms.
        others = self.sql("SELECT id || '|' || phone_e164 FROM rekindle.customers WHERE "
                          "phone_e164 IS NOT NULL AND id <> '%s' ORDER BY id LIMIT 3"
                          % cid).splitlines()
        for i, (row, text) in enumerate(zip(others, ["TU CHOI", "Từ chối QC", "stop"])):
            oid, ophone = row.split("|")
            self.assertEqual(self.mo(ophone[1:], text, "mo-k%d" % i)[0], 200)
            self.assertEqual(self.consent(oid), "false|sms_reply", text)

        # Zalo: a refused-ZNS event withdraws ZNS; a forged one is 403.
        zid, zphone = others[0].split("|")
        ev = {"app_id": APP, "event_name": "user_reject_zns", "timestamp":
              str(int(time.time() * 1000)), "recipient": {"phone": zphone[1:]}}
        self.assertEqual(self.zalo(ev, secret="forged"), 403)
        self.assertEqual(self.zalo(ev), 200)
        self.assertEqual(self.consent(zid, channel=3), "false|zalo_event")
        self.assertEqual(self.zalo(ev), 200)             # redelivered: one event
        self.assertEqual(self.sql("SELECT count(*) FROM rekindle.inbound_messages WHERE "
                                  "provider = 'zalo'"), "1")
        # No number or reply text in any rekindle log.
        logs = ""
        for f in os.listdir(rk.tmp):
            if f.startswith("rekindle") and f.endswith(".log"):
                with open(os.path.join(rk.tmp, f), errors="replace") as fh:
                    logs += fh.read()
        self.assertNotIn(sender, logs)
        self.assertNotIn("hủy", logs)


if __name__ == "__main__":
    unittest.main()
