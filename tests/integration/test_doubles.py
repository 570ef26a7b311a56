"""The provider doubles (tools/rkdouble) speak the real request and reply
shapes - Zalo ZNS, an eSMS-style brand-name SMS gateway, FCM HTTP v1 - keep
every idempotency key they accepted, and inject faults on demand. Checked
with plain HTTP from the standard library."""
import json, os, signal, subprocess, tempfile, time, unittest, urllib.error, urllib.request

from harness import BIN, wait_until


class DoubleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="rk-double-")
        pf = os.path.join(cls.tmp, "port")
        cls.log = open(os.path.join(cls.tmp, "double.log"), "wb")
        cls.p = subprocess.Popen([os.path.join(BIN, "rkdouble"), "--port-file", pf],
                                 stdout=cls.log, stderr=subprocess.STDOUT,
                                 env=dict(os.environ, ASAN_OPTIONS="detect_leaks=1"))
        wait_until(lambda: os.path.exists(pf) and open(pf).read().strip(), 10, "port")
        cls.base = "http://127.0.0.1:%s" % open(pf).read().strip()

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
        fresh = self.post("/zns/oa/access_token", {"refresh_token": "zns-refresh-1"})[2]
        self.assertEqual(send(fresh["access_token"], tid="y")[2]["error"], 0)

    def test_fcm_shape_and_injected_faults(self):
        send = lambda data: self.post("/fcm/v1/projects/bank/messages:send", {
            "message": {"token": "device-1", "notification": {"title": "Quà", "body": "x"},
                        "data": data}}, {"Authorization": "Bearer t"})
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
            {"Authorization": "Bearer t"})
        with self.assertRaises(Exception):
            urllib.request.urlopen(req, timeout=0.5)
        wait_until(lambda: self.get("/_stats")["fcm"]["accepted"] == 3, 5, "stalled send")
        stats = self.get("/_stats")["fcm"]
        self.assertEqual((stats["accepted"], stats["keys"]), (3, 3))


if __name__ == "__main__":
    unittest.main()
