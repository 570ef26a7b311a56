"""rekindle-api from a client no one here wrote: Debian's python3-grpcio,
with every rekindle type learned through server reflection."""
import os, pathlib, shutil, signal, subprocess, tempfile, time, unittest

import grpc

from harness import ADMIN, SRC, Rekindle, bad_request, wait_until

C = "rekindle.v1.CustomerService"
A = "rekindle.v1.AgentService"
PHONE, EMAIL = "0912345678", "lan.tran@example.com.vn"


class ApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rk = Rekindle(api_opts=["-o", "max_recv_bytes=1048576"], profilers=1)

    @classmethod
    def tearDownClass(cls):
        logs = cls.rk.logs()
        cls.rk.close()
        # No phone number, e-mail address or message body in any log line.
        for secret in (PHONE, "912345678", EMAIL, "lan.tran"):
            assert secret not in logs, "personal data in logs: " + secret

    def customer(self, cid, **kw):
        rk = self.rk
        kw.setdefault("time_zone", "Asia/Ho_Chi_Minh")
        return rk.msg("rekindle.v1.Customer", customer_id=cid, full_name="Trần Thị Lan",
                      language="vi", **kw)

    def test_health_check_and_watch(self):
        h = self.rk.health_pb2
        self.assertTrue(self.rk.serving())
        watch = self.rk.channel.unary_stream(
            "/grpc.health.v1.Health/Watch",
            request_serializer=h.HealthCheckRequest.SerializeToString,
            response_deserializer=h.HealthCheckResponse.FromString)
        stream = watch(h.HealthCheckRequest(service="rekindle.v1.CustomerService"),
                       timeout=5)
        self.assertEqual(next(stream).status, h.HealthCheckResponse.SERVING)
        stream.cancel()
        check = self.rk.channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=h.HealthCheckRequest.SerializeToString,
            response_deserializer=h.HealthCheckResponse.FromString)
        with self.assertRaises(grpc.RpcError) as e:
            check(h.HealthCheckRequest(service="no.such.Service"), timeout=5)
        self.assertEqual(e.exception.code(), grpc.StatusCode.NOT_FOUND)

    def test_reflection_lists_services_v1_and_v1alpha(self):
        pb2 = self.rk.refl_pb2
        for version in ("v1", "v1alpha"):
            (r,) = self.rk.reflect([pb2.ServerReflectionRequest(list_services="")],
                                   version)
            names = {s.name for s in r.list_services_response.service}
            for want in ("rekindle.v1.CustomerService", "rekindle.v1.ProfileService",
                         "rekindle.v1.OfferService", "rekindle.v1.CampaignService",
                         "rekindle.v1.EngagementService", "rekindle.v1.TicketService",
                         "rekindle.v1.AgentService", "grpc.health.v1.Health",
                         "grpc.reflection.v1.ServerReflection",
                         "grpc.reflection.v1alpha.ServerReflection"):
                self.assertIn(want, names)
        (r,) = self.rk.reflect([pb2.ServerReflectionRequest(file_containing_symbol="no.Such")])
        self.assertEqual(r.error_response.error_code, 5)

    def test_unknown_method_is_unimplemented_at_once(self):
        t = time.time()
        with self.assertRaises(grpc.RpcError) as e:
            self.rk.channel.unary_unary("/rekindle.v1.Nope/Nothing")(b"", timeout=10)
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNIMPLEMENTED)
        self.assertLess(time.time() - t, 0.5)
        # An unknown method of a known service.
        with self.assertRaises(grpc.RpcError) as e:
            self.rk.channel.unary_unary("/rekindle.v1.CustomerService/Nothing")(b"", timeout=10)
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNIMPLEMENTED)

    def test_every_described_method_is_served(self):
        # Each method reflection describes answers something other than
        # UNIMPLEMENTED (an empty request is refused or answered); all but
        # RunProfiling, whose empty request is a valid full run.
        names = [s.name for s in self.rk.reflect(
            [self.rk.refl_pb2.ServerReflectionRequest(list_services="")])[0]
            .list_services_response.service if s.name.startswith("rekindle.")]
        self.assertGreater(len(names), 5)
        for svc in names:
            self.rk.load_symbol(svc)
            for m in self.rk.pool.FindServiceByName(svc).methods:
                if m.name == "RunProfiling":
                    continue
                _, req, _ = self.rk.method(svc, m.name)
                try:
                    self.rk.call(svc, m.name, [] if m.client_streaming else req(), timeout=10)
                except grpc.RpcError as e:
                    self.assertNotEqual(e.code(), grpc.StatusCode.UNIMPLEMENTED,
                                        "%s/%s" % (svc, m.name))

    def test_tokens_missing_wrong_and_out_of_role(self):
        req = self.rk.msg("rekindle.v1.GetCustomerRequest", customer_id="X1")
        for token in (None, "wrong-token-value"):
            with self.assertRaises(grpc.RpcError) as e:
                self.rk.call(C, "GetCustomer", req, token=token)
            self.assertEqual(e.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
        agent = self.rk.call(A, "CreateToken", self.rk.msg(
            "rekindle.v1.CreateTokenRequest", name="agent-1", role=3, agent_id="ag1"))
        self.assertTrue(agent.secret.startswith("rk_"))
        with self.assertRaises(grpc.RpcError) as e:
            self.rk.call(C, "GetCustomer", req, token=agent.secret)
        self.assertEqual(e.exception.code(), grpc.StatusCode.PERMISSION_DENIED)
        with self.assertRaises(grpc.RpcError) as e:
            self.rk.call(A, "ListTokens", self.rk.msg("rekindle.v1.ListTokensRequest"),
                         token=agent.secret)
        self.assertEqual(e.exception.code(), grpc.StatusCode.PERMISSION_DENIED)
        # Revoked: refused at once.
        self.rk.call(A, "RevokeToken", self.rk.msg("rekindle.v1.RevokeTokenRequest",
                                                   token_id=agent.token.token_id))
        with self.assertRaises(grpc.RpcError) as e:
            self.rk.call(C, "GetCustomer", req, token=agent.secret)
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
        # Only the hash is stored.
        self.assertEqual(self.rk.db.sql(
            "SELECT count(*) FROM rekindle.api_tokens WHERE "
            "token_hash = convert_to('%s', 'UTF8')" % agent.secret), "0")

    def test_upsert_normalises_and_get_reads_back(self):
        rk = self.rk
        now = rk.msg("google.protobuf.Timestamp", seconds=int(time.time()) - 60)
        consent = rk.msg("rekindle.v1.Consent", channel=2, purpose=1, granted=True,
                         time=now, source="mobile-app")
        req = rk.msg("rekindle.v1.UpsertCustomersRequest", request_id="up-1",
                     customers=[self.customer("VN-1", phone="+84 91 234 5678",
                                              email=EMAIL, consents=[consent])])
        r = rk.call(C, "UpsertCustomers", req)
        self.assertEqual((r.created, r.updated), (1, 0))
        again = rk.call(C, "UpsertCustomers", req)      # replay of request_id
        self.assertEqual((again.created, again.updated), (1, 0))
        req.customers[0].full_name = "someone else"
        with self.assertRaises(grpc.RpcError) as e:
            rk.call(C, "UpsertCustomers", req)
        self.assertEqual(e.exception.code(), grpc.StatusCode.ALREADY_EXISTS)
        c = rk.call(C, "GetCustomer", rk.msg("rekindle.v1.GetCustomerRequest",
                                             customer_id="VN-1"))
        self.assertEqual(c.phone, "+84912345678")
        self.assertEqual(c.email, EMAIL)
        self.assertEqual(c.full_name, "Trần Thị Lan")
        self.assertEqual(len(c.consents), 1)
        self.assertEqual(c.consents[0].source, "mobile-app")
        with self.assertRaises(grpc.RpcError) as e:
            rk.call(C, "GetCustomer", rk.msg("rekindle.v1.GetCustomerRequest",
                                             customer_id="nobody"))
        self.assertEqual(e.exception.code(), grpc.StatusCode.NOT_FOUND)

    def consent(self, channel, granted, ago_s, purpose=1):
        t = self.rk.msg("google.protobuf.Timestamp", seconds=int(time.time()) - ago_s)
        return self.rk.msg("rekindle.v1.Consent", channel=channel, purpose=purpose,
                           granted=granted, time=t, source="branch-form")

    def list_all(self, page_size, **kw):
        rk, token, seen = self.rk, "", []
        while True:
            r = rk.call(C, "ListCustomers", rk.msg("rekindle.v1.ListCustomersRequest",
                                                   page_size=page_size, page_token=token, **kw))
            self.assertLessEqual(len(r.customers), page_size)
            seen += list(r.customers)
            if not r.next_page_token:
                return seen
            token = r.next_page_token

    def test_list_customers_pages_with_consents_and_update_consent(self):
        rk = self.rk
        t0 = rk.msg("google.protobuf.Timestamp", seconds=int(time.time()) - 1)
        rk.call(C, "UpsertCustomers", rk.msg("rekindle.v1.UpsertCustomersRequest", customers=[
            self.customer("LC-%d" % i, email="lc%d@example.com" % i,
                          consents=[self.consent(1, True, 3600)] +
                          ([self.consent(2, True, 3600)] if i % 2 else []))
            for i in range(1, 6)]))
        seen = self.list_all(2, updated_after=t0)
        ids = [c.customer_id for c in seen]
        self.assertEqual(ids, sorted(set(ids)))              # id order, no repeats
        mine = {c.customer_id: c for c in seen if c.customer_id.startswith("LC-")}
        self.assertEqual(sorted(mine), ["LC-%d" % i for i in range(1, 6)])
        self.assertEqual([len(mine["LC-%d" % i].consents) for i in range(1, 6)], [2, 1, 2, 1, 2])
        self.assertEqual(mine["LC-3"].email, "lc3@example.com")
        later = rk.msg("google.protobuf.Timestamp", seconds=int(time.time()) + 3600)
        self.assertEqual(len(self.list_all(10, updated_after=later)), 0)
        with self.assertRaises(grpc.RpcError) as e:
            rk.call(C, "ListCustomers", rk.msg("rekindle.v1.ListCustomersRequest",
                                               page_token="not a token"))
        self.assertIn("page_token", bad_request(e.exception))
        # Page tokens are opaque and bound to their method: a customer id
        # written by hand, or ListCustomers' token given to ListProfiles,
        # is refused, not an empty page.
        first = rk.call(C, "ListCustomers", rk.msg("rekindle.v1.ListCustomersRequest",
                                                   page_size=1))
        self.assertTrue(first.next_page_token)
        self.assertNotIn(first.customers[0].customer_id, first.next_page_token)
        for svc, method, req in (
                (C, "ListCustomers", rk.msg("rekindle.v1.ListCustomersRequest",
                                            page_token="LC-1")),
                ("rekindle.v1.ProfileService", "ListProfiles", rk.msg(
                    "rekindle.v1.ListProfilesRequest", page_token=first.next_page_token))):
            with self.assertRaises(grpc.RpcError) as e:
                rk.call(svc, method, req)
            self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
            self.assertIn("page_token", bad_request(e.exception))

        # A withdrawal takes effect; an older grant arriving late does not undo it.
        time.sleep(1.1)         # t1 is past every upsert above, to the second
        t1 = rk.msg("google.protobuf.Timestamp", seconds=int(time.time()))
        up = lambda rid, co, cid="LC-2": rk.call(C, "UpdateConsent", rk.msg(
            "rekindle.v1.UpdateConsentRequest", request_id=rid, customer_id=cid, consent=co))
        c = up("uc-1", self.consent(1, False, 60))
        self.assertEqual([(k.channel, k.granted) for k in c.consents], [(1, False)])
        self.assertEqual(c.customer_id, "LC-2")
        c = up("uc-2", self.consent(1, True, 1800))          # older than the withdrawal
        self.assertEqual([(k.channel, k.granted) for k in c.consents], [(1, False)])
        sms = self.consent(2, True, 10)                      # a new channel
        c = up("uc-3", sms)
        self.assertEqual([(k.channel, k.granted) for k in c.consents], [(1, False), (2, True)])
        again = up("uc-3", sms)                                # a replay of the same request
        self.assertEqual((len(again.consents), again.email), (2, "lc2@example.com"))
        # the reply kept for retries holds no contact data
        self.assertEqual(rk.db.sql(
            "SELECT count(*) FROM rekindle.idempotency_keys WHERE method = 'UpdateConsent' "
            "AND position(convert_to('lc2@example.com', 'UTF8') IN response) > 0"), "0")
        self.assertEqual(rk.db.sql("SELECT granted FROM rekindle.customer_consents WHERE "
                                   "customer_id = 'LC-2' AND channel = 1"), "f")
        changed = [c.customer_id for c in self.list_all(100, updated_after=t1)]
        self.assertIn("LC-2", changed)
        self.assertNotIn("LC-4", changed)
        with self.assertRaises(grpc.RpcError) as e:
            up("uc-4", self.consent(1, True, 10), cid="nobody")
        self.assertEqual(e.exception.code(), grpc.StatusCode.NOT_FOUND)
        with self.assertRaises(grpc.RpcError) as e:
            up("uc-5", rk.msg("rekindle.v1.Consent", channel=0, purpose=1), cid="LC-4")
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(set(bad_request(e.exception)),
                         {"consent.channel", "consent.time", "consent.source"})
        with self.assertRaises(grpc.RpcError) as e:
            rk.call(C, "UpdateConsent", rk.msg("rekindle.v1.UpdateConsentRequest",
                                               customer_id="LC-4"))
        self.assertIn("consent", bad_request(e.exception))
        self.assertEqual(rk.db.sql("SELECT count(*) FROM rekindle.customer_consents "
                                   "WHERE customer_id = 'LC-4'"), "1")

    def test_list_transactions_newest_first_in_pages(self):
        rk = self.rk
        now = int(time.time())
        rk.call(C, "UpsertCustomers", rk.msg("rekindle.v1.UpsertCustomersRequest",
                                             customers=[self.customer("LT-0")]))
        # two at the same moment: the id breaks the tie
        txns = [self.txn("LT-T%02d" % i, "LT-1", 1000 * i, now - 86400 * (i // 2))
                for i in range(11)]
        self.assertEqual(rk.call(C, "IngestTransactions", [rk.msg(
            "rekindle.v1.IngestTransactionsRequest", transactions=txns)]).accepted, 11)
        wait_until(lambda: rk.db.sql("SELECT count(*) FROM rekindle.customers "
                                     "WHERE id = 'LT-1'") == "1", 20, "LT-1 row")
        want = sorted(txns, key=lambda t: (t.occurred_at.seconds, t.transaction_id),
                      reverse=True)
        token, got = "", []
        while True:
            r = rk.call(C, "ListTransactions", rk.msg(
                "rekindle.v1.ListTransactionsRequest", customer_id="LT-1", page_size=4,
                page_token=token))
            got += list(r.transactions)
            token = r.next_page_token
            if not token:
                break
        self.assertEqual([t.transaction_id for t in got], [t.transaction_id for t in want])
        self.assertEqual((got[-1].amount_minor, got[-1].currency, got[-1].mcc,
                          got[-1].customer_id), (10000, "VND", 5411, "LT-1"))
        # a window: [now - 3 days, now - 1 day): 3 days ago in, 1 day ago out
        ts = lambda s: rk.msg("google.protobuf.Timestamp", seconds=s)
        r = rk.call(C, "ListTransactions", rk.msg(
            "rekindle.v1.ListTransactionsRequest", customer_id="LT-1",
            occurred_after=ts(now - 3 * 86400), occurred_before=ts(now - 86400)))
        self.assertEqual([t.transaction_id for t in r.transactions],
                         ["LT-T05", "LT-T04", "LT-T07", "LT-T06"])
        self.assertEqual(len(rk.call(C, "ListTransactions", rk.msg(
            "rekindle.v1.ListTransactionsRequest", customer_id="LT-0")).transactions), 0)
        for bad, field in ((dict(customer_id="nobody"), None),
                           (dict(customer_id="LT-1", page_token="x"), "page_token"),
                           (dict(customer_id="LT-1", occurred_after=ts(now),
                                 occurred_before=ts(now - 10)), "occurred_before"),
                           (dict(customer_id=""), "customer_id")):
            with self.assertRaises(grpc.RpcError) as e:
                rk.call(C, "ListTransactions", rk.msg("rekindle.v1.ListTransactionsRequest", **bad))
            if field is None:
                self.assertEqual(e.exception.code(), grpc.StatusCode.NOT_FOUND)
            else:
                self.assertIn(field, bad_request(e.exception))

    def test_invalid_fields_name_each_and_write_nothing(self):
        rk = self.rk
        req = rk.msg("rekindle.v1.UpsertCustomersRequest", customers=[
            self.customer("OK-1", phone=PHONE),
            self.customer("BAD-1", phone="12345", email="not-an-email",
                          time_zone="Mars/Base")])
        with self.assertRaises(grpc.RpcError) as e:
            rk.call(C, "UpsertCustomers", req)
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        v = bad_request(e.exception)
        self.assertIn("customers[1].phone", v)
        self.assertIn("customers[1].email", v)
        self.assertIn("customers[1].time_zone", v)
        self.assertNotIn("customers[0].phone", v)
        self.assertEqual(rk.db.sql("SELECT count(*) FROM rekindle.customers "
                                   "WHERE id IN ('OK-1', 'BAD-1')"), "0")

    def test_malformed_and_oversized_messages(self):
        path = "/rekindle.v1.CustomerService/GetCustomer"
        f = self.rk.channel.unary_unary(path)
        meta = [("authorization", "Bearer " + ADMIN)]
        with self.assertRaises(grpc.RpcError) as e:
            f(b"\xff\xff\xff\xff", timeout=5, metadata=meta)
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        with self.assertRaises(grpc.RpcError) as e:
            f(b"\x0a" + b"\x80\x80\x40" + b"x" * (1 << 20), timeout=10, metadata=meta)
        self.assertEqual(e.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)

    def test_times_out_of_range_are_refused_not_crashed_on(self):
        """A Timestamp of +-2^62 seconds (seconds * 10^6 overflows int64) is
        INVALID_ARGUMENT naming the field, in every method, before any
        handler arithmetic; the API (ASan + UBSan here) stays up."""
        rk = self.rk
        for sec in (2 ** 62, -(2 ** 62), 253402300800):
            t = rk.msg("google.protobuf.Timestamp", seconds=sec)
            calls = [
                ("ProfileService", "RunProfiling",
                 rk.msg("rekindle.v1.RunProfilingRequest", as_of=t), "as_of"),
                ("CampaignService", "CreateCampaign", rk.msg(
                    "rekindle.v1.CreateCampaignRequest", campaign=rk.msg(
                        "rekindle.v1.Campaign", campaign_id="TS-C", start_time=t)),
                 "campaign.start_time"),
                (C, "ListCustomers", rk.msg("rekindle.v1.ListCustomersRequest",
                                            updated_after=t), "updated_after"),
                (C, "ListTransactions", rk.msg("rekindle.v1.ListTransactionsRequest",
                                               customer_id="X", occurred_after=t),
                 "occurred_after"),
                (C, "UpsertPromotions", rk.msg(
                    "rekindle.v1.UpsertPromotionsRequest", promotions=[rk.msg(
                        "rekindle.v1.Promotion", promotion_id="P", start_time=t)]),
                 "promotions[0].start_time"),
                ("EngagementService", "RecordEvents", rk.msg(
                    "rekindle.v1.RecordEventsRequest", events=[rk.msg(
                        "rekindle.v1.Event", event_id="e", type=3, token="1.x",
                        time=t)]), "events[0].time"),
                ("EngagementService", "RecordDeliveryReceipts", rk.msg(
                    "rekindle.v1.RecordDeliveryReceiptsRequest", receipts=[rk.msg(
                        "rekindle.v1.DeliveryReceipt", tracking_id="a:b:0:sms",
                        channel=2, delivery_time=t)]), "receipts[0].delivery_time"),
                ("OfferService", "CreateOffer", rk.msg(
                    "rekindle.v1.CreateOfferRequest", offer=rk.msg(
                        "rekindle.v1.Offer", offer_id="TS-O", valid_from=t)),
                 "offer.valid_from"),
            ]
            for svc, method, req, field in calls:
                svc = svc if svc.startswith("rekindle.") else "rekindle.v1." + svc
                with self.assertRaises(grpc.RpcError) as e:
                    rk.call(svc, method, req)
                self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT,
                                 method)
                self.assertIn(field, bad_request(e.exception), method)
        self.assertTrue(rk.serving())

    def txn(self, tid, cid, amount=150000, t=None, currency="VND"):
        rk = self.rk
        ts = rk.msg("google.protobuf.Timestamp", seconds=t or int(time.time()) - 86400)
        return rk.msg("rekindle.v1.Transaction", transaction_id=tid, customer_id=cid,
                      occurred_at=ts, amount_minor=amount, currency=currency, mcc=5411,
                      merchant_id="M1", merchant_name="TIKI", channel="ecom")

    def test_ingest_counts_duplicates_rejections_and_profiles(self):
        rk = self.rk
        batch1 = rk.msg("rekindle.v1.IngestTransactionsRequest", transactions=[
            self.txn("T1", "ING-1", 100000, int(time.time()) - 10 * 86400),
            self.txn("T2", "ING-1", 50000),
            self.txn("T2", "ING-1", 50000),                   # repeat in message
            self.txn("T3", "ING-2", 70000),
            self.txn("", "ING-2"),                            # no id
            self.txn("T4", "ING-2", currency="vnd")])         # bad currency
        batch2 = rk.msg("rekindle.v1.IngestTransactionsRequest", transactions=[
            self.txn("T3", "ING-2", 70000),                   # repeat across messages
            self.txn("T5", "ING-2", 30000, t=int(time.time()) + 7 * 86400)])  # future
        r = rk.call(C, "IngestTransactions", [batch1, batch2])
        self.assertEqual((r.accepted, r.duplicate, r.rejected), (3, 2, 3))
        self.assertEqual({x.field for x in r.rejections},
                         {"transaction_id", "currency", "occurred_at"})
        self.assertEqual([x.index for x in r.rejections], [4, 5, 7])
        again = rk.call(C, "IngestTransactions", [batch1])
        self.assertEqual((again.accepted, again.duplicate), (0, 4))
        self.assertEqual(rk.db.sql("SELECT count(*) FROM rekindle.transactions "
                                   "WHERE customer_id LIKE 'ING-%'"), "3")

        def profiled():
            # ING-1 is known only from its transactions: the profiler
            # creates its customer row, so NOT_FOUND means "not yet".
            try:
                c = rk.call(C, "GetCustomer", rk.msg("rekindle.v1.GetCustomerRequest",
                                                     customer_id="ING-1"))
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.NOT_FOUND:
                    raise
                return None
            return c if c.HasField("profile") else None
        c = wait_until(profiled, 20, "profile of ING-1")
        self.assertEqual(c.profile.transaction_count, 2)
        self.assertEqual(c.profile.total_spend_minor, 150000)
        self.assertEqual(c.profile.currency, "VND")
        self.assertEqual(c.profile.days_since_last_transaction.value, 1)

    def test_stream_with_a_malformed_message_fails_cleanly(self):
        rk = self.rk
        good = rk.msg("rekindle.v1.IngestTransactionsRequest",
                      transactions=[self.txn("MAL-1", "MAL-C")]).SerializeToString()
        f = rk.channel.stream_unary("/rekindle.v1.CustomerService/IngestTransactions")
        with self.assertRaises(grpc.RpcError) as e:
            f(iter([good, b"\xff\xff\xff", good, good]), timeout=10,
              metadata=[("authorization", "Bearer " + ADMIN)])
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        # Each message is its own transaction: the first one stays written.
        self.assertEqual(rk.db.sql("SELECT count(*) FROM rekindle.transactions "
                                   "WHERE txn_id = 'MAL-1'"), "1")
        self.assertTrue(rk.serving())

    def test_promotions_are_editable_and_used_by_profiles(self):
        rk, now = self.rk, int(time.time())
        ts = lambda s: rk.msg("google.protobuf.Timestamp", seconds=s)
        promo = lambda pid, frm, to, **kw: rk.msg(
            "rekindle.v1.Promotion", promotion_id=pid, name="Flash sale",
            start_time=ts(frm), end_time=ts(to), **kw)
        req = lambda *p, **kw: rk.msg("rekindle.v1.UpsertPromotionsRequest",
                                      promotions=list(p), **kw)
        # Checked field by field; nothing is written.
        with self.assertRaises(grpc.RpcError) as e:
            rk.call(C, "UpsertPromotions", req(promo("bad id!", now, now - 1),
                                               promo("OK-1", now, now + 1, partner_id="tiki")))
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        v = bad_request(e.exception)
        for f in ("promotions[0].promotion_id", "promotions[0].end_time",
                  "promotions[1].partner_id"):
            self.assertIn(f, v)
        with self.assertRaises(grpc.RpcError) as e:
            rk.call(C, "UpsertPromotions", req(promo("OK-1", now, now + 1, partner_id="NOPE"),
                                               promo("OK-2", now, now + 1, category="casino")))
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("promotions[0].partner_id", bad_request(e.exception))
        self.assertIn("promotions[1].category", bad_request(e.exception))
        self.assertEqual(rk.db.sql("SELECT count(*) FROM rekindle.promotions "
                                   "WHERE promotion_id LIKE 'OK-%'"), "0")
        # A TIKI sale over the last two hours: of the customer's two TIKI
        # purchases, the one inside it counts as promotion-driven.
        for _ in range(2):      # a retried request_id changes nothing
            r = rk.call(C, "UpsertPromotions", req(
                promo("TIKI-FLASH", now - 7200, now + 3600, partner_id="TIKI"),
                request_id="promo-1"))
            self.assertEqual(r.upserted, 1)
        listed = rk.call(C, "ListPromotions", rk.msg("rekindle.v1.ListPromotionsRequest"))
        got = {p.promotion_id: p for p in listed.promotions}
        self.assertEqual((got["TIKI-FLASH"].partner_id, got["TIKI-FLASH"].end_time.seconds),
                         ("TIKI", now + 3600))
        rk.call(C, "IngestTransactions", [rk.msg(
            "rekindle.v1.IngestTransactionsRequest", transactions=[
                self.txn("PR-IN", "PR-CUST", 100000, now - 3600),
                self.txn("PR-OUT", "PR-CUST", 300000, now - 10 * 86400)])])
        out = rk.ctl("profiles", "run")
        self.assertIn("done: ok", out.stdout, out.stderr)
        prof = rk.call("rekindle.v1.ProfileService", "GetProfile",
                       rk.msg("rekindle.v1.GetProfileRequest", customer_id="PR-CUST"))
        self.assertAlmostEqual(prof.promo_spend_share, 0.25, places=3)
        rk.call(C, "DeletePromotion", rk.msg("rekindle.v1.DeletePromotionRequest",
                                             promotion_id="TIKI-FLASH"))
        with self.assertRaises(grpc.RpcError) as e:
            rk.call(C, "DeletePromotion", rk.msg("rekindle.v1.DeletePromotionRequest",
                                                 promotion_id="TIKI-FLASH"))
        self.assertEqual(e.exception.code(), grpc.StatusCode.NOT_FOUND)
        rk.ctl("profiles", "run")
        prof = rk.call("rekindle.v1.ProfileService", "GetProfile",
                       rk.msg("rekindle.v1.GetProfileRequest", customer_id="PR-CUST"))
        self.assertEqual(prof.promo_spend_share, 0.0)

    def test_partners_are_editable_and_used_by_profiles(self):
        rk = self.rk
        bad = rk.msg("rekindle.v1.UpsertPartnersRequest", partners=[
            rk.msg("rekindle.v1.Partner", partner_id="highlands", display_name="")])
        with self.assertRaises(grpc.RpcError) as e:
            rk.call(C, "UpsertPartners", bad)
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("partners[0].partner_id", bad_request(e.exception))
        self.assertIn("partners[0].display_name", bad_request(e.exception))
        rk.call(C, "UpsertPartners", rk.msg(
            "rekindle.v1.UpsertPartnersRequest", request_id="p-1", partners=[
                rk.msg("rekindle.v1.Partner", partner_id="HIGHLANDS",
                       display_name="Highlands Coffee", merchant_ids=["M-HLC-7"],
                       merchant_name_prefixes=["highlands"])]))
        listed = rk.call(C, "ListPartners", rk.msg("rekindle.v1.ListPartnersRequest"))
        by_id = {p.partner_id: p for p in listed.partners}
        self.assertIn("TIKI", by_id)
        self.assertEqual(list(by_id["HIGHLANDS"].merchant_name_prefixes), ["HIGHLANDS"])
        self.assertEqual(list(by_id["HIGHLANDS"].merchant_ids), ["M-HLC-7"])
        rk.call(C, "IngestTransactions", [rk.msg(
            "rekindle.v1.IngestTransactionsRequest", transactions=[
                self.txn("HL-%d" % i, "HL-CUST", 60000) for i in range(3)])])
        out = rk.ctl("profiles", "run")
        self.assertIn("done: ok", out.stdout, out.stderr)
        prof = rk.call("rekindle.v1.ProfileService", "GetProfile",
                       rk.msg("rekindle.v1.GetProfileRequest", customer_id="HL-CUST"))
        # self.txn uses merchant name "TIKI": the name prefix decides.
        self.assertEqual(prof.top_partners[0].key, "TIKI")
        rk.call(C, "IngestTransactions", [rk.msg(
            "rekindle.v1.IngestTransactionsRequest", transactions=[rk.msg(
                "rekindle.v1.Transaction", transaction_id="HL-X%d" % i,
                customer_id="HL-CUST", occurred_at=rk.msg(
                    "google.protobuf.Timestamp", seconds=int(time.time()) - 3600),
                amount_minor=900000, currency="VND", mcc=5814,
                merchant_id="M-HLC-7", merchant_name="Cafe 7")
                for i in range(4)])])
        rk.ctl("profiles", "run")
        prof = rk.call("rekindle.v1.ProfileService", "GetProfile",
                       rk.msg("rekindle.v1.GetProfileRequest", customer_id="HL-CUST"))
        self.assertEqual(prof.top_partners[0].key, "HIGHLANDS")
        self.assertEqual(prof.top_categories[0].key, "dining")

    def test_rekindlectl_import_get_and_tokens(self):
        rk = self.rk
        path = os.path.join(rk.tmp, "t.csv")
        with open(path, "w") as f:
            f.write("transaction_id,customer_id,occurred_at,amount_minor,currency,mcc,"
                    "merchant_id,merchant_name,channel\n")
            for i in range(12000):
                f.write("CSV-%d,CTL-%d,2024-03-0%d 10:00:00,%d,VND,5812,M%d,"
                        "\"Phở, Hà Nội\",pos\n" % (i, i % 50, 1 + i % 9, 1000 + i, i % 7))
            f.write("CSV-bad,CTL-1,yesterday,5,VND,1,M,x,pos\n")
        out = rk.ctl("--json", "customers", "import", path)
        self.assertIn('"accepted":12000', out.stdout)
        self.assertIn('"unparsed":1', out.stdout)
        # CTL-* exist only through their transactions: the profiler gives
        # them a stub customer row with the profile.
        wait_until(lambda: '"transaction_count":240' in
                   rk.ctl("--json", "customers", "get", "CTL-3", check=False).stdout,
                   20, "CTL-3 profile")
        human = rk.ctl("customers", "get", "CTL-3").stdout
        self.assertIn("transactions           240", human)
        created = rk.ctl("tokens", "create", "svc-x", "--role", "service").stdout
        secret = created.strip().splitlines()[-1]
        self.assertIn("SERVING", rk.ctl("health", token=secret).stdout)
        listed = rk.ctl("tokens", "list").stdout
        self.assertIn("svc-x", listed)
        denied = rk.ctl("tokens", "list", token=secret, check=False)
        self.assertEqual(denied.returncode, 1)
        self.assertIn("PERMISSION_DENIED", denied.stderr)
        bad = rk.ctl("customers", "get", "bad id", check=False)
        self.assertIn("INVALID_ARGUMENT", bad.stderr)
        self.assertIn("customer_id", bad.stderr)


class ShutdownTest(unittest.TestCase):
    def test_sigterm_finishes_and_exits_cleanly(self):
        rk = Rekindle()
        try:
            self.assertTrue(rk.serving())
            code = rk.api.stop(signal.SIGTERM)
            self.assertEqual(code, 0)
            self.assertIn("API-EXIT", rk.logs())
        finally:
            rk.close()


class ResilienceTest(unittest.TestCase):
    def test_reconnects_after_database_restart(self):
        rk = Rekindle()
        try:
            req = rk.msg("rekindle.v1.UpsertCustomersRequest", customers=[
                rk.msg("rekindle.v1.Customer", customer_id="R-1")])
            rk.call(C, "UpsertCustomers", req)
            get = rk.msg("rekindle.v1.GetCustomerRequest", customer_id="R-1")
            subprocess.run([os.path.join(SRC, "tests/lib/pgcluster.sh"), "stop",
                            rk.db.dir], check=True)
            with self.assertRaises(grpc.RpcError) as e:
                rk.call(C, "GetCustomer", get)
            self.assertEqual(e.exception.code(), grpc.StatusCode.UNAVAILABLE)
            wait_until(lambda: not rk.serving(), 10, "health NOT_SERVING")
            subprocess.run([os.path.join(SRC, "tests/lib/pgcluster.sh"), "start",
                            rk.db.dir, str(rk.db.port)], check=True,
                           capture_output=True)
            # Every handler thread reconnects on its next call.
            for _ in range(20):
                self.assertEqual(rk.call(C, "GetCustomer", get).customer_id, "R-1")
            wait_until(rk.serving, 10, "health SERVING again")
        finally:
            rk.close()


class TlsTest(unittest.TestCase):
    def test_tls_and_mutual_tls(self):
        d = tempfile.mkdtemp(prefix="rk-tls-")
        ssl = lambda *a: subprocess.run(["openssl"] + list(a), check=True,
                                        capture_output=True, cwd=d)
        ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=rekindle-test-ca", "-keyout", "ca.key", "-out", "ca.pem")
        for name in ("server", "client"):
            ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                "-keyout", name + ".key", "-out", name + ".csr")
            with open(os.path.join(d, "ext"), "w") as f:
                f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
            ssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "2", "-extfile", "ext", "-out", name + ".pem")
        rd = lambda n: pathlib.Path(d, n).read_bytes()
        rk = Rekindle(api_opts=["-o", "tls_cert_file=%s/server.pem" % d,
                                "-o", "tls_key_file=%s/server.key" % d,
                                "-o", "tls_client_ca_file=%s/ca.pem" % d],
                      tls_check=True)
        try:
            h = rk.health_pb2
            plain = grpc.insecure_channel("127.0.0.1:%d" % rk.port)
            f = plain.unary_unary("/grpc.health.v1.Health/Check")
            with self.assertRaises(grpc.RpcError):
                f(b"", timeout=3)
            no_cert = grpc.secure_channel("127.0.0.1:%d" % rk.port,
                                          grpc.ssl_channel_credentials(rd("ca.pem")))
            with self.assertRaises(grpc.RpcError):
                no_cert.unary_unary("/grpc.health.v1.Health/Check")(b"", timeout=3)
            mtls = grpc.secure_channel("127.0.0.1:%d" % rk.port,
                                       grpc.ssl_channel_credentials(
                                           rd("ca.pem"), rd("client.key"), rd("client.pem")))
            r = mtls.unary_unary("/grpc.health.v1.Health/Check",
                                 response_deserializer=h.HealthCheckResponse.FromString)(
                b"", timeout=5)
            self.assertEqual(r.status, h.HealthCheckResponse.SERVING)
        finally:
            rk.close()
            shutil.rmtree(d, ignore_errors=True)


class IsolationTest(unittest.TestCase):
    """A slow query holds one handler thread, never the server; a call's
    deadline also ends its query on the server."""

    def test_slow_query_does_not_stall_other_calls(self):
        rk = Rekindle(api_opts=["-o", "handler_threads=2"])
        try:
            rk.call(C, "UpsertCustomers", rk.msg("rekindle.v1.UpsertCustomersRequest",
                    customers=[rk.msg("rekindle.v1.Customer", customer_id="L-1")]))
            locker = subprocess.Popen(rk.db.psql() + [
                "-c", "BEGIN; LOCK rekindle.customers IN ACCESS EXCLUSIVE MODE; "
                "SELECT pg_sleep(8); COMMIT;"], stdout=subprocess.DEVNULL)
            wait_until(lambda: rk.db.sql("SELECT count(*) FROM pg_locks WHERE "
                                         "relation = 'rekindle.customers'::regclass "
                                         "AND mode = 'AccessExclusiveLock'") == "1", 10,
                       "lock held")
            get = rk.msg("rekindle.v1.GetCustomerRequest", customer_id="L-1")
            # One call stuck behind the lock, with a 1.5 s deadline ...
            stuck = rk.channel.unary_unary(
                "/rekindle.v1.CustomerService/GetCustomer",
                request_serializer=lambda m: m.SerializeToString()).future(
                get, timeout=1.5, metadata=[("authorization", "Bearer " + ADMIN)])
            waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            wait_until(lambda: rk.db.sql(waiting) == "1", 5, "the call waiting on the lock")
            # ... holds one handler thread; the other serves everyone else.
            t = time.time()
            for _ in range(10):
                rk.call(A, "ListTokens", rk.msg("rekindle.v1.ListTokensRequest"))
            self.assertLess(time.time() - t, 1.0)
            self.assertEqual(stuck.exception().code(), grpc.StatusCode.DEADLINE_EXCEEDED)
            # The server gave up at the deadline too: its statement is
            # cancelled while the lock is still held.
            wait_until(lambda: rk.db.sql(waiting) == "0", 2, "statement cancelled")
            self.assertIsNone(locker.poll())
            self.assertIn("RPC-DEADLINE", rk.logs())
            locker.wait(20)
            self.assertEqual(rk.call(C, "GetCustomer", get).customer_id, "L-1")
        finally:
            rk.close()


if __name__ == "__main__":
    unittest.main()
