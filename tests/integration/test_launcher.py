"""rekindle-local: a private cluster, the API and the pools from one
command; a dead worker is restarted; Ctrl-C stops everything. Fed with the
real UCI Online Retail data through the demo's converter and rekindlectl."""
import csv, os, shutil, signal, subprocess, tempfile, time, unittest

from harness import BIN, SRC, free_port, wait_until


def children(pid):
    out = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(pid)],
                         capture_output=True, text=True).stdout
    return [l.split(None, 1) for l in out.strip().splitlines() if l.strip()]


class LauncherTest(unittest.TestCase):
    def test_local_run_with_real_data(self):
        state = tempfile.mkdtemp(prefix="rk-local-")
        os.chmod(state, 0o755)
        port = free_port()
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1")
        env.pop("REKINDLE_DATABASE_URL", None)
        log = open(os.path.join(state, "local.log"), "wb")
        p = subprocess.Popen([os.path.join(BIN, "rekindle-local"), "--state", state,
                              "--listen", "127.0.0.1:%d" % port, "--profilers", "2",
                              "--pg-port", str(free_port())],
                             env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            envfile = os.path.join(state, "env")
            wait_until(lambda: os.path.exists(envfile), 60, "launcher env file")
            with open(envfile) as fh:
                conf = dict(l.strip().split("=", 1) for l in fh)
            cenv = dict(env, REKINDLE_ADDR=conf["REKINDLE_ADDR"].strip("'"),
                        REKINDLE_TOKEN=conf["REKINDLE_TOKEN"].strip("'"))
            ctl = lambda *a: subprocess.run([os.path.join(BIN, "rekindlectl")] + list(a),
                                            env=cenv, capture_output=True, text=True)
            wait_until(lambda: ctl("health").stdout.strip() == "SERVING", 60, "health")

            data = os.path.join(state, "data")
            subprocess.run(["/usr/bin/python3", os.path.join(SRC, "deploy/demo/online_retail.py"),
                            os.path.join(SRC, "tests/fixtures/online-retail/online_retail.csv.gz"),
                            data], check=True, capture_output=True)
            out = ctl("customers", "import", os.path.join(data, "customers.csv"))
            self.assertIn("4372 created", out.stdout, out.stderr)
            out = ctl("customers", "import", os.path.join(data, "transactions.csv"))
            self.assertIn("22190 accepted, 0 duplicate, 0 rejected", out.stdout, out.stderr)
            # Customer 12347: 7 invoices, first 2010-12-07, last 2011-12-07.
            wait_until(lambda: '"transaction_count":7' in
                       ctl("--json", "customers", "get", "UK12347").stdout, 60,
                       "profile of UK12347")
            got = ctl("--json", "customers", "get", "UK12347").stdout
            self.assertIn('"first_transaction_time":"2010-12-07T14:57:00Z"', got)
            self.assertIn('"last_transaction_time":"2011-12-07T15:52:00Z"', got)

            kids = children(p.pid)
            prof = [int(k[0]) for k in kids if "rekindle-profiler" in k[1]]
            self.assertEqual(len(prof), 2)
            os.kill(prof[0], signal.SIGKILL)
            wait_until(lambda: len([k for k in children(p.pid)
                                    if "rekindle-profiler" in k[1]]) == 2
                       and prof[0] not in [int(k[0]) for k in children(p.pid)], 30,
                       "profiler restarted")
            p.send_signal(signal.SIGINT)
            self.assertEqual(p.wait(60), 0)
            left = subprocess.run(["pgrep", "-f", state], capture_output=True, text=True)
            self.assertEqual(left.stdout.strip(), "", "processes left running")
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            log.close()
            subprocess.run([os.path.join(SRC, "tests/lib/pgcluster.sh"), "stop",
                            os.path.join(state, "pg")])
            shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
