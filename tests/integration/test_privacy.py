"""The data subject's rights and the audit trail on real processes (Law
91/2025/QH15 on personal data protection): a customer goes through the
whole journey - a message, a click, reminders, a ticket an agent works
with a call and notes that hold their phone number - then the bank
exports everything held about them (through the API and rekindlectl) and
erases them. A full pg_dump of the database and every rekindle log are
then searched for their name, phone (+84..., 84..., 0...), e-mail and push
token: nothing may be found. Every change made through the API is in the
audit trail, in the transaction of the change, with personal data masked."""
import json, os, subprocess, time, unittest

import grpc

from harness import ADMIN
from test_engage import Setup, token

C, E, T = "rekindle.v1.CustomerService", "rekindle.v1.EngagementService", \
    "rekindle.v1.TicketService"
K, AU = "rekindle.v1.CampaignService", "rekindle.v1.AuditService"
NAME = "Trần Thị Xoá Dữ Liệu"
PHONE = "+84936271845"
EMAIL = "xoa.du.lieu.7731@example.vn"
PUSH = "fcm-xoa-7731-d3adb33f-token"


class PrivacyTest(Setup):

    def export(self, cid):
        rk = self.rk
        md, _, out = rk.method(C, "ExportCustomerData")
        f = rk.channel.unary_stream("/%s/ExportCustomerData" % C,
                                    request_serializer=lambda m: m.SerializeToString(),
                                    response_deserializer=out.FromString)
        chunks = list(f(rk.msg("rekindle.v1.ExportCustomerDataRequest", customer_id=cid),
                        timeout=60, metadata=[("authorization", "Bearer " + ADMIN)]))
        self.assertEqual(chunks[0].content_type, "application/json")
        self.assertEqual([c.offset for c in chunks],
                         [sum(len(x.data) for x in chunks[:i]) for i in range(len(chunks))])
        data = b"".join(c.data for c in chunks)
        self.assertEqual(len(data), chunks[0].total_size)
        return json.loads(data)

    def audit(self, **kw):
        return list(self.rk.call(AU, "ListAuditEvents", self.rk.msg(
            "rekindle.v1.ListAuditEventsRequest", **kw)).events)

    def test_export_erase_audit(self):
        rk, db = self.rk, self.rk.db
        a = sorted(self.msg)[0]
        old_phone = db.sql("SELECT phone_e164 FROM rekindle.customers WHERE id = '%s'" % a)
        # Their contacts, as the card system sends them.
        before = len(self.audit(resource_type="customers", resource_id=a))
        rk.call(C, "UpsertCustomers", rk.msg("rekindle.v1.UpsertCustomersRequest", customers=[
            rk.msg("rekindle.v1.Customer", customer_id=a, full_name=NAME, phone="0936271845",
                   email=EMAIL, push_token=PUSH, zalo_available=True,
                   time_zone=db.sql("SELECT time_zone FROM rekindle.customers WHERE id = "
                                    "'%s'" % a))]))
        self.assertEqual(db.sql("SELECT phone_e164 FROM rekindle.customers WHERE id = '%s'"
                                % a), PHONE)
        # Audited: who, what changed, personal data masked.
        ev = self.audit(resource_type="customers", resource_id=a)
        self.assertEqual(len(ev), before + 1)
        e = ev[0]
        self.assertEqual((e.role, e.action), ("admin", "update"))
        self.assertGreater(e.token_id, 0)
        self.assertTrue(e.method.endswith("CustomerService/UpsertCustomers"))
        self.assertEqual(json.loads(e.after_json)["full_name"], "[masked]")
        self.assertNotIn(NAME, e.before_json + e.after_json)
        # A service token withdraws ZNS consent with evidence holding the
        # number (an SMS reply's text): audited as the service token.
        svc = rk.call("rekindle.v1.AgentService", "CreateToken", rk.msg(
            "rekindle.v1.CreateTokenRequest", name="card-system", role=2))
        rk.call(C, "UpdateConsent", rk.msg("rekindle.v1.UpdateConsentRequest", customer_id=a,
                consent=rk.msg("rekindle.v1.Consent", channel=3, purpose=1, granted=False,
                               time=rk.msg("google.protobuf.Timestamp",
                                           seconds=int(time.time())),
                               source="sms_reply", evidence="MO from " + PHONE)),
                token=svc.secret)
        ev = self.audit(token_id=svc.token.token_id)
        self.assertEqual({x.resource_type for x in ev}, {"consent_events", "customer_consents"})
        self.assertTrue(all(x.role == "service" for x in ev))
        self.assertNotIn(PHONE, json.dumps([x.after_json for x in ev]))
        # A refused change writes nothing, audit included.
        n = db.sql("SELECT count(*) FROM rekindle.audit_events")
        with self.assertRaises(grpc.RpcError) as err:
            rk.call(C, "UpdateConsent", rk.msg("rekindle.v1.UpdateConsentRequest",
                    customer_id=a, consent=rk.msg("rekindle.v1.Consent", channel=9,
                                                  purpose=1)), token=svc.secret)
        self.assertEqual(err.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(db.sql("SELECT count(*) FROM rekindle.audit_events"), n)
        # The journey: a click, reminders, then a ticket worked by an agent
        # whose notes hold the customer's number.
        code = self.get("/t/" + token(self.msg[a][0]),
                        ua="Mozilla/5.0 (Linux; Android 13; " + PUSH + ")")[0]
        self.assertEqual(code, 302)
        wait = lambda: db.sql("SELECT id || '|' || coalesce(agent_id, '') FROM "
                              "rekindle.tickets WHERE customer_id = '%s'" % a)
        deadline = time.time() + 60
        while not wait() or not wait().split("|")[1]:
            self.assertLess(time.time(), deadline, "ticket for the customer")
            time.sleep(0.2)
        tid, agent = wait().split("|")
        as_agent = dict(token=self.tokens[agent])
        rk.call(T, "AddNote", rk.msg("rekindle.v1.AddNoteRequest", ticket_id=tid,
                                     text="Gọi lại 0%s cho %s" % (PHONE[3:], NAME)),
                **as_agent)
        rk.call(T, "LogCallAttempt", rk.msg(
            "rekindle.v1.LogCallAttemptRequest", request_id="pv1", ticket_id=tid,
            reached=False, note="Máy bận, email " + EMAIL), **as_agent)
        notes = self.audit(resource_type="ticket_notes")
        self.assertTrue(notes and all(json.loads(x.after_json)["text"] == "[masked]"
                                      for x in notes))
        self.assertEqual({x.role for x in notes}, {"agent"})
        # Filters: time range and paging.
        now = int(time.time())
        page = rk.call(AU, "ListAuditEvents", rk.msg(
            "rekindle.v1.ListAuditEventsRequest", page_size=2,
            start_time=rk.msg("google.protobuf.Timestamp", seconds=now - 3600)))
        self.assertEqual(len(page.events), 2)
        nxt = rk.call(AU, "ListAuditEvents", rk.msg(
            "rekindle.v1.ListAuditEventsRequest", page_size=2, page_token=page.next_page_token,
            start_time=rk.msg("google.protobuf.Timestamp", seconds=now - 3600)))
        self.assertLess(nxt.events[0].event_id, page.events[-1].event_id)
        self.assertEqual(self.audit(end_time=rk.msg("google.protobuf.Timestamp",
                                                    seconds=now - 86400 * 365)), [])

        # ---- export ----
        doc = self.export(a)
        self.assertEqual(doc["customer"]["full_name"], NAME)
        self.assertEqual(doc["customer"]["push_token"], PUSH)
        self.assertEqual(len(doc["transactions"]), int(db.sql(
            "SELECT count(*) FROM rekindle.transactions WHERE customer_id = '%s'" % a)))
        self.assertIn("MO from " + PHONE, [e["evidence"] for e in doc["consent_events"]])
        self.assertIsNotNone(doc["profile"])
        self.assertIn("churn_reasons", doc["profile"])
        self.assertEqual([j["campaign_id"] for j in doc["journeys"]], ["E1"])
        first = [m for m in doc["messages"] if m["step"] == 0][0]
        said = json.dumps(first["said"], ensure_ascii=False)
        self.assertIn(token(self.msg[a][0]), said)       # the link it carried
        if first["channel"] == 2:
            self.assertTrue(first["said"]["text"].startswith("[QC] "))
        else:
            self.assertEqual(first["said"]["template_id"], "231456")
        reminders = [m for m in doc["messages"] if m["step"] > 0]
        self.assertTrue(reminders and all(m["said"]["text"].startswith("[QC] ")
                                          for m in reminders))
        self.assertIn(3, [e["type"] for e in doc["events"]])
        t = doc["tickets"][0]
        self.assertTrue(any(NAME in n["text"] for n in t["notes"]))
        self.assertTrue(any(EMAIL in (c["note"] or "") for c in t["call_attempts"]))
        self.assertTrue(t["history"])
        self.assertTrue(any(x["method"].endswith("UpsertCustomers") for x in doc["audit"]))
        # rekindlectl writes the same document.
        path = os.path.join(rk.tmp, "export.json")
        rk.ctl("customers", "export", a, "-o", path)
        with open(path) as fh:
            self.assertEqual(json.load(fh)["customer"]["email"], EMAIL)
        # admin only
        with self.assertRaises(grpc.RpcError) as err:
            rk.call(C, "EraseCustomer", rk.msg("rekindle.v1.EraseCustomerRequest",
                                               customer_id=a), token=svc.secret)
        self.assertEqual(err.exception.code(), grpc.StatusCode.PERMISSION_DENIED)

        # ---- erasure ----
        stats = lambda: rk.call(K, "GetCampaignStats", rk.msg(
            "rekindle.v1.GetCampaignStatsRequest", campaign_id="E1"))
        before_stats = stats()
        total_msgs = db.sql("SELECT count(*) FROM rekindle.messages WHERE campaign_id = 'E1'")
        r = rk.call(C, "EraseCustomer", rk.msg("rekindle.v1.EraseCustomerRequest",
                                               customer_id=a, reason="DSR-2026-118"))
        self.assertFalse(r.already_erased)
        self.assertTrue(r.pseudonym.startswith("erased-"))
        again = rk.call(C, "EraseCustomer", rk.msg("rekindle.v1.EraseCustomerRequest",
                                                   customer_id=a))
        self.assertEqual((again.pseudonym, again.already_erased), (r.pseudonym, True))
        with self.assertRaises(grpc.RpcError) as err:
            rk.call(C, "EraseCustomer", rk.msg("rekindle.v1.EraseCustomerRequest",
                                               customer_id="never-known-77"))
        self.assertEqual(err.exception.code(), grpc.StatusCode.NOT_FOUND)
        # Nothing pending; the link is dead; counts unchanged.
        self.assertEqual(db.sql(
            "SELECT count(*) FROM rekindle.timers t LEFT JOIN rekindle.tickets k ON "
            "k.id = t.ticket_id WHERE t.state = 'pending' AND (t.customer_id = '%s' OR "
            "k.customer_id = '%s')" % (r.pseudonym, r.pseudonym)), "0")
        self.assertEqual(db.sql("SELECT count(*) FROM rekindle.tickets WHERE customer_id = "
                                "'%s' AND state < 5" % r.pseudonym), "0")
        self.assertEqual(db.sql("SELECT count(*) FROM rekindle.messages WHERE "
                                "customer_id = '%s' AND state = 'queued'" % r.pseudonym), "0")
        self.assertEqual(self.get("/t/" + token(self.msg[a][0]))[0], 404)
        self.assertEqual(db.sql("SELECT count(*) FROM rekindle.messages WHERE "
                                "campaign_id = 'E1'"), total_msgs)
        after_stats = stats()
        for f in ("audience", "control", "sent", "clicked", "reminded", "ticketed"):
            self.assertEqual(getattr(after_stats, f), getattr(before_stats, f), f)
        for m in ("GetCustomer", "ExportCustomerData"):
            with self.assertRaises(grpc.RpcError) as err:
                if m == "GetCustomer":
                    rk.call(C, m, rk.msg("rekindle.v1.GetCustomerRequest", customer_id=a))
                else:
                    self.export(a)
            self.assertEqual(err.exception.code(), grpc.StatusCode.NOT_FOUND, m)
        ev = self.audit(resource_type="customers", resource_id=r.pseudonym)
        self.assertEqual(ev[0].action, "erase")
        self.assertEqual(json.loads(ev[0].after_json)["reason"], "DSR-2026-118")
        # rekindlectl reads the same trail.
        out = rk.ctl("audit", "list", "--resource", "customers:" + r.pseudonym,
                     "--limit", "5", "--json").stdout
        self.assertEqual(json.loads(out)["events"][0]["action"], "erase")
        table = rk.ctl("audit", "list", "--resource", "customers:" + r.pseudonym).stdout
        self.assertIn("erase", table)
        self.assertIn("EraseCustomer", table)
        self.assertEqual(rk.ctl("audit", "list", "--bogus", "x", check=False).returncode, 2)

        # The search: a full pg_dump and every rekindle log.
        bindir = "/usr/lib/postgresql/%s/bin" % sorted(os.listdir("/usr/lib/postgresql"))[-1]
        dump = subprocess.run(["runuser", "-u", "postgres", "--", bindir + "/pg_dump", "-h",
                               db.dir, "-p", str(db.port), "-d", "rekindle"] if os.getuid() == 0
                              else [bindir + "/pg_dump", "-h", db.dir, "-p", str(db.port),
                                    "-U", "postgres", "-d", "rekindle"],
                              capture_output=True, check=True).stdout.decode()
        logs = ""
        for f in sorted(os.listdir(rk.tmp)):
            if f.startswith("rekindle") and f.endswith(".log"):
                with open(os.path.join(rk.tmp, f), errors="replace") as fh:
                    logs += fh.read()
        needles = [NAME, PHONE, PHONE[1:], "0" + PHONE[3:], EMAIL, PUSH]
        if old_phone:
            needles += [old_phone, old_phone[1:], "0" + old_phone[3:]]
        hits = {n: dump.count(n) + logs.count(n) for n in needles}
        print("\nerasure search: pg_dump %d bytes, logs %d bytes, %d needles, hits %s"
              % (len(dump), len(logs), len(needles), hits))
        self.assertEqual(sum(hits.values()), 0, hits)
        self.assertGreater(dump.count(r.pseudonym), 0)     # the rows stay, renamed

        # The id is free: upserted again, a new person with no history.
        rk.call(C, "UpsertCustomers", rk.msg("rekindle.v1.UpsertCustomersRequest", customers=[
            rk.msg("rekindle.v1.Customer", customer_id=a, full_name="Người mới")]))
        got = rk.call(C, "GetCustomer", rk.msg("rekindle.v1.GetCustomerRequest", customer_id=a))
        self.assertEqual(len(got.consents), 0)
        self.assertEqual(len(rk.call(C, "ListTransactions", rk.msg(
            "rekindle.v1.ListTransactionsRequest", customer_id=a)).transactions), 0)
        self.assertEqual(len(self.export(a)["messages"]), 0)


if __name__ == "__main__":
    unittest.main()
