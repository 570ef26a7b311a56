"""The consent ledger on real processes (Law 91/2025, Decree 13/2023):
every grant and withdrawal is kept with its time, source, evidence and who
recorded it; the state is the newest event (one arriving late never
overrides a newer one); a withdrawal cancels the customer's queued messages
on that channel in the same transaction; the ledger cannot be edited."""
import subprocess, time, unittest

from harness import RekindleCase, Rekindle, wait_until

C, K = "rekindle.v1.CustomerService", "rekindle.v1.CampaignService"
SMS, ZNS, MARKETING = 2, 3, 1


class ConsentTest(RekindleCase):
    @classmethod
    def setUpClass(cls):
        cls.rk = rk = Rekindle(campaigners=1, profilers=1)
        rk.load_synthetic(400, 21, "2025-06-30")
        rk.profile_all("2025-06-30")
        rk.create_fallback_offer()

    def consent(self, cid, granted, at, source, evidence="", channel=SMS):
        rk = self.rk
        return rk.call(C, "UpdateConsent", rk.msg(
            "rekindle.v1.UpdateConsentRequest", customer_id=cid, consent=rk.msg(
                "rekindle.v1.Consent", channel=channel, purpose=MARKETING,
                granted=granted, time=rk.msg("google.protobuf.Timestamp", seconds=at),
                source=source, evidence=evidence)))

    def state(self, cid, channel=SMS):
        return self.sql("SELECT granted::text || '|' || source FROM "
                        "rekindle.customer_consents WHERE customer_id = '%s' AND "
                        "channel = %d AND purpose = 1" % (cid, channel))

    def test_ledger_late_events_and_withdrawal(self):
        rk = self.rk
        # A campaign whose first messages wait (its send window is closed
        # where the customers live): queued SMS to withdraw from.
        rk.queued_sms_campaign("CL1")
        cid = self.sql("SELECT customer_id FROM rekindle.messages WHERE campaign_id = "
                       "'CL1' AND state = 'queued' ORDER BY customer_id LIMIT 1")
        now = int(time.time())
        self.consent(cid, True, now - 3600, "web_form", "form-2026-0042")
        # the customer replies TC: a withdrawal, now
        self.consent(cid, False, now - 60, "sms_reply", "mo:8812")
        self.assertEqual(self.state(cid), "false|sms_reply")
        # the queued message went with it, in the same call
        self.assertEqual(self.sql("SELECT state || '|' || reason FROM rekindle.messages "
                                  "WHERE campaign_id = 'CL1' AND customer_id = '%s'" % cid),
                         "cancelled|consent withdrawn")
        # a grant captured earlier arrives late: recorded, not in force
        self.consent(cid, True, now - 1800, "agent_call", "call:551")
        self.assertEqual(self.state(cid), "false|sms_reply")
        # other channels untouched
        self.consent(cid, True, now - 30, "app", "app-consent-9", channel=ZNS)
        ev = rk.call(C, "ListConsentEvents", rk.msg("rekindle.v1.ListConsentEventsRequest",
                                                    customer_id=cid, channel=SMS)).events
        mine = [(e.granted, e.source, e.evidence) for e in ev if e.evidence]
        self.assertEqual(mine, [(True, "web_form", "form-2026-0042"),
                                (False, "sms_reply", "mo:8812"),
                                (True, "agent_call", "call:551")])
        self.assertTrue(all(e.time.seconds > 0 and e.record_time.seconds > 0 and
                            e.recorded_by.startswith("token:") for e in ev if e.evidence))
        # paging, and a token it did not issue
        page = rk.call(C, "ListConsentEvents", rk.msg(
            "rekindle.v1.ListConsentEventsRequest", customer_id=cid, page_size=1))
        self.assertEqual(len(page.events), 1)
        self.assertTrue(page.next_page_token)
        import grpc
        with self.assertRaises(grpc.RpcError) as e:
            rk.call(C, "ListConsentEvents", rk.msg("rekindle.v1.ListConsentEventsRequest",
                                                   customer_id=cid, page_token="garbage"))
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        # the ledger cannot be edited or shortened
        for q in ("UPDATE rekindle.consent_events SET granted = true WHERE customer_id "
                  "= '%s'" % cid, "DELETE FROM rekindle.consent_events WHERE customer_id "
                  "= '%s'" % cid):
            with self.assertRaises(subprocess.CalledProcessError):
                self.sql(q)
        every = rk.call(C, "ListConsentEvents", rk.msg(
            "rekindle.v1.ListConsentEventsRequest", customer_id=cid,
            page_size=1000)).events
        self.assertEqual(int(self.sql("SELECT count(*) FROM rekindle.consent_events WHERE "
                                      "customer_id = '%s'" % cid)), len(every))
        self.assertEqual(len(every), len(ev) + 1 + sum(
            1 for e in every if e.channel not in (SMS, ZNS)) + sum(
            1 for e in every if e.channel == ZNS and not e.evidence))


if __name__ == "__main__":
    unittest.main()
