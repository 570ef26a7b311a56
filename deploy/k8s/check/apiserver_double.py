"""A Kubernetes API server double for `kubectl apply --dry-run=client`:
kubectl needs the server's discovery documents to map each kind to its
resource, and looks each object up before it would create it. This
answers discovery for the groups rekindle's manifests use (legacy
discovery: APIVersions, APIGroupList, APIResourceList) and 404 NotFound
for every object, so kubectl reports each as "created (dry run)". It
validates nothing itself: the schema check is validate.mjs.

    apiserver_double.py PORT_FILE     (serves on 127.0.0.1, any free port)
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RES = {
    "v1": [("namespaces", "Namespace", False), ("secrets", "Secret", True),
           ("configmaps", "ConfigMap", True), ("services", "Service", True),
           ("serviceaccounts", "ServiceAccount", True)],
    "apps/v1": [("deployments", "Deployment", True)],
    "batch/v1": [("jobs", "Job", True)],
    "policy/v1": [("poddisruptionbudgets", "PodDisruptionBudget", True)],
    "autoscaling/v2": [("horizontalpodautoscalers", "HorizontalPodAutoscaler", True)],
}
VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]


def resource_list(gv):
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
            "resources": [{"name": n, "singularName": "", "namespaced": ns, "kind": k,
                           "verbs": VERBS} for n, k, ns in RES[gv]]}


class Handler(BaseHTTPRequestHandler):
    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = self.path.split("?", 1)[0].rstrip("/")
        if path == "/api":
            return self.reply(200, {"kind": "APIVersions", "versions": ["v1"],
                                    "serverAddressByClientCIDRs": []})
        if path == "/apis":
            groups = []
            for gv in RES:
                if "/" in gv:
                    g, v = gv.split("/")
                    groups.append({"name": g, "versions": [{"groupVersion": gv, "version": v}],
                                   "preferredVersion": {"groupVersion": gv, "version": v}})
            return self.reply(200, {"kind": "APIGroupList", "apiVersion": "v1",
                                    "groups": groups})
        if path == "/api/v1":
            return self.reply(200, resource_list("v1"))
        if path.startswith("/apis/") and path[6:] in RES:
            return self.reply(200, resource_list(path[6:]))
        self.reply(404, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                         "status": "Failure", "message": "not found", "reason": "NotFound",
                         "code": 404})

    def log_message(self, *args):
        pass


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(sys.argv[1] + ".tmp", "w") as fh:
        fh.write("%d\n" % srv.server_address[1])
    import os
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])
    srv.serve_forever()


if __name__ == "__main__":
    main()
