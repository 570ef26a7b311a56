"""The role matrix: every method the server describes (found through
reflection) is called with an admin, a service and an agent token and with
none, with an empty request; the answers must agree with the README's
table - PERMISSION_DENIED for a role without a tick, UNAUTHENTICATED
without a token, anything else (the request's own errors included) where
the role is allowed. A method missing from the table, or a table row the
server does not serve, fails the test."""
import os, re, unittest

import grpc

from harness import ADMIN, SRC, Rekindle, RekindleCase


def readme_matrix():
    with open(os.path.join(SRC, "README.md"), encoding="utf-8") as f:
        text = f.read()
    rows = {}
    for m, a, s, g in re.findall(r"^\| `([A-Za-z]+Service\.[A-Za-z]+)` \| (✓?) \| (✓?) \| (✓?) \|$",
                                 text, re.M):
        rows["rekindle.v1." + m] = {"admin": a == "✓", "service": s == "✓",
                                    "agent": g == "✓"}
    return rows


class RoleTest(RekindleCase):
    @classmethod
    def setUpClass(cls):
        cls.rk = rk = Rekindle()
        A = "rekindle.v1.AgentService"
        rk.call(A, "CreateTeam", rk.msg("rekindle.v1.CreateTeamRequest", team=rk.msg(
            "rekindle.v1.Team", team_id="RT", name="Roles", routing=1, sla_business_hours=4)))
        rk.call(A, "CreateAgent", rk.msg("rekindle.v1.CreateAgentRequest", agent=rk.msg(
            "rekindle.v1.Agent", agent_id="RA", team_id="RT", display_name="Agent",
            working_hours="Mon-Sun 00:00-24:00")))
        cls.tokens = {"admin": ADMIN}
        for role, num, agent in (("service", 2, ""), ("agent", 3, "RA")):
            cls.tokens[role] = rk.call(A, "CreateToken", rk.msg(
                "rekindle.v1.CreateTokenRequest", name="roles-" + role, role=num,
                agent_id=agent)).secret

    def methods(self):
        """Every rekindle method the server describes, with its streaming."""
        rk = self.rk
        refl = rk.refl_pb2
        out = {}
        svcs = [s.name for s in rk.reflect([refl.ServerReflectionRequest(
            list_services="")])[0].list_services_response.service
            if s.name.startswith("rekindle.")]
        for svc in svcs:
            rk.load_symbol(svc)
            d = rk.pool.FindServiceByName(svc)
            for m in d.methods:
                out["%s.%s" % (svc, m.name)] = m
        return out

    def call(self, m, token):
        rk = self.rk
        path = "/%s/%s" % (m.containing_service.full_name, m.name)
        req = rk.msg(m.input_type.full_name)
        meta = [("authorization", "Bearer " + token)] if token else []
        ser = lambda x: x.SerializeToString()
        try:
            if m.client_streaming and m.server_streaming:
                list(rk.channel.stream_stream(path, request_serializer=ser)(
                    iter([]), metadata=meta, timeout=10))
            elif m.client_streaming:
                rk.channel.stream_unary(path, request_serializer=ser)(
                    iter([req]), metadata=meta, timeout=10)
            elif m.server_streaming:
                list(rk.channel.unary_stream(path, request_serializer=ser)(
                    req, metadata=meta, timeout=3))
            else:
                rk.channel.unary_unary(path, request_serializer=ser)(
                    req, metadata=meta, timeout=10)
            return grpc.StatusCode.OK
        except grpc.RpcError as e:
            return e.code()

    def test_every_method_with_every_role(self):
        table, served = readme_matrix(), self.methods()
        self.assertEqual(sorted(served), sorted(table),
                         "the README's role table and the served methods differ")
        wrong = []
        for name, m in sorted(served.items()):
            for role, allowed in table[name].items():
                code = self.call(m, self.tokens[role])
                if allowed and code in (grpc.StatusCode.PERMISSION_DENIED,
                                        grpc.StatusCode.UNAUTHENTICATED):
                    wrong.append("%s as %s: %s, allowed by the table" % (name, role, code))
                if not allowed and code != grpc.StatusCode.PERMISSION_DENIED:
                    wrong.append("%s as %s: %s, not PERMISSION_DENIED" % (name, role, code))
            code = self.call(m, None)
            if code != grpc.StatusCode.UNAUTHENTICATED:
                wrong.append("%s without a token: %s" % (name, code))
        self.assertEqual(wrong, [])
        self.assertTrue(self.rk.serving())


if __name__ == "__main__":
    unittest.main()
