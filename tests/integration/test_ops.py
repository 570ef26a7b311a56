"""Operations on real processes (issue 15): every process - the API, the
tracker, the timer, the profiler, the campaigner and a delivery pool -
serves Prometheus text at /metrics and answers /healthz and /readyz on
its metrics port; the metrics an operator watches exist and move as a
campaign runs; /readyz turns 503 while the database is down and 200 when
it is back; the API answers NOT_SERVING while it drains; each RPC has one
access-log line with the request id the client sent, echoed back in the
response metadata and carried through the bus and the job into the
worker's log; and reflection alone is enough to decode an error's
google.rpc.BadRequest."""
import json, os, re, signal, unittest

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from harness import (ADMIN, Doubles, Rekindle, RekindleCase, deliver_args, http_get,
                     read_port, wait_until)

K = "rekindle.v1.CampaignService"
C = "rekindle.v1.CustomerService"
LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """Prometheus text format: {(name, ((label, value), ...)): value}, and
    {name: type}; checks every line is well formed on the way."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
            continue
        if not line or line.startswith("#"):
            continue
        m = LINE.match(line)
        assert m, "bad exposition line: %r" % line
        labels = tuple(sorted(LABEL.findall(m.group(3) or "")))
        samples[(m.group(1), labels)] = float(m.group(4))
    return samples, types


def total(samples, name, **want):
    """The sum of name's samples whose labels include want."""
    return sum(v for (n, ls), v in samples.items() if n == name and
               all((k, str(w)) in ls for k, w in want.items()))


def http(port, path):
    return http_get("127.0.0.1:%s" % port, path)


class OpsTest(RekindleCase):
    @classmethod
    def setUpClass(cls):
        cls.rk = rk = Rekindle(metrics=True, api_opts=["-o", "drain_delay_ms=1500"])
        for name in ("rekindle-profiler", "rekindle-campaigner", "rekindle-timer"):
            rk.start(name, [])
        cls.d = Doubles(rk)
        tf = os.path.join(rk.tmp, "tracker.port")
        rk.start("rekindle-tracker", ["-o", "tracker_port=0", "-o", "tracker_port_file=" + tf])
        cls.track = read_port(tf)
        rk.start("rekindle-deliver", deliver_args("sms", cls.d.base,
                                                  extra=["-o", "sms_per_day=0"]))
        cls.ports = {"api": rk.metrics_port("rekindle-api")}
        for name in ("rekindle-profiler", "rekindle-campaigner", "rekindle-timer",
                     "rekindle-tracker", "rekindle-deliver"):
            cls.ports[name] = rk.metrics_port(name)

    def scrape(self, who):
        status, text = http(self.ports[who], "/metrics")
        self.assertEqual(status, 200, who)
        return parse(text)

    def test_1_health_and_metrics_everywhere(self):
        for who, port in self.ports.items():
            self.assertEqual(http(port, "/healthz")[0], 200, who)
            wait_until(lambda: http(port, "/readyz")[0] == 200, 20, who + " ready")
            samples, types = self.scrape(who)
            self.assertGreater(total(samples, "rekindle_process_resident_memory_bytes"), 1e6,
                               who)
            self.assertEqual(total(samples, "rekindle_ready"), 1, who)
            self.assertIn("rekindle_db_connect_errors_total", types, who)
            # conventions: prefix, counters end in _total, no customer data
            for name, kind in types.items():
                self.assertTrue(name.startswith("rekindle_"), name)
                if kind == "counter":
                    self.assertTrue(name.endswith("_total"), name)
            self.assertEqual(http(port, "/nothing")[0], 404)
        # each kind of process shows its own families
        own = {"api": "rekindle_grpc_server_handled_total",
               "rekindle-profiler": "rekindle_profile_run_duration_seconds",
               "rekindle-timer": "rekindle_timer_lateness_seconds",
               "rekindle-deliver": "rekindle_queue_depth",
               "rekindle-campaigner": "rekindle_queue_depth",
               "rekindle-tracker": "rekindle_tracker_requests_total"}
        for who, family in own.items():
            wait_until(lambda: family in self.scrape(who)[1], 10, who + " " + family)

    def test_2_metrics_move_with_a_campaign(self):
        rk = self.rk
        rid = "ops-profile-run-1"
        rk.load_synthetic(200, 11, "2025-06-30")
        before = self.scrape("api")[0]
        # a profiling run under our request id: the id follows it into the
        # profiler's log through the bus and the job
        rk.call("rekindle.v1.ProfileService", "RunProfiling", rk.msg(
            "rekindle.v1.RunProfilingRequest", as_of=rk.msg(
                "google.protobuf.Timestamp", seconds=1751241600)),
            metadata=[("x-request-id", rid)])
        wait_until(lambda: rk.db.sql("SELECT count(*) FROM rekindle.profile_runs WHERE "
                                     "state = 'done'") == "1", 120, "profiling run")
        with open(os.path.join(rk.tmp, "rekindle-profiler.log")) as fh:
            self.assertIn('"req":"%s"' % rid, fh.read())
        # the run's fit job and every chunk it made carry the id
        self.assertGreater(int(rk.db.sql("SELECT count(*) FROM rekindle.jobs WHERE "
                                         "queue = 'profile' AND request_id = '%s'" % rid)), 1)
        prof = self.scrape("rekindle-profiler")[0]
        self.assertGreater(total(prof, "rekindle_profiles_written_total", kind="run"), 0)
        self.assertEqual(total(prof, "rekindle_jobs_total", queue="profile",
                               outcome="done") > 0, True)
        self.assertEqual(total(prof, "rekindle_profile_run_progress_ratio"), 1)
        after = self.scrape("api")[0]
        self.assertEqual(total(after, "rekindle_grpc_server_handled_total",
                               grpc_method="RunProfiling", grpc_code="OK") -
                         total(before, "rekindle_grpc_server_handled_total",
                               grpc_method="RunProfiling", grpc_code="OK"), 1)
        self.assertGreater(total(after, "rekindle_grpc_server_handling_seconds_count",
                                 grpc_method="RunProfiling"), 0)

        # a campaign through the SMS pool to the gateway double
        rk.customers_at_midday()
        rk.create_fallback_offer()
        rk.call(K, "CreateCampaign", rk.msg("rekindle.v1.CreateCampaignRequest",
                campaign=rk.msg("rekindle.v1.Campaign", campaign_id="OPS1", name="Ops",
                                fallback_offer_id="BACK", channel_order=[2],
                                audience=rk.msg("rekindle.v1.AudienceRule", states=[4]))))
        rk.call(K, "LaunchCampaign", rk.msg("rekindle.v1.LaunchCampaignRequest",
                                            campaign_id="OPS1"))
        wait_until(lambda: rk.db.sql("SELECT count(*) FROM rekindle.messages WHERE "
                                     "campaign_id = 'OPS1' AND state = 'sent'") not in
                   ("", "0"), 60, "sends")
        rk.settled("OPS1")
        sent = int(rk.db.sql("SELECT count(*) FROM rekindle.messages WHERE campaign_id = "
                             "'OPS1' AND state = 'sent'"))
        dl = self.scrape("rekindle-deliver")[0]
        self.assertEqual(total(dl, "rekindle_sends_total", channel="sms", outcome="sent"),
                         sent)
        self.assertEqual(total(dl, "rekindle_provider_request_seconds_count", channel="sms"),
                         total(dl, "rekindle_provider_replies_total", channel="sms"))
        self.assertGreaterEqual(total(dl, "rekindle_governor_decisions_total", channel="sms",
                                      verdict="allow"), sent)
        self.assertIn(("rekindle_queue_depth", (("channel", "sms"), ("queue", "deliver"))),
                      dl)
        camp = self.scrape("rekindle-campaigner")[0]
        self.assertGreater(total(camp, "rekindle_jobs_total", queue="campaign",
                                 outcome="done"), 0)
        # timers: reminders are pending, the gauge says so
        tm = self.scrape("rekindle-timer")[0]
        self.assertEqual(total(tm, "rekindle_timers_pending"),
                         float(rk.db.sql("SELECT count(*) FROM rekindle.timers WHERE "
                                         "state = 'pending'")))
        # the tracker counts by route, never by token
        http(self.track, "/t/not-a-token")
        tr = self.scrape("rekindle-tracker")
        self.assertGreater(total(tr[0], "rekindle_tracker_requests_total", route="click",
                                 code="404"), 0)
        self.assertNotIn("not-a-token", http(self.ports["rekindle-tracker"], "/metrics")[1])

    def test_2b_dashboard_and_rules_name_metrics_that_exist(self):
        """Every metric the Grafana dashboard and the alert rules query is
        one some process serves (after a campaign, so the labelled families
        have series)."""
        served = set()
        for who in self.ports:
            served |= set(self.scrape(who)[1])
        mon = os.path.join(os.environ.get("RK_SRC", "."), "deploy", "monitoring")
        with open(os.path.join(mon, "rekindle-rules.yml")) as fh:
            text = fh.read()
        with open(os.path.join(mon, "rekindle-dashboard.json")) as fh:
            for p in json.load(fh)["panels"]:
                text += "\n" + "\n".join(t["expr"] for t in p["targets"])
        named = set(re.findall(r"\b(rekindle_[a-z0-9_]+)", text))
        self.assertGreater(len(named), 15)
        for n in sorted(named):
            if n.startswith("rekindle_local_"):
                continue    # rekindle-local's own: test_launcher scrapes them
            base = re.sub(r"_(bucket|sum|count)$", "", n)
            self.assertTrue(n in served or base in served, "%s is not served" % n)

    def test_3_access_log_and_request_id(self):
        rk = self.rk
        name = "Nguyễn Thị Truy Cập"
        md, _, out = rk.method(C, "UpsertCustomers")
        call = rk.channel.unary_unary("/%s/UpsertCustomers" % C,
                                      request_serializer=lambda m: m.SerializeToString(),
                                      response_deserializer=out.FromString)
        req = rk.msg("rekindle.v1.UpsertCustomersRequest", customers=[rk.msg(
            "rekindle.v1.Customer", customer_id="OPS-C1", full_name=name,
            phone="0912345678")])
        _, c = call.with_call(req, metadata=[("authorization", "Bearer " + ADMIN),
                                             ("x-request-id", "ops-rid-42")], timeout=10)
        self.assertIn(("x-request-id", "ops-rid-42"), list(c.initial_metadata()))
        # a refused call too, and one without an id: the server makes one
        with self.assertRaises(grpc.RpcError) as err:
            rk.channel.unary_unary("/%s/GetCustomer" % C,
                                   request_serializer=lambda m: m.SerializeToString(),
                                   response_deserializer=out.FromString).with_call(
                rk.msg("rekindle.v1.GetCustomerRequest", customer_id="OPS-NOBODY"),
                metadata=[("authorization", "Bearer " + ADMIN)], timeout=10)
        self.assertEqual(err.exception.code(), grpc.StatusCode.NOT_FOUND)
        made = dict(err.exception.initial_metadata()).get("x-request-id")
        self.assertTrue(made)
        wait_until(lambda: made in rk.logs(), 5, "access line")
        with open(os.path.join(rk.tmp, "rekindle-api.log")) as fh:
            lines = [json.loads(l) for l in fh if '"ACCESS"' in l]
        mine = [l for l in lines if l.get("req") == "ops-rid-42"]
        self.assertEqual(len(mine), 1)
        a = mine[0]
        self.assertEqual(a["method"], "/rekindle.v1.CustomerService/UpsertCustomers")
        self.assertEqual(a["code"], "OK")
        self.assertEqual(a["role"], "admin")
        self.assertGreater(a["token_id"], 0)
        self.assertGreaterEqual(a["duration_ms"], 0)
        nf = [l for l in lines if l.get("req") == made]
        self.assertEqual([(l["method"].rsplit("/", 1)[1], l["code"]) for l in nf],
                         [("GetCustomer", "NOT_FOUND")])
        # one line per call, never a body
        self.assertNotIn(name, rk.logs())
        self.assertNotIn("912345678", rk.logs())
        self.assertEqual(len(lines), len(set((l["req"], l["ts"]) for l in lines)))

    def test_4_reflection_decodes_error_details(self):
        """A client with no copy of google/rpc/*.proto: every file it needs
        comes from reflection."""
        rk = self.rk
        pool = descriptor_pool.DescriptorPool()
        seen = set()

        def load(symbol=None, filename=None):
            resp = rk.reflect([rk.refl_pb2.ServerReflectionRequest(
                file_containing_symbol=symbol) if symbol else
                rk.refl_pb2.ServerReflectionRequest(file_by_filename=filename)])[0]
            self.assertTrue(resp.HasField("file_descriptor_response"), symbol or filename)
            files = [descriptor_pb2.FileDescriptorProto.FromString(b) for b in
                     resp.file_descriptor_response.file_descriptor_proto]
            by_name = {f.name: f for f in files}

            def add(f):
                if f.name in seen:
                    return
                for dep in f.dependency:
                    add(by_name[dep] if dep in by_name else load_file(dep))
                pool.Add(f)
                seen.add(f.name)
            for f in files:
                add(f)

        def load_file(name):
            load(filename=name)
            return None

        load(symbol="google.rpc.Status")
        load(symbol="google.rpc.BadRequest")
        factory = message_factory.MessageFactory(pool)
        Status = factory.GetPrototype(pool.FindMessageTypeByName("google.rpc.Status"))
        BadRequest = factory.GetPrototype(pool.FindMessageTypeByName("google.rpc.BadRequest"))
        with self.assertRaises(grpc.RpcError) as err:
            rk.call(C, "UpsertCustomers", rk.msg("rekindle.v1.UpsertCustomersRequest",
                    customers=[rk.msg("rekindle.v1.Customer", customer_id="OPS-BAD",
                                      phone="not a phone")]))
        raw = dict(err.exception.trailing_metadata())["grpc-status-details-bin"]
        st = Status.FromString(raw)
        self.assertEqual(st.code, grpc.StatusCode.INVALID_ARGUMENT.value[0])
        br = BadRequest()
        self.assertTrue(st.details[0].Unpack(br))
        self.assertTrue(any("phone" in v.field for v in br.field_violations))

    def test_5_readiness_follows_the_database(self):
        rk = self.rk
        port = self.ports["rekindle-timer"]
        wait_until(lambda: http(port, "/readyz")[0] == 200, 10, "ready")
        rk.db.down()
        try:
            wait_until(lambda: http(port, "/readyz")[0] == 503, 10, "not ready")
            self.assertIn("database", http(port, "/readyz")[1])
            self.assertEqual(http(port, "/healthz")[0], 200)  # alive all the same
            wait_until(lambda: total(self.scrape("api")[0], "rekindle_db_up") == 0, 10,
                       "api db down")
            self.assertFalse(rk.serving())
        finally:
            rk.db.up()
        for who, p in self.ports.items():
            wait_until(lambda: http(p, "/readyz")[0] == 200, 30, who + " ready again")
        wait_until(rk.serving, 10, "API SERVING again")
        self.assertGreater(total(self.scrape("rekindle-timer")[0],
                                 "rekindle_db_connect_errors_total"), 0)

    def test_9_api_drains_not_serving(self):
        """Last: stops the API."""
        rk = self.rk
        self.assertTrue(rk.serving())
        rk.api.p.send_signal(signal.SIGTERM)
        wait_until(lambda: not rk.serving(), 2, "NOT_SERVING while draining")
        self.assertIsNone(rk.api.p.poll())   # still there, draining
        self.assertEqual(http(self.ports["api"], "/readyz")[0], 503)
        rk.api.p.wait(30)
        self.assertEqual(rk.api.p.returncode, 0)


if __name__ == "__main__":
    unittest.main()
