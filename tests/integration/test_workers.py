"""The profiler pool: shared work without doubles, and no loss under
SIGKILL (the lease runs out and another profiler finishes the job)."""
import signal, time, unittest

from harness import Rekindle, wait_until

C = "rekindle.v1.CustomerService"


def ingest(rk, prefix, messages, per_message=5):
    now = int(time.time()) - 3600
    reqs = []
    for m in range(messages):
        txns = [rk.msg("rekindle.v1.Transaction",
                       transaction_id="%s-%d-%d" % (prefix, m, k),
                       customer_id="%s-C%d" % (prefix, m),
                       occurred_at=rk.msg("google.protobuf.Timestamp", seconds=now - k),
                       amount_minor=1000 * (k + 1), currency="VND", mcc=5411)
                for k in range(per_message)]
        reqs.append(rk.msg("rekindle.v1.IngestTransactionsRequest", transactions=txns))
    return rk.call(C, "IngestTransactions", reqs)


class ProfilerPoolTest(unittest.TestCase):
    def test_two_profilers_share_jobs_and_none_runs_twice(self):
        rk = Rekindle()
        try:
            r = ingest(rk, "P", 120)
            self.assertEqual(r.accepted, 600)
            self.assertEqual(rk.db.sql("SELECT count(*) FROM rekindle.jobs "
                                       "WHERE queue = 'profile'"), "120")
            opts = ["-o", "debug_stall_ms=20", "-o", "worker_batch=4"]
            rk.start("rekindle-profiler", opts)
            rk.start("rekindle-profiler", opts)
            wait_until(lambda: rk.db.sql("SELECT count(*) FROM rekindle.jobs "
                                         "WHERE state <> 'done'") == "0", 60,
                       "all jobs done")
            self.assertEqual(rk.db.sql("SELECT max(attempt) FROM rekindle.jobs"), "1")
            self.assertEqual(rk.db.sql("SELECT count(DISTINCT locked_by) FROM "
                                       "rekindle.jobs"), "2")
            self.assertEqual(rk.db.sql("SELECT count(*), sum(txn_count), "
                                       "sum(total_spend_minor) FROM "
                                       "rekindle.customer_profiles"), "120|600|1800000")
        finally:
            rk.close()

    def test_sigkill_mid_job_loses_nothing(self):
        rk = Rekindle()
        try:
            ingest(rk, "K", 1)
            victim = rk.start("rekindle-profiler", ["-o", "debug_stall_ms=600000",
                                                    "-o", "lease_seconds=2"])
            pid = str(victim.p.pid)
            wait_until(lambda: rk.db.sql("SELECT locked_by FROM rekindle.jobs "
                                         "WHERE state = 'running'").endswith(":" + pid),
                       30, "victim holding the job")
            victim.p.send_signal(signal.SIGKILL)
            victim.p.wait()
            self.assertEqual(rk.db.sql("SELECT count(*) FROM "
                                       "rekindle.customer_profiles"), "0")
            rescuer = rk.start("rekindle-profiler", ["-o", "lease_seconds=2"])
            wait_until(lambda: rk.db.sql("SELECT state FROM rekindle.jobs") == "done",
                       30, "job finished by the rescuer")
            self.assertEqual(rk.db.sql("SELECT attempt, locked_by FROM rekindle.jobs"),
                             "2|rekindle-profiler@%s" %
                             rk.db.sql("SELECT locked_by FROM rekindle.jobs")
                             .split("@", 1)[1])
            self.assertTrue(rk.db.sql("SELECT locked_by FROM rekindle.jobs")
                            .endswith(":%d" % rescuer.p.pid))
            self.assertEqual(rk.db.sql("SELECT txn_count, job_id = (SELECT id FROM "
                                       "rekindle.jobs) FROM rekindle.customer_profiles"),
                             "5|t")
            self.assertIn("LEASE-REQUEUE", rk.logs())
        finally:
            rk.close()

    def test_wakeup_reaches_an_idle_profiler_fast(self):
        rk = Rekindle(profilers=1, profiler_opts=["-o", "poll_interval_ms=60000"])
        try:
            time.sleep(1.0)      # the profiler is now waiting on the bus
            t = time.time()
            ingest(rk, "W", 1)
            wait_until(lambda: rk.db.sql("SELECT count(*) FROM "
                                         "rekindle.customer_profiles") == "1", 10,
                       "profile written after the wake-up")
            self.assertLess(time.time() - t, 5.0)
        finally:
            rk.close()



class RecycleTest(unittest.TestCase):
    def test_worker_exits_cleanly_after_max_jobs(self):
        rk = Rekindle()
        try:
            ingest(rk, "M", 5)
            p = rk.start("rekindle-profiler", ["-o", "max_jobs=3", "-o", "worker_batch=1"])
            self.assertEqual(p.p.wait(30), 0)
            self.assertEqual(rk.db.sql("SELECT count(*) FROM rekindle.jobs "
                                       "WHERE state = 'done'"), "3")
            self.assertEqual(rk.db.sql("SELECT count(*) FROM rekindle.jobs "
                                       "WHERE state = 'available'"), "2")
            self.assertIn("WORKER-RECYCLE", rk.logs())
        finally:
            rk.close()


class ProfileCurrencyTest(unittest.TestCase):
    def test_spend_counts_in_the_customers_own_currency(self):
        """Spend in VND counts for a VND customer; a currency with no
        exchange rate stays as it was and does not count; a customer whose
        first purchase was in that currency has it as their own (the scan
        sends VND as NULL, the profiler reads it back as VND)."""
        rk = Rekindle(profilers=1)
        try:
            now = int(time.time()) - 3600
            txn = lambda i, c, at, amount, cur: rk.msg(
                "rekindle.v1.Transaction", transaction_id=i, customer_id=c,
                occurred_at=rk.msg("google.protobuf.Timestamp", seconds=at),
                amount_minor=amount, currency=cur, mcc=5411)
            rk.call(C, "IngestTransactions", [rk.msg(
                "rekindle.v1.IngestTransactionsRequest", transactions=[
                    txn("A1", "CUR-A", now - 300, 5000, "VND"),
                    txn("A2", "CUR-A", now - 200, 300, "EUR"),
                    txn("A3", "CUR-A", now - 100, 7000, "VND"),
                    txn("B1", "CUR-B", now - 300, 300, "EUR"),
                    txn("B2", "CUR-B", now - 100, 5000, "VND")])])
            wait_until(lambda: rk.db.sql("SELECT count(*) FROM "
                                         "rekindle.customer_profiles") == "2", 30,
                       "both customers profiled")
            self.assertEqual(rk.db.sql(
                "SELECT customer_id, currency, txn_count, total_spend_minor FROM "
                "rekindle.customer_profiles ORDER BY customer_id"),
                "CUR-A|VND|3|12000\nCUR-B|EUR|2|300")
        finally:
            rk.close()


if __name__ == "__main__":
    unittest.main()
