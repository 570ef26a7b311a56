"""The provider doubles (tools/rkdouble) speak the real request and reply
shapes - Zalo ZNS, an eSMS-style brand-name SMS gateway, FCM HTTP v1, an
SMTP relay - keep every idempotency key they accepted, and inject faults on
demand. Checked with plain HTTP and smtplib from the standard library."""
import base64, json, os, signal, smtplib, socket, subprocess, tempfile, threading, time
import unittest
import urllib.error, urllib.parse, urllib.request

from harness import BIN, read_port, scratch, wait_until


class DoubleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="double-", dir=scratch())
        pf = os.path.join(cls.tmp, "port")
        sf = os.path.join(cls.tmp, "smtp-port")
        cls.log = open(os.path.join(cls.tmp, "double.log"), "wb")
        cls.p = subprocess.Popen([os.path.join(BIN, "rkdouble"), "--port-file", pf,
                                  "--smtp-port-file", sf],
                                 stdout=cls.log, stderr=subprocess.STDOUT,
                                 env=dict(os.environ, ASAN_OPTIONS="detect_leaks=1"))
        cls.base = "http://127.0.0.1:%s" % read_port(pf)
        cls.smtp_port = int(read_port(sf))

    @classmethod
    def tearDownClass(cls):
        cls.p.send_signal(signal.SIGTERM)
        code = cls.p.wait(10)
        cls.log.close()
        assert code == 0, open(os.path.join(cls.tmp, "double.log")).read()

    def post(self, path, body, headers=None):
        req = urllib.request.Request(self.base + path, json.dumps(body).encode(),
                                     dict({"Content-Type": "application/json"}, **(headers or {})))
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, dict(r.headers), json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), json.loads(e.read())

    def get(self, path):
        with urllib.request.urlopen(self.base + path, timeout=10) as r:
            return json.loads(r.read())

    def test_sms_request_id_is_the_idempotency_key(self):
        sms = lambda rid, content="[QC] Ưu đãi cho bạn": self.post("/sms/send", {
            "ApiKey": "k", "SecretKey": "s", "Brandname": "BANK", "Content": content,
            "Phones": ["0912345678"], "SmsType": "1", "RequestId": rid})
        self.assertEqual(sms("c1:S1:0:2")[2], {"CodeResult": "100", "SMSID": "c1:S1:0:2"})
        self.assertEqual(sms("c1:S1:0:2")[2]["CodeResult"], "124")   # duplicate
        self.assertEqual(sms("c1:S2:0:2", "Ưu đãi")[2]["CodeResult"], "99")  # no [QC]
        keys = {k["key"]: k["count"] for k in self.get("/_keys/sms")}
        self.assertEqual(keys, {"c1:S1:0:2": 2})
        self.assertEqual(self.get("/_messages/sms")[-1]["Content"], "[QC] Ưu đãi cho bạn")

    def test_zns_tokens_quota_and_missing_accounts(self):
        send = lambda token, phone="84912345678", tid="c1:S1:0:3": self.post(
            "/zns/message/template", {"phone": phone, "template_id": "231456",
                                      "template_data": {"name": "Lan"},
                                      "tracking_id": tid}, {"access_token": token})
        self.assertEqual(send("wrong")[2]["error"], -124)
        token = "zns-token-1"
        ok = send(token)[2]
        self.assertEqual(ok["error"], 0)
        self.assertEqual(ok["data"]["quota"]["dailyQuota"], "1000000")
        self.assertEqual(send(token, phone="0912345678")[2]["error"], -108)
        self.post("/_zns/no_account", {"phones": ["84900000001"]})
        self.assertEqual(send(token, phone="84900000001", tid="x")[2]["error"], -118)
        self.post("/_zns/expire_token", {})
        self.assertEqual(send(token, tid="y")[2]["error"], -220)
        # Zalo's refresh: a form for the app, its secret_key in a header
        refresh = lambda secret, **form: json.loads(urllib.request.urlopen(
            urllib.request.Request(self.base + "/v4/oa/access_token",
                                   urllib.parse.urlencode(form).encode(),
                                   {"secret_key": secret}), timeout=10).read())
        good = dict(app_id="zns-app-1", grant_type="refresh_token", refresh_token="zns-refresh-1")
        self.assertEqual(refresh("wrong", **good)["error"], -14002)
        self.assertEqual(refresh("zns-secret-1", **dict(good, refresh_token="x"))["error"],
                         -14014)
        fresh = refresh("zns-secret-1", **good)
        self.assertEqual(send(fresh["access_token"], tid="y")[2]["error"], 0)
        # the refresh token served once
        self.assertEqual(refresh("zns-secret-1", **good)["error"], -14014)

    def assertion(self, sa, key_pem=None, **claims):
        """A JWT for the service account sa, signed RS256 by the openssl
        command with its key (or key_pem); claims override the good ones."""
        b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=")
        now = int(time.time())
        c = dict({"iss": sa["client_email"], "aud": sa["token_uri"], "iat": now,
                  "exp": now + 3600, "scope": "https://www.googleapis.com/auth/firebase.messaging"},
                 **claims)
        signed = b".".join([b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode()),
                            b64(json.dumps(c).encode())])
        kf = os.path.join(self.tmp, "sa-key.pem")
        with open(kf, "w") as fh:
            fh.write(key_pem or sa["private_key"])
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", kf], input=signed,
                             capture_output=True, check=True).stdout
        return (signed + b"." + b64(sig)).decode()

    def mint(self, assertion):
        form = urllib.parse.urlencode({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                                       "assertion": assertion}).encode()
        req = urllib.request.Request(self.base + "/oauth2/token", form,
                                     {"Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def test_fcm_token_by_the_jwt_bearer_grant(self):
        """Google's checks: the key's signature, the account, the audience,
        the scope, an hour at most; FCM takes only a live minted token."""
        sa = self.get("/_fcm/service_account")
        self.assertEqual((sa["type"], sa["token_uri"]),
                         ("service_account", self.base + "/oauth2/token"))
        other = subprocess.run(["openssl", "genpkey", "-algorithm", "RSA"],
                               capture_output=True, check=True, text=True).stdout
        for bad, why in ((self.assertion(sa, key_pem=other), "Signature"),
                         (self.assertion(sa, aud="https://oauth2.googleapis.com/token"), "aud"),
                         (self.assertion(sa, scope="https://www.googleapis.com/auth/cloud"),
                          "scope"),
                         (self.assertion(sa, exp=int(time.time()) + 7200), "short-lived"),
                         (self.assertion(sa, iss="x@y"), "iss")):
            code, body = self.mint(bad)
            self.assertEqual((code, body["error"]), (400, "invalid_grant"), why)
            self.assertIn(why, body["error_description"])
        code, tok = self.mint(self.assertion(sa))
        self.assertEqual((code, tok["token_type"], tok["expires_in"]), (200, "Bearer", 3599))
        send = lambda bearer, tid: self.post("/fcm/v1/projects/bank/messages:send", {
            "message": {"token": "device-9", "data": {"tracking_id": tid}}},
            {"Authorization": "Bearer " + bearer})
        self.assertEqual(send("made-up", "g1")[0], 401)
        self.assertEqual(send(tok["access_token"], "g1")[0], 200)
        # an expired token, and a revoked one
        self.post("/_fcm/token_life", {"seconds": 1})
        short = self.mint(self.assertion(sa))[1]
        self.post("/_fcm/token_life", {"seconds": 3599})
        time.sleep(1.2)
        code, _, body = send(short["access_token"], "g2")
        self.assertEqual((code, body["error"]["status"]), (401, "UNAUTHENTICATED"))
        self.post("/_fcm/revoke_tokens", {})
        self.assertEqual(send(tok["access_token"], "g2")[0], 401)

    def test_fcm_shape_and_injected_faults(self):
        sa = self.get("/_fcm/service_account")
        bearer = "Bearer " + self.mint(self.assertion(sa))[1]["access_token"]
        send = lambda data: self.post("/fcm/v1/projects/bank/messages:send", {
            "message": {"token": "device-1", "notification": {"title": "Quà", "body": "x"},
                        "data": data}}, {"Authorization": bearer})
        self.assertEqual(send({"tracking_id": "f1", "offer": 5})[0], 400)  # not a string
        code, _, body = send({"tracking_id": "f1", "offer": "TIKI"})
        self.assertEqual((code, body["name"]), (200, "projects/bank/messages/f1"))
        self.post("/_faults", {"channel": "fcm", "http_500": 1, "http_429": 1, "retry_after": 3})
        self.assertEqual(send({"tracking_id": "f2"})[0], 500)
        code, headers, _ = send({"tracking_id": "f2"})
        self.assertEqual((code, headers.get("Retry-After")), (429, "3"))
        self.assertEqual(send({"tracking_id": "f2"})[0], 200)
        # A stall: the caller gives up, yet the message went.
        self.post("/_faults", {"channel": "fcm", "stalls": 1, "stall_ms": 1500})
        req = urllib.request.Request(
            self.base + "/fcm/v1/projects/bank/messages:send",
            json.dumps({"message": {"token": "d", "data": {"tracking_id": "f3"}}}).encode(),
            {"Authorization": bearer})
        with self.assertRaises(Exception):
            urllib.request.urlopen(req, timeout=0.5)
        wait_until(lambda: self.get("/_stats")["fcm"]["accepted"] == 3, 5, "stalled send")
        stats = self.get("/_stats")["fcm"]
        self.assertEqual((stats["accepted"], stats["keys"]), (3, 3))

    @staticmethod
    def mail(key, body="Chào bạn\r\n"):
        return ("From: uudai@bank.example\r\nTo: kh@example.com\r\nSubject: =?UTF-8?B?UXXDoA==?=\r\n"
                "Message-ID: <rk.%s@bank.example>\r\nMIME-Version: 1.0\r\n"
                "List-Unsubscribe: <https://bank.example/u>\r\nX-Rekindle-Key: %s\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n\r\n%s" % (key, key, body)).encode()

    def test_smtp_relay_pipelining_headers_duplicates_and_stalls(self):
        before = self.get("/_stats")["email"]
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=10) as s:
            self.assertIn("pipelining", s.ehlo()[1].decode().lower())
            s.sendmail("uudai@bank.example", ["kh@example.com"], self.mail("m1", ".chấm đầu dòng\r\n"))
            s.sendmail("uudai@bank.example", ["kh@example.com"], self.mail("m1"))  # a repeat
            with self.assertRaises(smtplib.SMTPDataError) as e:       # no X-Rekindle-Key
                s.sendmail("a@bank.example", ["kh@example.com"], b"Subject: x\r\n\r\nx\r\n")
            self.assertEqual(e.exception.smtp_code, 554)
        # dot-stuffing undone: the line kept its one leading dot
        first = [m for m in self.get("/_messages/email") if "rk.m1@" in m["message"]][0]
        self.assertIn("\r\n\r\n.chấm đầu dòng\r\n", first["message"])
        # every command of a message in one write (RFC 2920), replies in order
        c = socket.create_connection(("127.0.0.1", self.smtp_port), 10)
        f = c.makefile("rb")
        f.readline()
        c.sendall(b"EHLO t\r\nMAIL FROM:<a@bank.example>\r\nRCPT TO:<kh@example.com>\r\nDATA\r\n")
        replies = [f.readline()[:3] for _ in range(7)]
        self.assertEqual(replies, [b"250"] * 6 + [b"354"])
        c.sendall(self.mail("m2") + b".\r\nQUIT\r\n")
        self.assertEqual((f.readline()[:3], f.readline()[:3]), (b"250", b"221"))
        c.close()
        # a stalled reply holds its own connection only
        self.post("/_faults", {"channel": "email", "stalls": 1, "stall_ms": 1500})
        took = {}

        def slow():
            t = time.monotonic()
            with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=10) as s:
                s.sendmail("uudai@bank.example", ["kh@example.com"], self.mail("m3"))
            took["slow"] = time.monotonic() - t
        th = threading.Thread(target=slow)
        th.start()
        wait_until(lambda: self.get("/_stats")["email"]["keys"] == before["keys"] + 3, 5, "stalled mail")
        t = time.monotonic()
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=10) as s:
            s.sendmail("uudai@bank.example", ["kh@example.com"], self.mail("m4"))
        took["fast"] = time.monotonic() - t
        th.join()
        self.assertGreaterEqual(took["slow"], 1.4)
        self.assertLess(took["fast"], 1.0)
        after = self.get("/_stats")["email"]
        self.assertEqual((after["keys"] - before["keys"], after["duplicates"] - before["duplicates"],
                          after["rejected"] - before["rejected"]), (4, 1, 1))
        self.assertEqual({k["key"]: k["count"] for k in self.get("/_keys/email")}["m1"], 2)


if __name__ == "__main__":
    unittest.main()
