"""Reads off the primary (issue 15): a real streaming replica
(pg_basebackup -R, a hot standby) serves an API's heavy reads - List
calls, reports, exports - while it is at most read_max_staleness_ms behind
the primary; when its replay stops, the reads move to the primary within
that bound, and back once it has caught up. Writes always go to the
primary."""
import re, time, unittest

from harness import Rekindle, RekindleCase, http_get, wait_until

C = "rekindle.v1.CustomerService"
K = "rekindle.v1.CampaignService"
STALE_MS = 1500


def scrape(port):
    text = http_get("127.0.0.1:%s" % port, "/metrics")[1]
    out = {}
    for line in text.splitlines():
        m = re.match(r'^(\w+)(\{[^}]*\})? (\S+)$', line)
        if m:
            out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


class ReplicaTest(RekindleCase):
    @classmethod
    def setUpClass(cls):
        cls.rk = rk = Rekindle(metrics=True)
        cls.replica = rk.db.replica()
        cls.api2, cls.ch2 = rk.add_api(opts=[
            "-o", "database_read_url=" + cls.replica.url,
            "-o", "read_max_staleness_ms=%d" % STALE_MS])
        cls.mport = rk.metrics_port("rekindle-api", 1)

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.replica.stop()

    def ids(self):
        """The customers a List call through the second API returns."""
        with self.rk.via(self.ch2):
            r = self.rk.call(C, "ListCustomers", self.rk.msg("rekindle.v1.ListCustomersRequest",
                                                             page_size=1000))
        return {c.customer_id for c in r.customers}

    def upsert(self, cid):
        with self.rk.via(self.ch2):   # a write through the replica's API
            self.rk.call(C, "UpsertCustomers", self.rk.msg(
                "rekindle.v1.UpsertCustomersRequest", customers=[self.rk.msg(
                    "rekindle.v1.Customer", customer_id=cid, full_name="Replica " + cid)]))

    def test_reads_follow_the_replicas_staleness(self):
        rk, rep = self.rk, self.replica
        wait_until(lambda: scrape(self.mport).get("rekindle_replica_up") == 1, 30,
                   "replica fresh")
        self.upsert("REP-1")
        self.assertEqual(rk.db.sql("SELECT count(*) FROM rekindle.customers WHERE "
                                   "id = 'REP-1'"), "1")   # on the primary
        wait_until(lambda: "REP-1" in self.ids(), 10, "REP-1 replicated")
        m = scrape(self.mport)
        self.assertGreater(m.get('rekindle_reads_total{server="replica"}', 0), 0)
        self.assertIn("rekindle-api/read", rep.sql(
            "SELECT string_agg(DISTINCT application_name, ',') FROM pg_stat_activity"))
        # reports and exports are served there too
        before = scrape(self.mport).get('rekindle_reads_total{server="replica"}', 0)
        with rk.via(self.ch2):
            chunks = rk.call(C, "ExportCustomerData", rk.msg(
                "rekindle.v1.ExportCustomerDataRequest", customer_id="REP-1"))
        self.assertIn(b"Replica REP-1", b"".join(c.data for c in chunks))
        self.assertEqual(scrape(self.mport)['rekindle_reads_total{server="replica"}'],
                         before + 1)
        # the export's audit went to the primary
        self.assertEqual(rk.db.sql("SELECT count(*) FROM rekindle.audit_events WHERE "
                                   "resource_id = 'REP-1' AND action = 'export'"), "1")

        # replay stops: reads stay on the replica (stale by less than the
        # bound), then move to the primary once it is too far behind
        rep.sql("SELECT pg_wal_replay_pause()")
        self.upsert("REP-2")
        t0 = time.time()
        self.assertNotIn("REP-2", self.ids())
        wait_until(lambda: "REP-2" in self.ids(), 10, "reads moved to the primary")
        took = time.time() - t0
        self.assertLess(took, STALE_MS / 1000 + 2.0)
        m = scrape(self.mport)
        self.assertEqual(m["rekindle_replica_up"], 0)
        self.assertGreater(m["rekindle_replica_staleness_seconds"], STALE_MS / 1000)
        self.assertGreater(m.get('rekindle_reads_total{server="primary"}', 0), 0)
        self.assertIn("REPLICA-STALE", rk.logs())
        # replay resumes: back to the replica
        rep.sql("SELECT pg_wal_replay_resume()")
        wait_until(lambda: scrape(self.mport).get("rekindle_replica_up") == 1, 15,
                   "replica fresh again")
        before = scrape(self.mport)['rekindle_reads_total{server="replica"}']
        self.assertIn("REP-2", self.ids())
        self.assertGreater(scrape(self.mport)['rekindle_reads_total{server="replica"}'],
                           before)
        print("\nreplica: replay paused, reads on the primary %.1f s later (bound %.1f s)"
              % (took, STALE_MS / 1000))


if __name__ == "__main__":
    unittest.main()
