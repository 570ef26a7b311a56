"""Chaos: the send ledger under the faults real providers and real
machines have, counted from the outside - from what the provider doubles
received - never from our own tables alone.

Six campaigns over the same customers, on all four channels: ZNS with
one number in ten lacking Zalo (-> SMS), push falling back to e-mail
(customers without the app), e-mail, and three overlapping advertising
SMS campaigns, so the Decree 91 cap of 3 SMS a number a day binds. Two
delivery processes per channel. Every channel injects, at random: HTTP
500 / SMTP 451, 429 with Retry-After / SMTP 421, a connection dropped
after the request was read (not taken), taken and then dropped, and a
reply that comes after the client's timeout (taken). A random delivery
process is killed with SIGKILL every 2-5 s and started again, and
PostgreSQL is restarted once with -m immediate.

Then: no key taken twice by ZNS, FCM or the SMTP relay; every SMS key
taken once; no message recorded sent that no double took; no message a
double took left queued or failed; every message ends sent, failed,
denied, cancelled or uncertain, or waits for a later allowed time; no
number got more than 3 advertising SMS; no SMS without [QC]. The number
of uncertain messages is printed beside the ambiguous faults and kills
that made them."""
import collections, os, random, signal, subprocess, threading, time, unittest

import grpc

from harness import Doubles, Rekindle, bad_request, deliver_args, wait_until

AS_OF = "2025-06-30"
O, K = "rekindle.v1.OfferService", "rekindle.v1.CampaignService"
EMAIL, SMS, ZNS, PUSH = 1, 2, 3, 4
NAMES = {EMAIL: "email", SMS: "sms", ZNS: "zns", PUSH: "push"}
DOUBLE_CH = {"email": "email", "sms": "sms", "zns": "zns", "push": "fcm"}
CUSTOMERS = 2100
CAMPAIGNS = [("X-ZNS", [ZNS, SMS]), ("X-PUSH", [PUSH, EMAIL]), ("X-MAIL", [EMAIL]),
             ("X-SMS1", [SMS]), ("X-SMS2", [SMS]), ("X-SMS3", [SMS])]
RATES = {"http_500": 0.05, "http_429": 0.05, "drop": 0.02, "drop_after": 0.01,
         "late": 0.03}
AMBIGUOUS = ("drop_after", "late")      # taken, and the client cannot know
TIMEOUT_MS = 1000


class ChaosTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rk = rk = Rekindle(profilers=1, campaigners=1)
        cls.dbl = Doubles(rk)
        cls.base, cls.smtp, cls.post, cls.get = (cls.dbl.base, cls.dbl.smtp,
                                                 cls.dbl.post, cls.dbl.get)
        rk.load_synthetic(CUSTOMERS, 11, AS_OF)
        rk.profile_all(AS_OF)
        # Reachable everywhere and consenting to all four channels; four in
        # five have the bank's app; one in ten has no Zalo account after all.
        rk.db.sql("UPDATE rekindle.customers SET zalo_available = true, "
                  "phone_e164 = '+8491' || lpad((abs(hashtext(id)) % 10000000)::text, "
                  "7, '0'), email = lower(id) || '@example.com', push_token = CASE WHEN "
                  "abs(hashtext(id)) % 5 <> 0 THEN 'device-' || id END")
        rk.db.sql("INSERT INTO rekindle.customer_consents (customer_id, channel, purpose, "
                  "granted, granted_at, source) SELECT id, ch, 1, true, now(), 'test' "
                  "FROM rekindle.customers, generate_series(1, 4) ch "
                  "ON CONFLICT (customer_id, channel, purpose) DO UPDATE SET granted = true")
        no_zalo = rk.db.sql("SELECT substr(phone_e164, 2) FROM rekindle.customers "
                            "WHERE abs(hashtext(id || 'z')) % 10 = 0").splitlines()
        cls.post("/_zns/no_account", {"phones": no_zalo})
        now = int(time.time())
        ts = lambda s: rk.msg("google.protobuf.Timestamp", seconds=s)
        rk.call(O, "CreateOffer", rk.msg("rekindle.v1.CreateOfferRequest", offer=rk.msg(
            "rekindle.v1.Offer", offer_id="ALL", title="Quà 50.000đ", kind=3, fallback=True,
            amount=rk.msg("rekindle.v1.Money", amount_minor=50000, currency="VND"),
            valid_from=ts(now - 60), valid_until=ts(now + 86400 * 30),
            landing_url="https://bank.example/uu-dai", templates=[
                rk.msg("rekindle.v1.MessageTemplate", channel=SMS,
                       body="{name} oi, {offer} cho ban, HSD {expiry}: {link}"),
                rk.msg("rekindle.v1.MessageTemplate", channel=ZNS,
                       provider_template_id="231456"),
                rk.msg("rekindle.v1.MessageTemplate", channel=PUSH, subject="Quà cho {name}",
                       body="{offer} - đến {expiry}"),
                rk.msg("rekindle.v1.MessageTemplate", channel=EMAIL,
                       subject="{name}, {offer} đang chờ bạn",
                       body="Chào {name},\n{offer} đến {expiry}.\nXem: {link}")])))

    @classmethod
    def tearDownClass(cls):
        cls.rk.close()

    def pool(self, ch):
        return self.rk.start("rekindle-deliver", deliver_args(ch, self.base, self.smtp, [
            "-o", "lease_seconds=3", "-o", "provider_timeout_ms=%d" % TIMEOUT_MS,
            "-o", "provider_parallel=8", "-o", "poll_interval_ms=200"]))

    def sql(self, q):
        return self.rk.db.sql(q)

    def test_ledger_under_faults_kills_and_a_database_crash(self):
        rk = self.rk
        for cid, plan in CAMPAIGNS:
            rk.call(K, "CreateCampaign", rk.msg("rekindle.v1.CreateCampaignRequest",
                    campaign=rk.msg("rekindle.v1.Campaign", campaign_id=cid, name=cid,
                                    fallback_offer_id="ALL", channel_order=plan)))
            rk.call(K, "LaunchCampaign", rk.msg("rekindle.v1.LaunchCampaignRequest",
                                                 campaign_id=cid))
        launched = lambda: int(self.sql("SELECT count(*) FROM rekindle.campaigns "
                                        "WHERE campaign_id LIKE 'X-%' AND state = 3"))
        wait_until(lambda: launched() == len(CAMPAIGNS), 120, "launches")
        total = int(self.sql("SELECT count(*) FROM rekindle.messages"))
        self.assertGreaterEqual(total, 10000)
        for ch in ("sms", "zns", "fcm", "email"):
            self.post("/_faults", {"channel": ch, "rate": RATES, "retry_after": 1,
                                   "late_ms": TIMEOUT_MS + 500})
        pools = [("sms", None), ("sms", None), ("zns", None), ("zns", None),
                 ("push", None), ("push", None), ("email", None), ("email", None)]
        pools = [(ch, self.pool(ch)) for ch, _ in pools]
        kills, restarts, stop = [0], [0], threading.Event()
        rnd = random.Random(20261204)

        def chaos():
            crash_at = time.time() + 12
            while not stop.wait(rnd.uniform(2, 5)):
                i = rnd.randrange(len(pools))
                ch, p = pools[i]
                os.kill(p.p.pid, signal.SIGKILL)
                p.p.wait()
                kills[0] += 1
                pools[i] = (ch, self.pool(ch))
                if restarts[0] == 0 and time.time() > crash_at:
                    rk.db.crash_restart()
                    restarts[0] += 1
        t = threading.Thread(target=chaos)
        t.start()
        def settled():
            try:
                return self.sql(
                    "SELECT count(*) FROM rekindle.messages WHERE state = 'sending' OR "
                    "((state = 'queued' OR (state = 'uncertain' AND resend)) AND "
                    "not_before <= now() + interval '40 seconds')") == "0"
            except subprocess.CalledProcessError:
                return False        # the database is restarting
        t0 = time.time()
        try:
            # the chaos goes on while there is work, at least past the crash
            wait_until(lambda: settled() and restarts[0] > 0 and kills[0] >= 5, 300,
                       "the outbox worked off under chaos")
        finally:
            stop.set()
            t.join()
        # and then the retries still due, with no more faults or kills
        for ch in ("sms", "zns", "fcm", "email"):
            self.post("/_faults", {"channel": ch})
        wait_until(settled, 180, "the outbox worked off")
        took = time.time() - t0
        self.check(total, kills[0], restarts[0], took)

    def check(self, total, kills, restarts, took):
        rows = [l.split("|") for l in self.sql(
            "SELECT campaign_id, customer_id, step, channel, state, "
            "coalesce(idempotency_key, ''), resend, not_before > now() "
            "FROM rekindle.messages").splitlines()]
        self.assertEqual(len(rows), total)
        keys = {ch: {k["key"]: k["count"] for k in self.get("/_keys/" + DOUBLE_CH[ch])}
                for ch in NAMES.values()}
        stats = self.get("/_stats")
        by_state = collections.Counter()
        uncertain = collections.Counter()
        lost, false_sent, dropped_taken = [], [], []
        for camp, cust, step, chn, state, key, resend, later in rows:
            ch = NAMES[int(chn)]
            want = "%s:%s:%s:%s" % (camp, cust, step, ch)
            by_state[state] += 1
            if state == "sent":
                # the key it was sent with, and a double took it
                self.assertEqual(key, want)
                if want not in keys[ch]:
                    false_sent.append(want)
            elif state == "uncertain":
                uncertain[ch] += 1
                self.assertFalse(resend == "t" and later == "f", want)
            elif state == "queued":
                if later != "t":
                    lost.append(want)       # due, and nothing took it
            elif state not in ("failed", "denied", "cancelled"):
                lost.append(want)           # 'sending' with no one sending
            # a message a double took is never left queued or failed
            if state not in ("sent", "uncertain") and want in keys[ch]:
                dropped_taken.append((want, state))
        dups = {ch: [k for k, n in keys[ch].items() if n > 1]
                for ch in ("zns", "push", "email")}
        sms_log = self.get("/_log/sms")
        per_phone = collections.Counter(to for to, _ in sms_log)
        over_cap = {p: n for p, n in per_phone.items() if n > 3}
        span_h = (max(t for _, t in sms_log) - min(t for _, t in sms_log)) / 3.6e6
        faults = {ch: stats[DOUBLE_CH[ch]]["faults"] for ch in NAMES.values()}
        ambiguous = {ch: sum(f[k] for k in AMBIGUOUS) for ch, f in faults.items()}
        print("\nchaos: %d messages in %.0f s, %d SIGKILLs, %d PostgreSQL crash restarts"
              % (total, took, kills, restarts))
        print("  ended: %s" % dict(by_state))
        for ch in ("sms", "zns", "push", "email"):
            print("  %-5s faults %s; taken-but-unanswered %d; uncertain %d; "
                  "keys taken twice %d" % (ch, faults[ch], ambiguous[ch], uncertain[ch],
                                           len(dups.get(ch, []))))
        print("  SMS: %d numbers, most SMS to one number %d (within %.2f h); "
              "gateway refused %d" % (len(per_phone), max(per_phone.values()), span_h,
                                      stats["sms"]["rejected"]))
        print("  lost %d, false sent %d, taken but not sent %d" % (
            len(lost), len(false_sent), len(dropped_taken)))
        self.assertEqual(dups, {"zns": [], "push": [], "email": []})
        self.assertEqual(false_sent, [])
        self.assertEqual(lost, [])
        self.assertEqual(dropped_taken, [])
        self.assertEqual(over_cap, {})
        # the cap bound: some SMS wait for a slot tomorrow
        self.assertGreater(int(self.sql(
            "SELECT count(*) FROM rekindle.messages WHERE state = 'queued' AND "
            "reason = 'daily_cap'")), 0)
        # every advertising SMS the gateway saw was labelled (it refuses
        # the rest), and the last ones kept show the label
        self.assertEqual(stats["sms"]["rejected"], 0)
        for body in self.get("/_messages/sms"):
            self.assertTrue(body["Content"].startswith("[QC] "), body["Content"])
        # the faults happened, and what they made uncertain is bounded by
        # them and the kills (a kill leaves at most the batch each lane
        # had claimed: deliver_lanes 2 x deliver_batch 256)
        for ch in ("sms", "zns", "push", "email"):
            self.assertGreater(sum(faults[ch].values()), 0, ch)
        self.assertEqual(uncertain["sms"], 0)   # sent again with the same key
        self.assertLessEqual(sum(uncertain.values()),
                             sum(ambiguous.values()) + sum(faults[c]["drop"] for c in faults)
                             + (kills + 2 * restarts) * 2 * 256)
        # the ledger says why, through the API
        r = self.rk.call(K, "ListMessages", self.rk.msg(
            "rekindle.v1.ListMessagesRequest", campaign_id="X-SMS3", states=[1],
            page_size=5))
        for m in r.messages:
            self.assertEqual(m.governor_decision, "daily_cap")
            self.assertEqual(m.state, 1)
        self.settle_by_receipts()
        self.list_messages_refuses_bad_requests()

    def settle_by_receipts(self):
        """Zalo's user_received_message for an uncertain message's key
        settles it: sent."""
        rk = self.rk
        got = rk.call(K, "ListMessages", rk.msg(
            "rekindle.v1.ListMessagesRequest", campaign_id="X-ZNS", states=[7],
            channels=[ZNS], page_size=3))
        self.assertTrue(got.messages)
        for m in got.messages:
            self.assertEqual(m.idempotency_key, "X-ZNS:%s:0:zns" % m.customer_id)
            self.assertFalse(m.resend)      # Zalo does not de-duplicate: held
        rk.call("rekindle.v1.EngagementService", "RecordDeliveryReceipts", rk.msg(
            "rekindle.v1.RecordDeliveryReceiptsRequest", receipts=[rk.msg(
                "rekindle.v1.DeliveryReceipt", channel=ZNS, tracking_id=m.idempotency_key,
                status="user_received_message") for m in got.messages]))
        for m in got.messages:
            again = rk.call(K, "ListMessages", rk.msg(
                "rekindle.v1.ListMessagesRequest", customer_id=m.customer_id,
                channels=[ZNS])).messages
            self.assertEqual([x.state for x in again if x.message_id == m.message_id], [3])

    def list_messages_refuses_bad_requests(self):
        rk = self.rk
        bad = [(dict(), "campaign_id"), (dict(campaign_id="X-ZNS", page_size=501), "page_size"),
               (dict(campaign_id="X-ZNS", page_size=-1), "page_size"),
               (dict(campaign_id="X-ZNS", states=[9]), "states[0]"),
               (dict(campaign_id="X-ZNS", channels=[5]), "channels[0]"),
               (dict(campaign_id="X-ZNS", page_token="x1"), "page_token")]
        for req, field in bad:
            with self.assertRaises(grpc.RpcError) as e:
                rk.call(K, "ListMessages", rk.msg("rekindle.v1.ListMessagesRequest", **req))
            self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT, req)
            self.assertIn(field, bad_request(e.exception))
        with self.assertRaises(grpc.RpcError) as e:
            rk.call(K, "ListMessages", rk.msg("rekindle.v1.ListMessagesRequest",
                                              campaign_id="NO-SUCH"))
        self.assertEqual(e.exception.code(), grpc.StatusCode.NOT_FOUND)
        # pages in id order, each message once
        seen, token = [], ""
        while True:
            r = rk.call(K, "ListMessages", rk.msg("rekindle.v1.ListMessagesRequest",
                                                  campaign_id="X-PUSH", page_size=500,
                                                  page_token=token))
            seen += [m.message_id for m in r.messages]
            token = r.next_page_token
            if not token:
                break
        self.assertEqual(seen, sorted(set(seen)))
        self.assertEqual(len(seen), int(self.sql(
            "SELECT count(*) FROM rekindle.messages WHERE campaign_id = 'X-PUSH'")))


if __name__ == "__main__":
    unittest.main()
