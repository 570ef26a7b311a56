"""Integration harness: a throwaway PostgreSQL cluster, real rekindle
processes, and a gRPC client (Debian's python3-grpcio) that learns every
rekindle message type through server reflection, with no local .proto
files. Only the reflection and health protos come from Debian's
grpc-proto package, compiled here with protoc.

The cluster must start: if it cannot, the tests fail (never skip).
"""
import atexit, importlib, json, os, shutil, signal, socket, subprocess, tempfile, time
import unittest
import urllib.request

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

BIN = os.environ.get("RK_BIN", os.path.abspath("../../build/bin"))
SRC = os.environ.get("RK_SRC", os.path.abspath("../.."))
ADMIN = "it-admin-token-0123456789abcdef"
TRACKING_SECRET = "test-secret"

_gen = None
_scratch = None


def scratch():
    """This test process's own directory for what outlives one test (the
    compiled protos, the doubles' key files), removed when it exits: a
    service account's private key is not left behind in /tmp."""
    global _scratch
    if _scratch is None:
        _scratch = tempfile.mkdtemp(prefix="rk-test-")
        atexit.register(shutil.rmtree, _scratch, True)
    return _scratch


def grpc_protos():
    """Compiles Debian's reflection and health protos for Python once."""
    global _gen
    if _gen is None:
        _gen = tempfile.mkdtemp(prefix="pb-", dir=scratch())
        subprocess.run(["protoc", "-I/usr/share/grpc-proto", "--python_out=" + _gen,
                        "grpc/reflection/v1/reflection.proto",
                        "grpc/reflection/v1alpha/reflection.proto",
                        "grpc/health/v1/health.proto"], check=True)
        for d in ("grpc", "grpc/reflection", "grpc/reflection/v1",
                  "grpc/reflection/v1alpha", "grpc/health", "grpc/health/v1"):
            open(os.path.join(_gen, d, "__init__.py"), "a").close()
        # A package named "grpc" would shadow grpcio: load by file path.
    return _gen


def load_gen(rel, name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(grpc_protos(), rel))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def http_get(addr, path):
    """(status, text) of GET http://addr/path; (0, "") if nothing answers."""
    import urllib.error
    try:
        with urllib.request.urlopen("http://%s%s" % (addr, path), timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return 0, ""


def wait_until(pred, timeout=30.0, what="condition"):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


class Cluster:
    """A private PostgreSQL cluster (tests/lib/pgcluster.sh); with listen,
    also over TCP on that address (url then names it: clients on other
    hosts reach it only so)."""

    def __init__(self, listen=None):
        self.dir = tempfile.mkdtemp(prefix="rk-pg-")
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        env = dict(os.environ, RK_PG_LISTEN=listen or "")
        out = subprocess.run([os.path.join(SRC, "tests/lib/pgcluster.sh"), "start",
                              self.dir, str(self.port)],
                             capture_output=True, text=True, env=env)
        if out.returncode != 0:
            raise RuntimeError("cannot start PostgreSQL: " + out.stderr)
        self.url = out.stdout.strip()
        if listen:
            self.url = "host=%s port=%d user=postgres dbname=rekindle" % (listen, self.port)

    def replica(self):
        """A streaming replica of this cluster (pg_basebackup -R, a hot
        standby on a port of its own): a Cluster to sql() and stop()."""
        r = Cluster.__new__(Cluster)
        r.dir = tempfile.mkdtemp(prefix="rk-pg-replica-")
        os.chmod(r.dir, 0o755)
        r.port = free_port()
        out = subprocess.run([os.path.join(SRC, "tests/lib/pgcluster.sh"), "replica",
                              self.dir, str(self.port), r.dir, str(r.port)],
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError("cannot start the replica: " + out.stderr)
        r.url = out.stdout.strip()
        return r

    def psql(self):
        """psql's command line for this cluster (-qAtX, stop on error)."""
        bindir = sorted(d for d in os.listdir("/usr/lib/postgresql"))[-1]
        return ["/usr/lib/postgresql/%s/bin/psql" % bindir, "-h", self.dir, "-p",
                str(self.port), "-U", "postgres", "-d", "rekindle", "-qAtX", "-v",
                "ON_ERROR_STOP=1"]

    def sql(self, q):
        out = subprocess.run(self.psql() + ["-c", q], capture_output=True, text=True,
                             check=True)
        return out.stdout.strip()

    def hold(self, q):
        """A session that has run q in an open transaction (a lock taken,
        say) and holds it until release() commits - or until the server
        goes down."""
        p = subprocess.Popen(self.psql(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
        p.stdin.write("BEGIN;\n%s;\nSELECT 'held';\n" % q)
        p.stdin.flush()
        if p.stdout.readline().strip() != "held":
            p.kill()
            raise RuntimeError("could not run " + q)

        class Held:
            def release(self):
                if p.poll() is None:
                    try:
                        p.stdin.write("COMMIT;\n")
                        p.stdin.close()
                    except BrokenPipeError:
                        pass
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
                p.stdout.close()
        return Held()

    def crash_restart(self):
        """pg_ctl restart -m immediate: the server dies as in a crash
        (every connection cut, nothing flushed) and recovers."""
        subprocess.run([os.path.join(SRC, "tests/lib/pgcluster.sh"), "crash", self.dir],
                       check=True, capture_output=True)

    def down(self):
        """pg_ctl stop -m immediate: the database is gone until up()."""
        subprocess.run([os.path.join(SRC, "tests/lib/pgcluster.sh"), "down", self.dir],
                       check=True, capture_output=True)

    def up(self):
        subprocess.run([os.path.join(SRC, "tests/lib/pgcluster.sh"), "up", self.dir],
                       check=True, capture_output=True)

    def stop(self):
        subprocess.run([os.path.join(SRC, "tests/lib/pgcluster.sh"), "stop", self.dir])
        shutil.rmtree(self.dir, ignore_errors=True)


class Net:
    """Hosts as Linux network namespaces (ip netns; root only) on one
    bridge: each host has its own loopback, IPC and ports and one address,
    and reaches the others and the bridge's own address (gw: this
    machine, where the database and the provider doubles run) only over
    TCP."""

    def __init__(self, hosts):
        tag = "rk%d" % (os.getpid() % 100000)
        self.br, self.ns, self.ip = tag + "br", {}, {}
        net = "10.213.%d" % (os.getpid() % 250)
        self.gw = net + ".1"
        self._run("ip", "link", "add", self.br, "type", "bridge")
        self._run("ip", "addr", "add", self.gw + "/24", "dev", self.br)
        self._run("ip", "link", "set", self.br, "up")
        for i, h in enumerate(hosts):
            ns, a, b = "%s%s" % (tag, h), "%sa%d" % (tag, i), "%sb%d" % (tag, i)
            self.ns[h], self.ip[h] = ns, "%s.%d" % (net, 11 + i)
            self._run("ip", "netns", "add", ns)
            self._run("ip", "link", "add", a, "type", "veth", "peer", "name", b)
            self._run("ip", "link", "set", a, "master", self.br, "up")
            self._run("ip", "link", "set", b, "netns", ns)
            self._run("ip", "-n", ns, "addr", "add", self.ip[h] + "/24", "dev", b)
            self._run("ip", "-n", ns, "link", "set", b, "up")
            self._run("ip", "-n", ns, "link", "set", "lo", "up")
            self._run("ip", "-n", ns, "route", "add", "default", "via", self.gw)

    @staticmethod
    def _run(*cmd):
        subprocess.run(cmd, check=True, capture_output=True)

    def prefix(self, host):
        """Runs a program on host: ip netns exec execs it in place, so the
        process's pid is the program's own."""
        return ["ip", "netns", "exec", self.ns[host]]

    def close(self):
        for ns in self.ns.values():
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["ip", "link", "del", self.br], capture_output=True)


class Proc:
    def __init__(self, name, args, env, log, prefix=()):
        self.name, self.log = name, log
        self.f = open(log, "ab")
        self.p = subprocess.Popen(list(prefix) + [os.path.join(BIN, name)] + args, env=env,
                                  stdout=self.f, stderr=subprocess.STDOUT)

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.p.poll() is None:
            self.p.send_signal(sig)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.f.close()
        return self.p.returncode


def read_port(path):
    """The port a process wrote to path once listening (waits up to 10 s)."""
    def port():
        if not os.path.exists(path):
            return ""
        with open(path) as fh:
            return fh.read().strip()
    wait_until(port, 10, path)
    return port()


class Doubles:
    """The provider doubles (rkdouble) of a Rekindle: the HTTP base URL of
    the ZNS, SMS-gateway and FCM endpoints, the SMTP relay's URL, and
    their control endpoints (faults, stats, keys, delivery logs)."""

    def __init__(self, rk, args=()):
        pf = os.path.join(rk.tmp, "double.port")
        spf = os.path.join(rk.tmp, "double.smtp-port")
        self.proc = rk.start("rkdouble", ["--port-file", pf, "--smtp-port-file", spf] +
                             list(args))
        self.base = "http://127.0.0.1:%s" % read_port(pf)
        self.smtp = "smtp://127.0.0.1:%s" % read_port(spf)

    def post(self, path, body):
        req = urllib.request.Request(self.base + path, json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def get(self, path):
        with urllib.request.urlopen(self.base + path, timeout=30) as r:
            return json.loads(r.read())


_service_accounts = {}


def fcm_service_account(http_base):
    """The key file of the doubles' Firebase service account (gtoken.h),
    fetched once per double: push pools mint their FCM tokens with it."""
    if http_base not in _service_accounts:
        with urllib.request.urlopen(http_base + "/_fcm/service_account", timeout=30) as r:
            key = r.read()
        fd, path = tempfile.mkstemp(prefix="fcm-sa-", suffix=".json", dir=scratch())
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
        _service_accounts[http_base] = path
    return _service_accounts[http_base]


def deliver_args(ch, http_base, smtp_url="", extra=()):
    """rekindle-deliver's arguments for a pool of channel ch against the
    provider doubles (rkdouble) at http_base and smtp_url."""
    url = {"zns": http_base + "/zns/message/template", "sms": http_base + "/sms/send",
           "push": http_base + "/fcm/v1/projects/bank-vn/messages:send",
           "email": smtp_url}[ch]
    push = ["-o", "fcm_service_account=" + fcm_service_account(http_base)] if ch == "push" else []
    return ["--channel", ch, "-o", "provider_url=" + url] + push + [
            "-o", "email_from=uudai@bank.example",
            "-o", "zns_access_token=zns-token-1", "-o", "zns_refresh_token=zns-refresh-1",
            "-o", "zns_refresh_url=" + http_base + "/v4/oa/access_token",
            "-o", "zns_app_id=zns-app-1", "-o", "zns_secret_key=zns-secret-1",
            "-o", "sms_api_key=k", "-o", "sms_secret_key=s", "-o", "sms_brandname=BANK",
            "-o", "tracking_secret=" + TRACKING_SECRET, "-o", "poll_interval_ms=200",
            "-o", "sms_from_hour=0", "-o", "sms_until_hour=24"] + list(extra)


class Rekindle:
    """A database, an API and workers, with a reflection-driven client."""

    def __init__(self, api_opts=(), profilers=0, profiler_opts=(), tls_check=False,
                 campaigners=0, metrics=False, net=None, api_host=None):
        self.tmp = tempfile.mkdtemp(prefix="rk-it-")
        # metrics: every process started serves /metrics on a port of its
        # own, written to TMP/NAME-N.mport (metrics_port(name, n))
        self.metrics, self.started = metrics, {}
        # net: hosts (Net); the API runs on api_host, the database on the
        # bridge, and everything speaks TCP
        self.net, self.api_host = net, api_host
        self.db = Cluster(listen=net.gw if net else None)
        self.port = free_port()
        self.host = net.ip[api_host] if net else "127.0.0.1"
        self.bus = ("tcp://%s:%d" % (self.host, free_port()) if net else
                    "ipc://%s/bus.ipc" % self.tmp)
        self.env = dict(os.environ, REKINDLE_DATABASE_URL=self.db.url,
                        REKINDLE_ADMIN_TOKEN=ADMIN, REKINDLE_BUS_LISTEN=self.bus,
                        REKINDLE_BUS_CONNECT=self.bus,
                        REKINDLE_GRPC_LISTEN="%s:%d" % (self.host, self.port),
                        REKINDLE_TRACKING_SECRET=TRACKING_SECRET,
                        ASAN_OPTIONS="detect_leaks=1")
        self.procs = []
        self.api = self.start("rekindle-api", list(api_opts), host=api_host)
        self.channel = grpc.insecure_channel("%s:%d" % (self.host, self.port))
        self.health_pb2 = load_gen("grpc/health/v1/health_pb2.py", "rk_health_pb2")
        self.refl_pb2 = load_gen("grpc/reflection/v1/reflection_pb2.py", "rk_refl_pb2")
        if tls_check:
            # The API speaks only TLS: wait for its log line instead.
            wait_until(lambda: "API-LISTEN" in self.logs(), 30, "API listening")
        else:
            wait_until(self.serving, 30, "API health SERVING")
        self.pool = descriptor_pool.DescriptorPool()
        self.factory = message_factory.MessageFactory(self.pool)
        self._loaded = set()
        for i in range(profilers):
            self.start("rekindle-profiler", list(profiler_opts))
        for i in range(campaigners):
            self.start("rekindle-campaigner", [])
        # Pools that are up: each worker has said so.
        wait_until(lambda: self.logs().count('"WORKER-START"') >= profilers + campaigners,
                   30, "workers started")

    def start(self, name, args, host=None):
        n = self.started.get(name, 0)
        self.started[name] = n + 1
        if self.metrics and name.startswith("rekindle-"):
            args = list(args) + ["-o", "metrics_listen=127.0.0.1:0", "-o",
                                 "metrics_port_file=" + self.mport_file(name, n),
                                 "-o", "health_interval_ms=200"]
        p = Proc(name, args, self.env, os.path.join(self.tmp, name + ".log"),
                 self.net.prefix(host) if host else ())
        self.procs.append(p)
        return p

    def start_worker(self, name, args):
        """Starts a worker and waits until it says it is up (WORKER-START)."""
        n = self.logs().count('"WORKER-START"')
        p = self.start(name, args)
        wait_until(lambda: self.logs().count('"WORKER-START"') > n, 30, name + " started")
        return p

    def add_api(self, host=None, opts=()):
        """Another API (on host, or here), publishing wake-ups on a bus of
        its own that workers started from now on dial too; returns (its
        process, a channel to it)."""
        ip = self.net.ip[host] if host else "127.0.0.1"
        port = free_port()
        bus = ("tcp://%s:%d" % (ip, free_port()) if host else
               "ipc://%s/bus-%d.ipc" % (self.tmp, port))
        p = self.start("rekindle-api", ["-o", "grpc_listen=%s:%d" % (ip, port),
                                        "-o", "bus_listen=" + bus] + list(opts), host=host)
        self.env["REKINDLE_BUS_CONNECT"] += "," + bus
        ch = grpc.insecure_channel("%s:%d" % (ip, port))
        return p, ch

    def via(self, channel):
        """A context in which call() goes to the API behind channel."""
        rk = self

        class Via:
            def __enter__(self):
                self.saved, rk.channel = rk.channel, channel

            def __exit__(self, *exc):
                rk.channel = self.saved
        return Via()

    def mport_file(self, name, n=0):
        return os.path.join(self.tmp, "%s-%d.mport" % (name, n))

    def metrics_port(self, name, n=0):
        """The metrics port of the n-th process called name started."""
        return read_port(self.mport_file(name, n))

    def logs(self):
        out = ""
        for f in os.listdir(self.tmp):
            if f.endswith(".log"):
                with open(os.path.join(self.tmp, f), errors="replace") as fh:
                    out += fh.read()
        return out

    def serving(self):
        try:
            r = self.channel.unary_unary(
                "/grpc.health.v1.Health/Check",
                request_serializer=self.health_pb2.HealthCheckRequest.SerializeToString,
                response_deserializer=self.health_pb2.HealthCheckResponse.FromString)(
                self.health_pb2.HealthCheckRequest(), timeout=1)
            return r.status == self.health_pb2.HealthCheckResponse.SERVING
        except grpc.RpcError:
            return False

    # --- reflection ---
    def reflect(self, requests, version="v1"):
        pb2 = self.refl_pb2
        call = self.channel.stream_stream(
            "/grpc.reflection.%s.ServerReflection/ServerReflectionInfo" % version,
            request_serializer=pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=pb2.ServerReflectionResponse.FromString)
        return list(call(iter(requests), timeout=10))

    def load_symbol(self, symbol):
        if symbol in self._loaded:
            return
        pb2 = self.refl_pb2
        (resp,) = self.reflect([pb2.ServerReflectionRequest(file_containing_symbol=symbol)])
        if resp.HasField("error_response"):
            raise KeyError(symbol)
        protos = [descriptor_pb2.FileDescriptorProto.FromString(b)
                  for b in resp.file_descriptor_response.file_descriptor_proto]
        names = {p.name for p in protos}
        added = set()

        def add(p):
            if p.name in added:
                return
            for d in p.dependency:
                if d in names:
                    add(next(q for q in protos if q.name == d))
            try:
                self.pool.FindFileByName(p.name)
            except KeyError:
                self.pool.Add(p)
            added.add(p.name)
        for p in protos:
            add(p)
        self._loaded.add(symbol)

    def msg(self, _type, **kw):
        self.load_symbol(_type)
        cls = self.factory.GetPrototype(self.pool.FindMessageTypeByName(_type))
        return cls(**kw)

    def method(self, service, name):
        self.load_symbol(service)
        sd = self.pool.FindServiceByName(service)
        md = sd.FindMethodByName(name)
        return md, self.factory.GetPrototype(md.input_type), \
            self.factory.GetPrototype(md.output_type)

    def call(self, service, name, request, token=ADMIN, timeout=30, metadata=()):
        md, _, out = self.method(service, name)
        path = "/%s/%s" % (service, name)
        ser = lambda m: m.SerializeToString()
        meta = list(metadata) + ([("authorization", "Bearer " + token)] if token else [])
        if md.client_streaming:
            f = self.channel.stream_unary(path, request_serializer=ser,
                                          response_deserializer=out.FromString)
            return f(iter(request), timeout=timeout, metadata=meta)
        if md.server_streaming:     # every message of the stream, as a list
            f = self.channel.unary_stream(path, request_serializer=ser,
                                          response_deserializer=out.FromString)
            return list(f(request, timeout=timeout, metadata=meta))
        f = self.channel.unary_unary(path, request_serializer=ser,
                                     response_deserializer=out.FromString)
        return f(request, timeout=timeout, metadata=meta)

    def load_synthetic(self, customers, seed, as_of):
        """rkgen's bank-card customers and two years of their transactions
        up to as_of, imported through rekindlectl; returns rkgen's output
        directory (promotions.csv, truth.csv)."""
        out = os.path.join(self.tmp, "gen")
        subprocess.run([os.path.join(BIN, "rkgen"), "--customers", str(customers), "--seed",
                        str(seed), "--as-of", as_of, "--days", "730", "--out", out],
                       check=True, capture_output=True)
        for f in ("customers.csv", "transactions.csv"):
            self.ctl("customers", "import", os.path.join(out, f))
        return out

    def profile_all(self, as_of):
        """A full profiling run as of that date, waited for."""
        r = self.ctl("profiles", "run", "--as-of", as_of)
        assert "done: ok" in r.stdout, r.stdout + r.stderr

    def create_fallback_offer(self, offer_id="BACK", landing_url="https://bank.example/uu-dai",
                              sms_body="{name}: {offer}, HSD {expiry} {link}",
                              email_subject=None):
        """A 50,000 VND fallback offer valid for 30 days, with an SMS, a ZNS
        and a push template (and an e-mail one with email_subject): what a
        campaign falls back to in the tests."""
        now = int(time.time())
        ts = lambda s: self.msg("google.protobuf.Timestamp", seconds=s)
        self.call("rekindle.v1.OfferService", "CreateOffer", self.msg(
            "rekindle.v1.CreateOfferRequest", offer=self.msg(
                "rekindle.v1.Offer", offer_id=offer_id, title="Quà 50.000đ", kind=3,
                fallback=True, amount=self.msg("rekindle.v1.Money", amount_minor=50000,
                                               currency="VND"),
                valid_from=ts(now - 60), valid_until=ts(now + 86400 * 30),
                landing_url=landing_url, templates=[
                    self.msg("rekindle.v1.MessageTemplate", channel=2, body=sms_body),
                    self.msg("rekindle.v1.MessageTemplate", channel=3,
                             provider_template_id="231456"),
                    self.msg("rekindle.v1.MessageTemplate", channel=4,
                             subject="Quà cho {name}", body="{offer} - đến {expiry}")] +
                ([self.msg("rekindle.v1.MessageTemplate", channel=1, subject=email_subject,
                           body="Chào {name},\n{offer} dành cho bạn đến {expiry}: {link}")]
                 if email_subject else []))))

    def customers_at_midday(self):
        """Every customer lives where it is midday now, so that every send
        window and calling window is open whenever the test runs."""
        import datetime
        off = 12 - datetime.datetime.now(datetime.timezone.utc).hour
        off = off - 24 if off > 14 else off
        self.db.sql("UPDATE rekindle.customers SET time_zone = 'Etc/GMT%+d'" % -off)

    def queued_sms_campaign(self, campaign_id):
        """Launches a dormant-customer SMS campaign whose send window is
        closed where the customers live (Asia/Ho_Chi_Minh), so its first
        messages wait queued; returns once some are."""
        hour = (time.gmtime().tm_hour + 7 + 12) % 24
        K = "rekindle.v1.CampaignService"
        self.call(K, "CreateCampaign", self.msg("rekindle.v1.CreateCampaignRequest",
                  campaign=self.msg("rekindle.v1.Campaign", campaign_id=campaign_id,
                                    name="Chờ " + campaign_id, fallback_offer_id="BACK",
                                    channel_order=[2], send_window_start="%02d:00" % hour,
                                    send_window_end="%02d:30" % hour,
                                    audience=self.msg("rekindle.v1.AudienceRule",
                                                      states=[4]))))
        self.call(K, "LaunchCampaign", self.msg("rekindle.v1.LaunchCampaignRequest",
                                                campaign_id=campaign_id))
        wait_until(lambda: self.db.sql(
            "SELECT count(*) FROM rekindle.messages WHERE campaign_id = '%s' AND state = "
            "'queued'" % campaign_id) not in ("", "0"), 60, campaign_id + " queued")

    def settled(self, campaign_id, timeout=60):
        """Waits until none of the campaign's messages is waiting to go."""
        wait_until(lambda: self.db.sql(
            "SELECT count(*) FROM rekindle.messages WHERE campaign_id = '%s' AND "
            "state IN ('queued', 'sending') AND not_before <= now()" % campaign_id) == "0",
            timeout, campaign_id + " sent")

    def ctl(self, *args, token=ADMIN, check=True):
        env = dict(self.env, REKINDLE_ADDR="%s:%d" % (self.host, self.port),
                   REKINDLE_TOKEN=token or "")
        return subprocess.run([os.path.join(BIN, "rekindlectl")] + list(args), env=env,
                              capture_output=True, text=True, check=check, timeout=120)

    def close(self):
        """Stops everything; every process must have exited 0 (clean
        SIGTERM, no sanitizer or leak report) unless a test killed it."""
        self.channel.close()
        bad = []
        for p in reversed(self.procs):
            code = p.stop()
            if code not in (0, -9):
                with open(p.log, errors="replace") as fh:
                    bad.append("%s exited with %s; its log:\n%s" % (
                        p.name, code, fh.read()[-6000:]))
        self.db.stop()
        if self.net:
            self.net.close()
        if os.environ.get("RK_KEEP_LOGS"):    # for a look after a failure
            print("logs kept in", self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        if bad:
            raise AssertionError("\n".join(bad))


def bad_request(err):
    """The field violations of a google.rpc.BadRequest in the trailers."""
    md = dict(err.trailing_metadata() or ())
    raw = md.get("grpc-status-details-bin")
    if raw is None:
        return {}
    # google.rpc.Status and BadRequest decoded by hand from the wire format,
    # independently of the server's encoder.
    return decode_status(raw)


def _varint(b, i):
    v, s = 0, 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7f) << s
        s += 7
        if c < 0x80:
            return v, i


def _fields(b):
    i, out = 0, []
    while i < len(b):
        key, i = _varint(b, i)
        f, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(b, i)
        elif wt == 2:
            n, i = _varint(b, i)
            v, i = b[i:i + n], i + n
        else:
            raise ValueError("unexpected wire type")
        out.append((f, v))
    return out


def decode_status(raw):
    """google.rpc.Status -> {field: description} of its BadRequest."""
    viol = {}
    for f, v in _fields(raw):
        if f == 3:  # details: Any
            any_ = dict(_fields(v))
            if any_.get(1) == b"type.googleapis.com/google.rpc.BadRequest":
                for f2, fv in _fields(any_.get(2, b"")):
                    d = dict(_fields(fv))
                    viol[d[1].decode()] = d.get(2, b"").decode()
    return viol


class RekindleCase(unittest.TestCase):
    """A test class whose setUpClass makes cls.rk (a Rekindle): closed after
    the class, with sql() at hand."""
    rk = None

    @classmethod
    def tearDownClass(cls):
        if cls.rk is not None:
            cls.rk.close()

    def sql(self, q):
        return self.rk.db.sql(q)
