package dev.attestmesh.server.demo;

import dev.attestmesh.agent.AgentCredentials;
import dev.attestmesh.agent.AttestationRefusedException;
import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.quote.sim.SimulatedTee;
import dev.attestmesh.server.ControlPlane;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.Micronaut;
import io.micronaut.runtime.server.EmbeddedServer;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The newcomer's tour: a control plane and three simulated TEE nodes on loopback. Two nodes run the
 * approved measurement, attest, open an mTLS connection to each other with their issued certificates
 * and pass ext_authz; a third runs a different measurement and is refused a certificate; a thief with
 * the approved code but another key tries to take over a node's id and identity and is refused;
 * finally one node is revoked and its next connection is refused. Identities come from registrations:
 * each service's SPIFFE ID is granted only to nodes that satisfy its policy and node-id selector.
 */
public final class MeshDemo {
    static final String GOOD_MEASUREMENT = "a1".repeat(48);
    static final String ROGUE_MEASUREMENT = "bad0".repeat(24);

    private final PrintStream out;

    public MeshDemo(PrintStream out) {
        this.out = out;
    }

    /** Runs the demo; true when every step behaved as expected. */
    public boolean run() throws Exception {
        Path dir = Files.createTempDirectory("attestmesh-demo");
        try {
            return runIn(dir);
        } finally {
            deleteTree(dir);
        }
    }

    private boolean runIn(Path dir) throws Exception {
        Path policies = dir.resolve("policies.yaml");
        Files.writeString(policies, """
                policies:
                  - id: default
                    tee: [sim]
                    tcbStatus: [UpToDate]
                    certificateTtl: 1h
                    reference:
                      sim:
                        measurement: ["%s"]
                """.formatted(GOOD_MEASUREMENT));
        Path registrations = dir.resolve("registrations.yaml");
        Files.writeString(registrations, """
                registrations:
                  - id: payments
                    spiffeId: spiffe://attestmesh.local/svc/payments
                    policies: [default]
                    selectors: {nodeId: "payments*"}
                  - id: orders
                    spiffeId: spiffe://attestmesh.local/svc/orders
                    policies: [default]
                    selectors: {nodeId: "orders*"}
                """);
        boolean ok = true;
        step("Starting the control plane (embedded H2 store, new mesh CA, gRPC and admin on free loopback ports)");
        try (ApplicationContext ctx = Micronaut.build(new String[0]).banner(false).properties(Map.of(
                "attestmesh.data-dir", dir.resolve("control-plane").toString(),
                "attestmesh.grpc-bind", "127.0.0.1",
                "attestmesh.grpc-port", 0,
                "attestmesh.admin-port", 0,
                "attestmesh.ca-key", "demo-only-ca-key",
                "attestmesh.dev-mode", true, // the demo's nodes run on the simulated TEE
                "attestmesh.policy-file", policies.toString(),
                "attestmesh.registration-file", registrations.toString())).start()) {
            ControlPlane cp = ctx.getBean(ControlPlane.class);
            int adminPort = ctx.getBean(EmbeddedServer.class).getPort();
            String target = "127.0.0.1:" + cp.grpcPort();
            detail("gRPC (attestation, ADS/SDS, ext_authz) on " + target + ", admin on 127.0.0.1:" + adminPort);
            detail("health: " + get("http://127.0.0.1:" + adminPort + "/health"));
            detail("policy 'default' accepts the SIMULATED TEE with measurement " + GOOD_MEASUREMENT.substring(0, 16)
                    + "... (simulated evidence is insecure by design; real policies name sgx, tdx or snp)");
            detail("registrations grant spiffe://attestmesh.local/svc/payments to nodes 'payments*' and "
                    + ".../svc/orders to nodes 'orders*' that satisfy 'default': identity is earned, never claimed");

            step("Node 'payments' and node 'orders' attest with the approved measurement");
            NodeAgent payments = agent("payments", GOOD_MEASUREMENT, cp, dir);
            NodeAgent orders = agent("orders", GOOD_MEASUREMENT, cp, dir);
            AgentCredentials pc = payments.attestOnce();
            AgentCredentials oc = orders.attestOnce();
            for (var c : List.of(pc, oc)) {
                detail("issued " + c.claims().getSpiffeId() + " (policies " + c.claims().getPoliciesList().stream()
                        .map(p -> p.getId() + " v" + p.getVersion()).toList() + ", valid until " + c.expiresAt()
                        + "), private key stayed on the node");
            }

            step("'orders' opens an mTLS connection to 'payments' using the issued certificates");
            String reply = MutualTlsProbe.exchange(payments, orders, "hello from orders");
            detail("payments saw peer " + reply);

            step("payments' Envoy asks ext_authz whether 'orders' may connect (policy 'default' required)");
            try (DemoAuthzClient authz = new DemoAuthzClient(target, payments)) {
                DemoAuthzClient.Result allowed = authz.check(oc.leaf(), pc.claims().getSpiffeId(), List.of("default"));
                detail((allowed.allowed() ? "ALLOWED: " : "DENIED: ") + allowed.detail());
                ok &= expect(allowed.allowed(), "orders should be allowed");

                step("Node 'rogue' runs a different measurement and asks for a certificate");
                NodeAgent rogue = agent("rogue", ROGUE_MEASUREMENT, cp, dir);
                try {
                    rogue.attestOnce();
                    detail("UNEXPECTED: rogue got a certificate");
                    ok = false;
                } catch (AttestationRefusedException e) {
                    detail("REFUSED (" + e.code() + "): " + e.getMessage());
                }

                step("Node 'thief' runs the approved code with its own key and claims the node id 'payments'");
                NodeAgent thief = agent("payments", GOOD_MEASUREMENT, cp, dir.resolve("thief"));
                try {
                    thief.attestOnce();
                    detail("UNEXPECTED: the thief took over node 'payments'");
                    ok = false;
                } catch (AttestationRefusedException e) {
                    detail("REFUSED (" + e.code() + "): " + e.getMessage());
                }

                step("The operator revokes 'orders'; its next connection is checked again");
                cp.registry().revoke("orders", "demo: operator revoked the node");
                DemoAuthzClient.Result denied = authz.check(oc.leaf(), pc.claims().getSpiffeId(), List.of("default"));
                detail((denied.allowed() ? "ALLOWED: " : "DENIED: ") + denied.detail());
                ok &= expect(!denied.allowed(), "revoked orders should be denied");
            }
        }
        out.println();
        out.println(ok ? "Demo finished: attested nodes talked; the unattested, the identity thief and the revoked were refused."
                : "Demo finished with UNEXPECTED results (see above).");
        return ok;
    }

    private NodeAgent agent(String nodeId, String measurement, ControlPlane cp, Path dir) throws IOException {
        return new NodeAgent(new NodeAgent.Settings(nodeId, "127.0.0.1:" + cp.grpcPort(), cp.trustBundle(),
                dir.resolve("nodes").resolve(nodeId), Optional.empty(), Optional.empty()),
                SimulatedTee.withMeasurementHex(measurement), Clock.systemUTC());
    }

    private boolean expect(boolean condition, String what) {
        if (!condition) {
            detail("UNEXPECTED: " + what);
        }
        return condition;
    }

    private void step(String s) {
        out.println();
        out.println("==> " + s);
    }

    private void detail(String s) {
        out.println("    " + s);
    }

    private static String get(String url) throws IOException, InterruptedException {
        try (HttpClient c = HttpClient.newHttpClient()) {
            return c.send(HttpRequest.newBuilder(URI.create(url)).GET().build(),
                    HttpResponse.BodyHandlers.ofString()).body();
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
