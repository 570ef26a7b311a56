"""Scale-out across hosts (issue 15): every process runs on a "host" of its
own - a Linux network namespace with its own loopback, ports and IPC - and
reaches PostgreSQL (on this machine) and the bus only over TCP. Two APIs,
each on its host; the profiler, campaigner and timer on a third; the ZNS
delivery pool on two more. A campaign is launched through the first API,
delivered by the pools on the other hosts while one of them is killed
mid-send, and its report read through the second API. Counted at the ZNS
double (which, like Zalo, takes a repeat as a new message): no message
twice, every message either taken or held as uncertain, and the report
through the other API agrees with what the double received."""
import signal, unittest

from harness import Doubles, Net, Rekindle, deliver_args, wait_until

K = "rekindle.v1.CampaignService"
ZNS = 3


class ScaleOutTest(unittest.TestCase):
    def setUp(self):
        self.net = Net(["api1", "api2", "workers", "zns1", "zns2"])
        try:
            self.rk = Rekindle(net=self.net, api_host="api1")
        except BaseException:
            self.net.close()
            raise

    def tearDown(self):
        self.rk.close()     # closes the net too

    def test_campaign_across_hosts_with_a_host_killed(self):
        rk, net = self.rk, self.net
        api2, ch2 = rk.add_api("api2")
        wait_until(lambda: rk.serving(), 30, "API 1")
        for name in ("rekindle-profiler", "rekindle-campaigner", "rekindle-timer"):
            rk.start(name, [], host="workers")
        # the doubles run here; the pools reach them at the bridge's address
        d = Doubles(rk)
        base = d.base.replace("127.0.0.1", net.gw)
        d.post("/_faults", {"channel": "zns", "rate": {"late": 1.0}, "late_ms": 150})
        pools = {h: rk.start("rekindle-deliver", deliver_args("zns", base, extra=[
            "-o", "lease_seconds=3", "-o", "provider_parallel=4", "-o", "deliver_batch=40"]),
            host=h) for h in ("zns1", "zns2")}
        wait_until(lambda: rk.logs().count('"WORKER-START"') >= 5, 30, "workers up")

        rk.load_synthetic(1200, 23, "2025-06-30")
        rk.profile_all("2025-06-30")
        rk.customers_at_midday()
        rk.db.sql("UPDATE rekindle.customers SET zalo_available = true")
        rk.create_fallback_offer()
        rk.call(K, "CreateCampaign", rk.msg("rekindle.v1.CreateCampaignRequest",
                campaign=rk.msg("rekindle.v1.Campaign", campaign_id="HOSTS", name="Hosts",
                                fallback_offer_id="BACK", channel_order=[ZNS],
                                audience=rk.msg("rekindle.v1.AudienceRule", states=[4]))))
        rk.call(K, "LaunchCampaign", rk.msg("rekindle.v1.LaunchCampaignRequest",
                                            campaign_id="HOSTS"))
        total = lambda: int(rk.db.sql("SELECT count(*) FROM rekindle.messages WHERE "
                                      "campaign_id = 'HOSTS' AND step = 0") or 0)
        wait_until(lambda: total() > 50, 60, "first messages")
        # both delivery hosts work; then one dies mid-send
        host_of = lambda: dict(l.split("|") for l in rk.db.sql(
            "SELECT host(client_addr), count(*) FROM pg_stat_activity WHERE "
            "application_name LIKE 'rekindle-deliver%' GROUP BY 1").splitlines())
        wait_until(lambda: int(rk.db.sql("SELECT count(*) FROM rekindle.messages WHERE "
                                         "campaign_id = 'HOSTS' AND state = 'sent'")) > 20,
                   60, "sends under way")
        self.assertEqual(set(host_of()), {net.ip["zns1"], net.ip["zns2"]})
        self.assertEqual(int(rk.db.sql("SELECT count(*) FROM pg_stat_activity WHERE "
                                       "client_addr IS NULL AND application_name LIKE "
                                       "'rekindle-%'")), 0, "every process over TCP")
        pools["zns1"].p.send_signal(signal.SIGKILL)
        pools["zns1"].p.wait()
        # the other host settles the dead one's attempts and finishes
        wait_until(lambda: rk.db.sql(
            "SELECT count(*) FROM rekindle.messages WHERE campaign_id = 'HOSTS' AND "
            "(state IN ('queued', 'sending') OR (state = 'uncertain' AND resend))") == "0",
            120, "the campaign delivered by the surviving host")

        keys = {k["key"]: k["count"] for k in d.get("/_keys/zns")}
        rows = [l.split("|") for l in rk.db.sql(
            "SELECT idempotency_key, state FROM rekindle.messages WHERE campaign_id = "
            "'HOSTS'").splitlines()]
        sent = [k for k, s in rows if s == "sent"]
        uncertain = [k for k, s in rows if s == "uncertain"]
        self.assertEqual([k for k, n in keys.items() if n > 1], [], "a message taken twice")
        self.assertTrue(all(k in keys for k in sent), "recorded sent, never taken")
        self.assertEqual(len(sent) + len(uncertain), len(rows))
        self.assertEqual(set(keys) - set(sent) - set(uncertain), set())
        # the report, read through the other API
        with rk.via(ch2):
            stats = rk.call(K, "GetCampaignStats", rk.msg("rekindle.v1.GetCampaignStatsRequest",
                                                          campaign_id="HOSTS"))
        self.assertEqual(stats.sent, len(sent))
        self.assertEqual(stats.uncertain, len(uncertain))
        self.assertGreaterEqual(len(keys), stats.sent)
        print("\nscale-out: %d messages over 2 delivery hosts, one killed: %d sent, "
              "%d uncertain (held), %d taken by the double, 0 twice"
              % (len(rows), len(sent), len(uncertain), len(keys)))


if __name__ == "__main__":
    unittest.main()
