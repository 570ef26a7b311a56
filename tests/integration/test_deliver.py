"""Delivery end to end: a launched campaign's outbox goes out through the
ZNS and SMS pools (rekindle-deliver) to the provider doubles (rkdouble),
through the contact governor, with one idempotency key per message; a
customer without Zalo falls back to SMS; a pool killed with SIGKILL
mid-campaign of some 20,000 messages loses nothing and sends nothing twice,
and the OA token that expired meanwhile is refreshed once for the pool
(two processes, two lanes each).
Push goes over FCM HTTP v1 and falls back to e-mail over SMTP: proper MIME
messages, read back with Python's own e-mail parser. An SMS outside the
local sending hours waits for them in the outbox, due when they open.
A campaign's provider rate holds across a pool of processes, one of them
killed mid-campaign, with the provider failing some calls: counted at the
provider double, never faster than the rate. A ZNS token refresh whose
answer is lost spends the pool's refresh token: the pool stops claiming
(no message burns its attempts on refusals), counts the failed renewals,
and sends everything once when an operator restarts one process with a
new pair from the OA console."""
import datetime, email, email.policy, json, os, re, signal, subprocess, time, unittest
import urllib.request

from harness import SRC, Doubles, Rekindle, deliver_args, http_get, wait_until

AS_OF = "2025-06-30"
O, K = "rekindle.v1.OfferService", "rekindle.v1.CampaignService"
EMAIL, SMS, ZNS, PUSH = 1, 2, 3, 4


def agreed(rk, channel):
    """Every customer agreed to marketing on channel."""
    rk.db.sql("INSERT INTO rekindle.customer_consents (customer_id, channel, purpose, "
              "granted, granted_at, source) SELECT id, %d, 1, true, now(), 'test' "
              "FROM rekindle.customers ON CONFLICT DO NOTHING" % channel)


def on_zalo(rk):
    """Every customer on Zalo, and agreed to ZNS marketing."""
    rk.db.sql("UPDATE rekindle.customers SET zalo_available = true")
    agreed(rk, ZNS)


def on_app(rk):
    """Every customer has the bank's app, and agreed to push marketing."""
    rk.db.sql("UPDATE rekindle.customers SET push_token = 'device-' || id")
    agreed(rk, PUSH)


class DeliverTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rk = rk = Rekindle(profilers=1, campaigners=1)
        cls.dbl = Doubles(rk)
        cls.base, cls.smtp, cls.post, cls.get = (cls.dbl.base, cls.dbl.smtp,
                                                 cls.dbl.post, cls.dbl.get)
        rk.load_synthetic(20000, 5, AS_OF)
        rk.profile_all(AS_OF)
        # Everyone is on Zalo and agreed to ZNS marketing too; a few have
        # no Zalo account after all.
        on_zalo(rk)
        cls.no_zalo = rk.db.sql("SELECT id || '|' || substr(phone_e164, 2) FROM "
                                "rekindle.customers ORDER BY md5(id) LIMIT 25").splitlines()
        cls.post("/_zns/no_account", {"phones": [x.split("|")[1] for x in cls.no_zalo]})
        rk.create_fallback_offer(sms_body="{name} oi, {offer} cho ban, HSD {expiry}: {link}")
        cls.pools = {}
        for ch in ("zns", "sms"):
            cls.pools[ch] = cls.pool(ch)

    @classmethod
    def pool(cls, ch):
        return cls.rk.start("rekindle-deliver", deliver_args(
            ch, cls.base, cls.smtp, ["-o", "lease_seconds=3"]))

    @classmethod
    def tearDownClass(cls):
        cls.rk.close()

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
        # The OA token expires while the pool is down. It comes back as
        # two processes of two lanes each: all four find the token refused
        # (-220), and one refresh serves them all (the refresh token is
        # spent by its use: the others take the new pair from the store).
        self.post("/_zns/expire_token", {})
        self.pools["zns"] = self.pool("zns")
        self.pools["zns2"] = self.pool("zns")
        # Every message ends: sent, or - the ZNS batch in flight when its
        # process died - uncertain (Zalo does not de-duplicate: held, not
        # sent again).
        wait_until(lambda: rk.db.sql("SELECT count(*) FROM rekindle.messages WHERE "
                                     "campaign_id = 'D1' AND state NOT IN "
                                     "('sent', 'uncertain')") == "0",
                   120, "every message sent or uncertain")
        rows = [l.split("|") for l in rk.db.sql(
            "SELECT customer_id, channel, state FROM rekindle.messages "
            "WHERE campaign_id = 'D1'").splitlines()]
        msgs = {r[0]: r[1] for r in rows}
        state = {r[0]: r[2] for r in rows}
        self.assertEqual(len(msgs), total())
        zns = {k["key"]: k["count"] for k in self.get("/_keys/zns")}
        sms = {k["key"]: k["count"] for k in self.get("/_keys/sms")}
        key = lambda c, ch: "D1:%s:0:%s" % (c, {"3": "zns", "2": "sms"}[ch])
        sent = {key(c, ch) for c, ch in msgs.items() if state[c] == "sent"}
        uncertain = {key(c, ch) for c, ch in msgs.items() if state[c] == "uncertain"}
        want_zns = {k for k in sent | uncertain if k.endswith(":zns")}
        want_sms = {k for k in sent | uncertain if k.endswith(":sms")}
        # Counted at the doubles: every sent message's key was taken, once;
        # no key was taken twice; an uncertain one was taken at most once
        # (the kill came after the request, or before it).
        self.assertEqual(sent - set(zns) - set(sms), set())
        self.assertEqual(set(zns) - want_zns, set())
        self.assertEqual(set(sms) - want_sms, set())
        self.assertEqual([k for k, n in zns.items() if n > 1], [])
        stats = self.get("/_stats")
        print("\nkilled with %d ZNS messages queued: %d uncertain (%d of them taken); "
              "doubles: %s" % (left, len(uncertain), len(uncertain & set(zns)), stats))
        self.assertEqual(stats["zns"]["duplicates"], 0)
        # the batches the killed process had claimed: one a lane
        # (deliver_lanes 2 x deliver_batch 256)
        self.assertLessEqual(len(uncertain), 2 * 256)
        self.assertEqual({k for k in uncertain if k.endswith(":sms")}, set())
        want_zns = {k for k in sent if k.endswith(":zns")}
        want_sms = {k for k in sent if k.endswith(":sms")}
        # No Zalo account: SMS instead, with the [QC] label.
        # (unless its ZNS message was in the batch of the killed process:
        # uncertain, held on ZNS)
        for cid, _ in (x.split("|") for x in self.no_zalo):
            if cid in msgs and state[cid] != "uncertain":
                self.assertEqual(msgs[cid], "2", cid)
        self.assertTrue(want_sms)
        # The pools claim the outbox itself: no delivery job exists, and
        # every message keeps the key it was sent with.
        self.assertEqual(rk.db.sql("SELECT count(*) FROM rekindle.jobs "
                                   "WHERE queue LIKE 'deliver-%'"), "0")
        keys = dict(l.split("|") for l in rk.db.sql(
            "SELECT customer_id, idempotency_key FROM rekindle.messages "
            "WHERE campaign_id = 'D1'").splitlines())
        self.assertEqual({k for k in keys.values() if k.endswith(":zns")},
                         want_zns | {k for k in uncertain if k.endswith(":zns")})
        self.assertEqual({k for k in keys.values() if k.endswith(":sms")}, want_sms)
        for body in self.get("/_messages/sms"):
            self.assertTrue(body["Content"].startswith("[QC] "), body["Content"])
            self.assertRegex(body["Content"], r"https://rk.invalid/t/[0-9]+\.[0-9a-f]{16}$")
        stats_api = rk.call(K, "GetCampaignStats", rk.msg(
            "rekindle.v1.GetCampaignStatsRequest", campaign_id="D1"))
        self.assertEqual(stats_api.sent, len(sent))
        tokens = [l for l in rk.logs().splitlines() if '"ZNS-TOKEN"' in l]
        self.assertEqual(len([l for l in tokens if "access token refreshed" in l]),
                         1, tokens)
        self.assertEqual([l for l in tokens if "could not" in l or "not stored" in l],
                         [], tokens)
        self.assertEqual(rk.db.sql("SELECT generation FROM rekindle.provider_tokens "
                                   "WHERE provider = 'zns'"), "1")

    def test_push_falls_back_to_email_over_smtp(self):
        rk = self.rk
        for ch in ("push", "email"):
            if ch not in self.pools:
                self.pools[ch] = self.pool(ch)
        # Some customers have the bank's app; a few e-mail addresses bounce.
        rk.db.sql("UPDATE rekindle.customers SET push_token = 'device-' || id "
                  "WHERE id IN (SELECT customer_id FROM rekindle.customer_profiles "
                  "WHERE state = 'dormant' ORDER BY customer_id LIMIT 150)")
        bounce = rk.db.sql("SELECT id || '|' || email FROM rekindle.customers c JOIN "
                           "rekindle.customer_profiles p ON p.customer_id = c.id WHERE "
                           "p.state = 'dormant' AND c.push_token IS NULL ORDER BY id DESC LIMIT 4"
                           ).splitlines()
        self.post("/_email/bounce", {"addresses": [b.split("|")[1] for b in bounce]})
        # Transient failures on both: 451s from the relay, a 429 from FCM.
        self.post("/_faults", {"channel": "email", "http_500": 3})
        self.post("/_faults", {"channel": "fcm", "http_429": 1, "retry_after": 1})
        now = int(time.time())
        ts = lambda s: rk.msg("google.protobuf.Timestamp", seconds=s)
        rk.call(O, "CreateOffer", rk.msg("rekindle.v1.CreateOfferRequest", offer=rk.msg(
            "rekindle.v1.Offer", offer_id="APP", title="Hoàn tiền 10% Tiki", kind=3,
            fallback=True, amount=rk.msg("rekindle.v1.Money", amount_minor=50000,
                                         currency="VND"),
            valid_from=ts(now - 60), valid_until=ts(now + 86400 * 30),
            landing_url="https://bank.example/uu-dai", templates=[
                rk.msg("rekindle.v1.MessageTemplate", channel=PUSH, subject="Quà cho {name}",
                       body="{offer} - đến {expiry}"),
                rk.msg("rekindle.v1.MessageTemplate", channel=EMAIL,
                       subject="{name}, ưu đãi {offer} đang chờ bạn",
                       body="Chào {name},\n{offer} dành riêng cho bạn đến {expiry}.\n"
                            "Xem ngay: {link}")])))
        rk.call(K, "CreateCampaign", rk.msg("rekindle.v1.CreateCampaignRequest",
                campaign=rk.msg("rekindle.v1.Campaign", campaign_id="D2", name="Ứng dụng",
                                fallback_offer_id="APP", channel_order=[PUSH, EMAIL],
                                audience=rk.msg("rekindle.v1.AudienceRule", states=[4]))))
        rk.call(K, "LaunchCampaign", rk.msg("rekindle.v1.LaunchCampaignRequest",
                                             campaign_id="D2"))
        total = lambda: int(rk.db.sql("SELECT count(*) FROM rekindle.messages "
                                      "WHERE campaign_id = 'D2'") or 0)
        wait_until(lambda: total() > 0, 60, "launch")
        # handled: none waiting, none in flight (an e-mail 'sending' has its
        # outcome on the way)
        wait_until(lambda: rk.db.sql("SELECT count(*) FROM rekindle.messages WHERE "
                                     "campaign_id = 'D2' AND state IN ('queued', "
                                     "'sending')") == "0",
                   120, "every message handled")
        rows = [l.split("|") for l in rk.db.sql(
            "SELECT m.customer_id, m.channel, m.state, coalesce(m.reason, ''), "
            "c.push_token IS NOT NULL FROM rekindle.messages m JOIN rekindle.customers c "
            "ON c.id = m.customer_id WHERE campaign_id = 'D2'").splitlines()]
        bounced = {b.split("|")[0] for b in bounce}
        for cid, ch, state, reason, app in rows:
            if app == "t":
                self.assertEqual((ch, state), (str(PUSH), "sent"), cid)
            elif cid in bounced:
                self.assertEqual((ch, state), (str(EMAIL), "failed"), cid)
                self.assertIn("mailbox unavailable (550)", reason)
            else:
                self.assertEqual((ch, state), (str(EMAIL), "sent"), cid)
        self.assertTrue(bounced & {r[0] for r in rows})
        push = {k["key"]: k["count"] for k in self.get("/_keys/fcm")}
        mail = {k["key"]: k["count"] for k in self.get("/_keys/email")}
        self.assertEqual({k for k in push if k.startswith("D2:")},
                         {"D2:%s:0:push" % r[0] for r in rows if r[4] == "t"})
        self.assertEqual(set(mail), {"D2:%s:0:email" % r[0] for r in rows
                                     if r[4] == "f" and r[0] not in bounced})
        stats = self.get("/_stats")
        self.assertEqual(stats["email"]["accepted"], len(mail))
        self.assertEqual(stats["email"]["rejected"], len(bounced & {r[0] for r in rows}))
        retried = rk.db.sql("SELECT count(*) FROM rekindle.messages WHERE campaign_id = "
                            "'D2' AND state = 'sent' AND attempts > 1")
        self.assertGreaterEqual(int(retried), 4)    # three 451s and one 429
        # FCM: data values are strings, the key and the personal link in data.
        for b in self.get("/_messages/fcm"):
            d = b["message"]["data"]
            if d["tracking_id"].startswith("D2:"):
                self.assertTrue(b["message"]["notification"]["title"].startswith("Quà cho "))
                self.assertRegex(d["link"], r"^https://rk.invalid/t/[0-9]+\.[0-9a-f]{16}$")
        # E-mail: a MIME message any mail reader takes.
        got = self.get("/_messages/email")
        self.assertTrue(got)
        for rec in got:
            msg = email.message_from_string(rec["message"], policy=email.policy.default)
            self.assertEqual(rec["from"], "uudai@bank.example")
            self.assertIn("ưu đãi Hoàn tiền 10% Tiki đang chờ bạn", msg["Subject"])
            self.assertEqual(msg["To"].addresses[0].addr_spec, rec["to"])
            self.assertRegex(msg["Message-ID"], r"^<rk\.[0-9]+\.0@bank\.example>$")
            self.assertEqual(msg["X-Rekindle-Key"].split(":")[0], "D2")
            self.assertRegex(msg["List-Unsubscribe"],
                             r"^<https://rk.invalid/t/[0-9]+\.[0-9a-f]{16}/unsubscribe>$")
            self.assertEqual(msg["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click")
            self.assertEqual(msg.get_content_type(), "multipart/alternative")
            text = msg.get_body(("plain",)).get_content()
            html = msg.get_body(("html",)).get_content()
            self.assertIn("dành riêng cho bạn", text)
            link = re.search(r"https://rk.invalid/t/[0-9]+\.[0-9a-f]{16}", text).group(0)
            self.assertIn('<a href="%s">' % link, html)
            self.assertIn('<img src="%s/open.gif"' % link, html)
        print("\nD2: %d push, %d e-mail, %d bounced; doubles: fcm %s, email %s" % (
            sum(r[4] == "t" for r in rows), len(mail), len(bounced & {r[0] for r in rows}),
            stats["fcm"], stats["email"]))


class QuietHoursTest(unittest.TestCase):
    """Decree 91: an advertising SMS outside the customer's local sending
    hours waits for them: each stays queued, due when the window opens,
    and nothing reaches the provider before."""

    @classmethod
    def setUpClass(cls):
        cls.rk = rk = Rekindle(profilers=1, campaigners=1)
        cls.base = Doubles(rk).base
        rk.load_synthetic(3000, 7, AS_OF)
        rk.profile_all(AS_OF)
        rk.create_fallback_offer()

    @classmethod
    def tearDownClass(cls):
        cls.rk.close()

    def test_sms_outside_the_window_waits_for_it(self):
        rk = self.rk
        # The window opens two hours from now in Ho Chi Minh City (UTC+7),
        # where every customer lives, and lasts an hour.
        opens = (datetime.datetime.now(datetime.timezone.utc).hour + 7 + 2) % 24
        rk.start("rekindle-deliver", deliver_args("sms", self.base, extra=[
            "-o", "sms_from_hour=%d" % opens, "-o", "sms_until_hour=%d" % (opens + 1)]))
        rk.call(K, "CreateCampaign", rk.msg("rekindle.v1.CreateCampaignRequest",
                campaign=rk.msg("rekindle.v1.Campaign", campaign_id="Q1", name="Đêm",
                                fallback_offer_id="BACK", channel_order=[SMS])))
        rk.call(K, "LaunchCampaign", rk.msg("rekindle.v1.LaunchCampaignRequest",
                                             campaign_id="Q1"))
        count = lambda where: int(rk.db.sql(
            "SELECT count(*) FROM rekindle.messages WHERE campaign_id = 'Q1' AND " + where))
        wait_until(lambda: count("true") > 0, 60, "launch")
        wait_until(lambda: count("state = 'queued' AND not_before <= now()") == 0, 60,
                   "every message looked at")
        deferred = count("state = 'queued' AND reason = 'outside_window'")
        self.assertGreater(deferred, 0)
        # All to the same moment: the top of the local hour the window opens.
        due = rk.db.sql("SELECT DISTINCT to_char(not_before AT TIME ZONE "
                        "'Asia/Ho_Chi_Minh', 'HH24:MI') || '|' || "
                        "(not_before - now() BETWEEN interval '0' AND interval '3 hours') "
                        "FROM rekindle.messages WHERE campaign_id = 'Q1' AND "
                        "state = 'queued'").splitlines()
        self.assertEqual(due, ["%02d:00|true" % opens])
        # The governor's decision is on each message; it took no cap slot.
        self.assertEqual(count("decision = 'outside_window' AND state = 'queued' "
                               "AND slot_at IS NULL AND attempts = 0"), count("true"))
        print("\n%d of %d messages deferred to %02d:00" % (deferred, count("true"), opens))
        # Nothing went to the provider.
        with urllib.request.urlopen(self.base + "/_stats", timeout=10) as r:
            self.assertEqual(json.loads(r.read())["sms"]["accepted"], 0)


class PoolCase(unittest.TestCase):
    """A campaign on channel CH to CUSTOMERS synthetic customers, all
    reachable on it (reach), through a pool of processes started by
    pool()."""

    CH, CUSTOMERS, SEED = "zns", 900, 13
    reach = staticmethod(on_zalo)
    FALLBACK = {}       # create_fallback_offer's arguments

    @classmethod
    def double_args(cls, rk):
        """What the double is started with (rkdouble's options)."""
        return []

    @classmethod
    def setUpClass(cls):
        cls.rk = rk = Rekindle(profilers=1, campaigners=1, metrics=True)
        cls.dbl = Doubles(rk, cls.double_args(rk))
        rk.load_synthetic(cls.CUSTOMERS, cls.SEED, AS_OF)
        rk.profile_all(AS_OF)
        cls.reach(rk)
        rk.create_fallback_offer(**cls.FALLBACK)

    @classmethod
    def tearDownClass(cls):
        cls.rk.close()

    def pool(self, extra=()):
        return self.rk.start("rekindle-deliver", deliver_args(
            self.CH, self.dbl.base, self.dbl.smtp,
            extra=["-o", "lease_seconds=3"] + list(extra)))

    def launch(self, cid, name, **kw):
        """Launches campaign cid on CH; count(where) then counts its
        messages."""
        rk = self.rk
        rk.call(K, "CreateCampaign", rk.msg("rekindle.v1.CreateCampaignRequest",
                campaign=rk.msg("rekindle.v1.Campaign", campaign_id=cid, name=name,
                                fallback_offer_id="BACK",
                                channel_order=[{"zns": ZNS, "push": PUSH,
                                                "email": EMAIL}[self.CH]], **kw)))
        rk.call(K, "LaunchCampaign", rk.msg("rekindle.v1.LaunchCampaignRequest",
                                             campaign_id=cid))
        self.count = lambda where: int(rk.db.sql(
            "SELECT count(*) FROM rekindle.messages WHERE campaign_id = '%s' AND %s"
            % (cid, where)))
        wait_until(lambda: self.count("true") > 0, 60, "launch")

    def assert_each_once(self, cid, channel, total):
        """Counted at the double: every message the pool calls sent was
        taken there, nothing it took is not sent or held uncertain,
        nothing twice; none failed."""
        rk = self.rk
        self.assertEqual(self.count("state = 'failed'"), 0)
        keys = lambda state: set(rk.db.sql(
            "SELECT idempotency_key FROM rekindle.messages WHERE campaign_id = '%s' "
            "AND state = '%s'" % (cid, state)).splitlines())
        sent, held = keys("sent"), keys("uncertain")
        taken = {k["key"] for k in self.dbl.get("/_keys/" + channel)}
        self.assertEqual(sent - taken, set())
        self.assertEqual(taken - sent - held, set())
        self.assertEqual(self.dbl.get("/_stats")[channel]["duplicates"], 0)
        self.assertEqual(len(sent) + len(held), total)


class PacingTest(PoolCase):
    """A campaign's provider_rate_per_second over a ZNS pool of two
    processes (two lanes each): one is killed with SIGKILL mid-campaign and
    another started, PostgreSQL is restarted with -m immediate (every
    connection cut mid-claim or mid-send), and the provider answers some
    calls 500 and 429. The times the double took the messages show the
    rate kept: on average, and in every window within the documented bound
    (deliver.c, PACING: at most rate x (t + 2) + 1 calls in any t
    seconds)."""

    RATE = 40

    def test_rate_kept_by_the_pool_through_a_crash_and_faults(self):
        rk, dbl, rate, pool = self.rk, self.dbl, self.RATE, self.pool
        procs = [pool(), pool()]
        dbl.post("/_faults", {"channel": "zns", "rate": {"http_500": 0.05, "http_429": 0.03}})
        self.launch("R1", "Nhịp", provider_rate_per_second=rate)
        count = self.count
        wait_until(lambda: len(dbl.get("/_log/zns")) >= 5 * rate, 60, "five seconds of sends")
        os.kill(procs[0].p.pid, signal.SIGKILL)
        procs[0].p.wait()
        procs.append(pool())
        crashed_at = len(dbl.get("/_log/zns")) + 5 * rate
        wait_until(lambda: len(dbl.get("/_log/zns")) >= crashed_at, 60,
                   "five more seconds of sends")
        rk.db.crash_restart()
        wait_until(lambda: count("state NOT IN ('sent', 'uncertain', 'failed')") == 0,
                   180, "every message ended")
        total = count("true")
        self.assertGreater(total, 20 * rate)
        # Counted at the double: when each message reached it.
        at = sorted(t for _, t in dbl.get("/_log/zns"))
        n = len(at)
        keys = {k["key"] for k in dbl.get("/_keys/zns")}
        sent = set(rk.db.sql("SELECT idempotency_key FROM rekindle.messages WHERE "
                             "campaign_id = 'R1' AND state = 'sent'").splitlines())
        self.assertEqual(sent - keys, set())
        self.assertEqual(dbl.get("/_stats")["zns"]["duplicates"], 0)
        span = (at[-1] - at[0]) / 1000
        worst = {w: max(sum(1 for u in at[i:] if u < t + w * 1000) for i, t in enumerate(at))
                 for w in (1, 5)}
        print("\n%d of %d messages taken at %d/s: %.1f s first to last (%.1f/s); most in "
              "any 1 s: %d, in any 5 s: %d; double: %s" % (
                  n, total, rate, span, (n - 1) / span, worst[1], worst[5],
                  dbl.get("/_stats")["zns"]))
        # never faster than the rate over the whole run (the bound with t
        # the span: n <= rate x (span + 2) + 1), nor in any window
        self.assertGreaterEqual(span, (n - 1) / rate - 2)
        for w in (1, 5):
            self.assertLessEqual(worst[w], rate * (w + 2) + 1)
        # the pool kept the campaign's row; the unpaced fallback had none
        self.assertEqual(rk.db.sql("SELECT count(*) FROM rekindle.campaign_pace "
                                   "WHERE campaign_id = 'R1' AND channel = 3"), "1")


def deliver_metric(rk, n, name, **labels):
    """name{labels} as the n-th delivery process started serves it (None
    if it does not answer, or has no such series)."""
    status, text = http_get("127.0.0.1:%s" % rk.metrics_port("rekindle-deliver", n),
                            "/metrics")
    want = ",".join('%s="%s"' % kv for kv in labels.items())
    m = re.search(r"^%s\{%s\} (\S+)$" % (re.escape(name), re.escape(want)), text, re.M)
    return float(m.group(1)) if status == 200 and m else None


def refreshes(rk, n, outcome, channel="zns"):
    """rekindle_provider_token_refreshes_total of the n-th delivery
    process started, for channel and outcome (0 if it is not running)."""
    return deliver_metric(rk, n, "rekindle_provider_token_refreshes_total",
                          channel=channel, outcome=outcome) or 0


class TokenLockoutTest(PoolCase):
    """The OA token expires mid-campaign and the first refresh is taken by
    Zalo but its answer lost: the refresh token the pool holds is spent, and
    the other process's refresh with it is refused. Until an operator
    brings a new pair, the pool claims nothing - counted at the double: no
    more refused sends, and no message failed for it - and says so in its
    metrics. The operator restarts one process (SIGKILL) with the console's
    new pair; it seeds the store, the process still running takes the pair
    from there, and every message goes out once."""

    CUSTOMERS, SEED = 400, 17

    def test_lost_refresh_answer_holds_the_pool_until_a_new_pair(self):
        rk, dbl, pool = self.rk, self.dbl, self.pool
        procs = [pool(), pool()]
        dbl.post("/_zns/expire_token", {"drop_refreshes": 1})
        self.launch("T1", "Khoá")
        count = self.count
        total = count("true")
        self.assertGreater(total, 100)
        # both processes were refused and could not renew
        wait_until(lambda: all(refreshes(rk, n, "failed") >= 1 for n in (0, 1)), 60,
                   "a failed renewal in each process")
        # batches claimed before the lockout end too
        wait_until(lambda: count("state = 'sending'") == 0, 30, "no batch in flight")
        zns = lambda: dbl.get("/_stats")["zns"]
        held = zns()
        time.sleep(4)
        now = zns()
        self.assertEqual(now["accepted"], 0)
        self.assertEqual(now["rejected"], held["rejected"], "sends while locked out")
        self.assertGreater(now["refreshes"], held["refreshes"], "no renewal tried")
        self.assertEqual(count("state = 'failed'"), 0)
        self.assertEqual(count("state = 'queued'"), total)
        # the operator: a new pair from the console, one process restarted
        pair = dbl.post("/_zns/new_pair", {})
        os.kill(procs[0].p.pid, signal.SIGKILL)
        procs[0].p.wait()
        procs.append(pool(["-o", "zns_access_token=" + pair["access_token"],
                           "-o", "zns_refresh_token=" + pair["refresh_token"]]))
        wait_until(lambda: count("state NOT IN ('sent', 'uncertain', 'failed')") == 0,
                   120, "every message ended")
        # the other process took the new pair from the store
        wait_until(lambda: refreshes(rk, 1, "taken") >= 1, 90, "the pair taken")
        sent = set(rk.db.sql("SELECT idempotency_key FROM rekindle.messages WHERE "
                             "campaign_id = 'T1' AND state = 'sent'").splitlines())
        self.assertEqual(len(sent), total)
        self.assertEqual({k["key"] for k in dbl.get("/_keys/zns")}, sent)
        after = zns()
        self.assertEqual(after["duplicates"], 0)
        self.assertEqual(after["accepted"], total)
        self.assertEqual(after["rejected"], held["rejected"])
        self.assertEqual(refreshes(rk, 1, "refreshed"), 0)
        self.assertEqual(rk.db.sql("SELECT generation FROM rekindle.provider_tokens "
                                   "WHERE provider = 'zns'"), "1")


class PushTokenTest(PoolCase):
    """FCM access tokens minted with the service account (the double's
    lives 8 s here, Google's an hour): renewed before they expire while a
    paced campaign runs, and minted anew when FCM refuses them (every
    token revoked mid-campaign) - with a pool process SIGKILLed at the
    same moment. Counted at the double: nothing sent twice, every message
    the pool calls sent taken there, none failed for the token."""

    CH, CUSTOMERS, SEED = "push", 400, 19
    reach = staticmethod(on_app)

    def test_tokens_renewed_before_expiry_and_after_a_refusal(self):
        rk, dbl, pool = self.rk, self.dbl, self.pool
        fcm = lambda: dbl.get("/_stats")["fcm"]
        dbl.post("/_fcm/token_life", {"seconds": 8})
        procs = [pool(), pool()]
        self.launch("P1", "Ứng dụng", provider_rate_per_second=15)
        count = self.count
        total = count("true")
        self.assertGreater(total, 200)
        # two tokens each, the second minted before the first expired
        wait_until(lambda: fcm()["tokens_minted"] >= 4, 30, "tokens renewed as they age")
        self.assertEqual(fcm()["rejected"], 0)
        # hour-long tokens from now; after 8 s every process holds one
        # (an 8-second token is renewed 2 s before it expires), so none
        # is renewed before the revocation is met with a 401
        dbl.post("/_fcm/token_life", {"seconds": 3599})
        time.sleep(8)
        before = fcm()
        self.assertLess(before["accepted"], total)
        dbl.post("/_fcm/revoke_tokens", {})
        os.kill(procs[0].p.pid, signal.SIGKILL)
        procs[0].p.wait()
        procs.append(pool())
        wait_until(lambda: count("state NOT IN ('sent', 'uncertain', 'failed')") == 0,
                   120, "every message ended")
        after = fcm()
        print("\nP1: %d push messages; double: %s" % (total, after))
        self.assert_each_once("P1", "fcm", total)
        # the revocation was met with a 401 and a new token (the new
        # process mints its own)
        self.assertGreater(after["rejected"], before["rejected"])
        self.assertGreaterEqual(after["tokens_minted"], before["tokens_minted"] + 2)
        self.assertGreaterEqual(refreshes(rk, 1, "refreshed", "push"), 3)
        self.assertEqual(refreshes(rk, 1, "failed", "push"), 0)


class ZnsTokenLifeTest(PoolCase):
    """The OA token renewed before it expires: Zalo's lives 25 hours, the
    double's 8 s here. The configured pair's expiry is not known until its
    first refresh (the double expires it once to force that one); after
    it every renewal comes ahead of the expiry - counted at the double: no
    send refused as expired (-220) - while a paced campaign runs, a pool
    process is SIGKILLed and another started (it takes the stored pair
    and its expiry), and PostgreSQL is restarted with -m immediate. Every
    message once, none failed."""

    CUSTOMERS, SEED = 400, 23

    def test_renewed_ahead_through_a_crash_and_a_database_restart(self):
        rk, dbl, pool = self.rk, self.dbl, self.pool
        zns = lambda: dbl.get("/_stats")["zns"]
        dbl.post("/_zns/token_life", {"seconds": 8})
        dbl.post("/_zns/expire_token", {})
        procs = [pool()]
        self.launch("Z1", "Hạn", provider_rate_per_second=12)
        count = self.count
        total = count("true")
        self.assertGreater(total, 200)
        wait_until(lambda: zns()["refreshes"] >= 1 and zns()["accepted"] > 0, 30,
                   "the first refresh")
        first = zns()
        self.assertEqual(rk.db.sql("SELECT expires_at > now() FROM "
                                   "rekindle.provider_tokens WHERE provider = 'zns'"), "t")
        # renewed ahead, twice or more, before anything else happens
        wait_until(lambda: zns()["refreshes"] >= first["refreshes"] + 2, 30,
                   "renewals ahead of expiry")
        os.kill(procs[0].p.pid, signal.SIGKILL)
        procs[0].p.wait()
        procs.append(pool())
        wait_until(lambda: zns()["refreshes"] >= first["refreshes"] + 3, 30,
                   "a renewal by the new process")
        rk.db.crash_restart()
        wait_until(lambda: count("state NOT IN ('sent', 'uncertain', 'failed')") == 0,
                   120, "every message ended")
        after = zns()
        print("\nZ1: %d ZNS messages; double: %s" % (total, after))
        self.assertEqual(after["token_expired"], first["token_expired"],
                         "a send refused as expired after the first refresh")
        self.assertGreaterEqual(after["refreshes"], first["refreshes"] + 4)
        self.assert_each_once("Z1", "zns", total)


class SmtpLoginTest(PoolCase):
    """A bank's submission relay asks for STARTTLS and a login (the double
    with a certificate of its own and a user). The e-mail pool is started
    with the wrong password: the relay refuses the login (535), and the
    pool claims nothing more - counted at the double: no message taken,
    no more logins tried, none failed. The operator restarts it with the
    right password; a campaign paced at 40 a second goes out over TLS,
    through 451s, a SIGKILL of the pool's process and an immediate
    PostgreSQL restart. Counted at the double: every message the pool
    calls sent taken once, none twice, none in clear (no MAIL refused for
    want of TLS or a login)."""

    CH, CUSTOMERS, SEED = "email", 400, 23
    FALLBACK = {"email_subject": "{name}, quà đang chờ bạn"}

    @staticmethod
    def reach(rk):
        agreed(rk, EMAIL)

    @classmethod
    def double_args(cls, rk):
        cls.cert = os.path.join(rk.tmp, "relay.pem")
        key = os.path.join(rk.tmp, "relay.key")
        subprocess.run([os.path.join(SRC, "tests/provider/relay-cert.sh"), rk.tmp], check=True)
        return ["--smtp-cert", cls.cert, "--smtp-key", key,
                "--smtp-auth", "rk-relay:relay-pass-7"]

    def relay_pool(self, password, ca=None):
        return self.pool(["-o", "email_tls=required", "-o", "provider_ca_file=" +
                          (ca or self.cert), "-o", "email_user=rk-relay", "-o",
                          "email_password=" + password])

    def test_refused_login_holds_the_pool_then_sent_over_tls(self):
        rk, dbl = self.rk, self.dbl
        mail = lambda: dbl.get("/_stats")["email"]
        # First the pool trusts a CA that does not vouch for the relay:
        # its certificate refused, not an outage - said apart, nothing
        # sent, no password shown, no message failed.
        other = os.path.join(rk.tmp, "other-ca")
        os.mkdir(other)
        subprocess.run([os.path.join(SRC, "tests/provider/relay-cert.sh"), other], check=True)
        procs = [self.relay_pool("relay-pass-7", ca=os.path.join(other, "relay.pem"))]
        self.launch("E1", "Thư", provider_rate_per_second=40)
        count = self.count
        total = count("true")
        self.assertGreater(total, 200)
        wait_until(lambda: provider_down(rk, 0, "email") == 1, 60, "the pool holding")
        wait_until(lambda: count("state = 'sending'") == 0, 30, "no batch in flight")
        self.assertIn("PROVIDER-TLS-REFUSED", rk.logs())
        self.assertGreater(replies(rk, 0, "email", "tls_refused"), 0)
        self.assertEqual(replies(rk, 0, "email", "no_reply"), 0)
        refused = mail()
        self.assertEqual(refused["accepted"] + refused["auth_ok"] + refused["auth_failed"], 0)
        self.assertEqual(count("state = 'failed'"), 0)
        os.kill(procs[0].p.pid, signal.SIGKILL)
        procs[0].p.wait()
        # Then the wrong password.
        procs.append(self.relay_pool("relay-pass-6"))
        wait_until(lambda: refreshes(rk, 1, "failed", "email") >= 1, 60,
                   "the refused login seen")
        # the other lane's batch, claimed before the refusal, ends too
        wait_until(lambda: count("state = 'sending'") == 0, 30, "no batch in flight")
        held = mail()
        time.sleep(4)
        now = mail()
        self.assertEqual(now["accepted"] + now["duplicates"], 0)
        self.assertGreaterEqual(held["auth_failed"], 1)
        self.assertEqual(now["auth_failed"], held["auth_failed"], "logins while held")
        self.assertEqual(count("state = 'failed'"), 0)
        self.assertEqual(count("state = 'queued'"), total)
        self.assertIn("EMAIL-LOGIN", rk.logs())
        self.assertNotIn("relay-pass-6", rk.logs())
        # the operator: the right password, the pool restarted
        os.kill(procs[1].p.pid, signal.SIGKILL)
        procs[1].p.wait()
        dbl.post("/_faults", {"channel": "email", "http_500": 6, "stage": "rcpt"})
        procs.append(self.relay_pool("relay-pass-7"))
        wait_until(lambda: mail()["accepted"] > 60, 60, "sends under way")
        os.kill(procs[2].p.pid, signal.SIGKILL)
        procs[2].p.wait()
        procs.append(self.relay_pool("relay-pass-7"))
        wait_until(lambda: mail()["accepted"] > 150, 60, "sends under way again")
        rk.db.crash_restart()
        wait_until(lambda: count("state NOT IN ('sent', 'uncertain', 'failed')") == 0,
                   120, "every message ended")
        after = mail()
        print("\nE1: %d e-mail messages; double: %s" % (total, after))
        self.assert_each_once("E1", "email", total)
        self.assertGreaterEqual(after["starttls"], 2)
        self.assertGreaterEqual(after["auth_ok"], 2)
        self.assertEqual(after["refused"], 0)
        self.assertEqual(after["faults"]["http_500"], 6)


def replies(rk, n, channel, klass):
    """rekindle_provider_replies_total of that class, of the n-th delivery
    process started (0 if none)."""
    return deliver_metric(rk, n, "rekindle_provider_replies_total", channel=channel,
                          **{"class": klass}) or 0


def provider_down(rk, n, channel="zns"):
    """rekindle_provider_down of the n-th delivery process started (None if
    it does not answer)."""
    return deliver_metric(rk, n, "rekindle_provider_down", channel=channel)


class ProviderOutageTest(PoolCase):
    """Zalo answers nothing but 500s for a while (an outage): the pool's
    first batches fail, and then it stops sending - one message now and
    then to try the provider - instead of spending every queued message's
    eight attempts within two minutes (failing the campaign) or making
    each one uncertain. Its process is SIGKILLed during the outage and
    PostgreSQL restarted with -m immediate; the new process finds the
    provider down the same way. Counted at the double: the requests
    during the outage are the first batches and the probes, not every
    message again and again; once Zalo answers, every message goes out
    once and none has failed."""

    CUSTOMERS, SEED = 500, 29

    def test_an_outage_stops_the_pool_and_spends_no_attempts(self):
        rk, dbl = self.rk, self.dbl
        zns = lambda: dbl.get("/_stats")["zns"]
        batch = 40
        pool = lambda: self.pool(["-o", "deliver_batch=%d" % batch])
        dbl.post("/_faults", {"channel": "zns", "rate": {"http_500": 1.0}})
        procs = [pool()]
        self.launch("O1", "Sự cố")
        count = self.count
        total = count("true")
        self.assertGreater(total, 300)
        wait_until(lambda: provider_down(rk, 0) == 1, 60, "the provider seen down")
        time.sleep(6)
        os.kill(procs[0].p.pid, signal.SIGKILL)
        procs[0].p.wait()
        procs.append(pool())
        rk.db.crash_restart()
        wait_until(lambda: provider_down(rk, 1) == 1, 60, "seen down by the new process")
        time.sleep(6)
        during = zns()
        self.assertEqual(during["accepted"], 0)
        # each process: its two lanes' first batches, then probes (1 s,
        # 2 s, 4 s ... apart) - without the gate every message would have
        # been tried three or four times by now
        self.assertLessEqual(during["faults"]["http_500"], 2 * 2 * batch + 20)
        self.assertLess(count("attempts > 0"), 2 * 2 * batch + 20)
        self.assertEqual(count("state = 'failed'"), 0)
        self.assertIn("PROVIDER-DOWN", rk.logs())
        # Zalo is back
        dbl.post("/_faults", {"channel": "zns", "rate": {}})
        wait_until(lambda: count("state NOT IN ('sent', 'uncertain', 'failed')") == 0,
                   150, "every message ended")
        after = zns()
        print("\nO1: %d ZNS messages, %d 500s during the outage; double: %s" % (
            total, during["faults"]["http_500"], after))
        self.assert_each_once("O1", "zns", total)
        self.assertEqual(provider_down(rk, 1), 0)
        self.assertIn("PROVIDER-UP", rk.logs())


if __name__ == "__main__":
    unittest.main()
