// validate.mjs - schema and policy check of deploy/k8s/*.yaml.
//
// Every document is validated against the Kubernetes OpenAPI schema of its
// kind (kubernetes-models: the upstream schemas compiled for ajv), then
// held to what the deployment promises: every Deployment has liveness and
// readiness probes (gRPC for the API, HTTP /healthz and /readyz on the
// metrics port for the rest), resource requests and limits, runs as
// non-root with a read-only root file system and no capabilities, and is
// covered by a PodDisruptionBudget and a Service; the delivery pools and
// the profiler scale on rekindle_queue_depth; the migrations are a Job.
//
//   node validate.mjs DIR
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";

const kinds = {
  "v1/Namespace": "kubernetes-models/v1/Namespace",
  "v1/Secret": "kubernetes-models/v1/Secret",
  "v1/ConfigMap": "kubernetes-models/v1/ConfigMap",
  "v1/Service": "kubernetes-models/v1/Service",
  "apps/v1/Deployment": "kubernetes-models/apps/v1/Deployment",
  "batch/v1/Job": "kubernetes-models/batch/v1/Job",
  "policy/v1/PodDisruptionBudget": "kubernetes-models/policy/v1/PodDisruptionBudget",
  "autoscaling/v2/HorizontalPodAutoscaler":
    "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler",
};

const dir = process.argv[2];
const docs = [];
let failed = 0;
const fail = (what, why) => {
  console.error(`FAIL ${what}: ${why}`);
  failed++;
};

for (const f of readdirSync(dir).filter((f) => f.endsWith(".yaml")).sort()) {
  for (const d of parseAllDocuments(readFileSync(join(dir, f), "utf8"))) {
    if (d.errors.length) {
      fail(f, d.errors[0].message);
      continue;
    }
    const o = d.toJS();
    if (o == null) continue;
    const key = `${o.apiVersion}/${o.kind}`;
    const what = `${f} ${o.kind}/${o.metadata?.name}`;
    if (!kinds[key]) {
      fail(what, `no schema for ${key}`);
      continue;
    }
    const mod = await import(kinds[key]);
    const Model = mod[o.kind];
    try {
      new Model(o).validate();
    } catch (e) {
      fail(what, e.message);
      continue;
    }
    docs.push({ f, o, what });
  }
}

const of = (kind) => docs.filter((d) => d.o.kind === kind).map((d) => d.o);
const matches = (sel, labels) =>
  Object.entries(sel || {}).every(([k, v]) => labels?.[k] === v);
const deployments = of("Deployment");
for (const dep of deployments) {
  const name = dep.metadata.name;
  const labels = dep.spec.template.metadata.labels;
  const pod = dep.spec.template.spec;
  for (const c of pod.containers) {
    const api = name === "rekindle-api";
    for (const p of ["livenessProbe", "readinessProbe"]) {
      const probe = c[p];
      if (!probe) fail(name, `no ${p}`);
      else if (api && !probe.grpc) fail(name, `${p} is not a gRPC probe`);
      else if (!api && probe.httpGet?.path !== (p === "livenessProbe" ? "/healthz" : "/readyz"))
        fail(name, `${p} is not HTTP ${p === "livenessProbe" ? "/healthz" : "/readyz"}`);
    }
    for (const r of ["requests", "limits"])
      for (const x of ["cpu", "memory"])
        if (!c.resources?.[r]?.[x]) fail(name, `no resources.${r}.${x}`);
    const sc = c.securityContext || {};
    if (!sc.runAsNonRoot || !sc.readOnlyRootFilesystem || sc.allowPrivilegeEscalation !== false ||
        !(sc.capabilities?.drop || []).includes("ALL"))
      fail(name, "must run as non-root, read-only, no privilege escalation, no capabilities");
    if (!c.ports?.some((p) => p.name === "metrics" && p.containerPort === 9464))
      fail(name, "no metrics port 9464");
  }
  if (!of("PodDisruptionBudget").some((p) => matches(p.spec.selector.matchLabels, labels)))
    fail(name, "no PodDisruptionBudget");
  if (!of("Service").some((s) => matches(s.spec.selector, labels)))
    fail(name, "no Service");
  const scaled = name.startsWith("rekindle-deliver-") || name === "rekindle-profiler";
  const hpa = of("HorizontalPodAutoscaler").find((h) => h.spec.scaleTargetRef.name === name);
  if (scaled && !hpa) fail(name, "no HorizontalPodAutoscaler");
  if (hpa && !hpa.spec.metrics.some((m) => m.external?.metric?.name === "rekindle_queue_depth"))
    fail(name, "autoscaler not on rekindle_queue_depth");
}
for (const ch of ["email", "sms", "zns", "push"])
  if (!deployments.some((d) => d.metadata.name === `rekindle-deliver-${ch}`))
    fail("deliver", `no Deployment for channel ${ch}`);
for (const n of ["api", "tracker", "profiler", "campaigner", "timer"])
  if (!deployments.some((d) => d.metadata.name === `rekindle-${n}`))
    fail(n, "no Deployment");
if (!of("Job").some((j) => j.spec.template.spec.containers[0].args?.includes("--migrate")))
  fail("migrate", "no migration Job");
if (!of("Secret").length) fail("secrets", "no Secret");

console.log(`${docs.length} documents checked (${deployments.length} Deployments), ` +
  `${failed} failure(s)`);
process.exit(failed ? 1 : 0);
