package dev.attestmesh.perf.faults;

import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.authz.standalone.StandaloneAuthzServer;
import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.ControlPlaneSettings;
import dev.attestmesh.server.EvidenceVerifierSet;
import dev.attestmesh.server.demo.DemoAuthzClient;
import dev.attestmesh.server.watch.RegistryWatchSettings;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * A standalone ext_authz replica loses its control plane: a control plane (in this JVM, embedded store) serves the
 * registry watch to one replica ({@link StandaloneAuthzServer}, plaintext Check on loopback, staleness bound {@code
 * staleness}); one Check a {@value PostgresOutageScenario#CHECK_PERIOD_MILLIS} ms asks the replica about an attested
 * node. The control plane is stopped for {@code outageSeconds} and started again on the same data and port. The
 * replica must keep allowing from its last view until the bound, then deny with "registry view is stale", and
 * allow again by itself once the control plane is back.
 */
public final class AuthzOutageScenario {
    static final String REPLICA = "faults-authz";

    /** Phases and the replica's staleness bound ({@code attestmesh authz --max-staleness}). */
    public record Settings(int beforeSeconds, int outageSeconds, Duration staleness) {
        public static Settings defaults() {
            return new Settings(5, 30, Duration.ofSeconds(10));
        }
    }

    private AuthzOutageScenario() {}

    public static ScenarioResult run(Settings s) throws Exception {
        Path dir = Files.createTempDirectory("attestmesh-faults-authz");
        Map<String, Object> f = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();
        ControlPlane cp = null;
        try {
            FaultMesh.writeFiles(dir);
            int port = FaultMesh.freePort();
            cp = start(dir, port);
            String target = "127.0.0.1:" + port;
            NodeAgent asker = FaultMesh.agent(target, cp.trustBundle(), dir, "asker");
            NodeAgent peer = FaultMesh.agent(target, cp.trustBundle(), dir, "peer");
            asker.attestOnce();
            peer.attestOnce();
            Path replica = issueReplica(cp, dir);
            try (StandaloneAuthzServer authz = StandaloneAuthzServer.start(new StandaloneAuthzServer.Settings(target,
                    cp.caBundleFile(), replica.resolve("cert-chain.pem"), replica.resolve("key.pem"), Optional.empty(),
                    "127.0.0.1", 0, true, true, s.staleness(), REPLICA, 10_000).withAllowInsecure(true))) {
                if (!authz.view().awaitFirstSnapshot(Duration.ofSeconds(30))) {
                    problems.add("the replica got no registry snapshot within 30 s");
                    return new ScenarioResult("authz", f, problems);
                }
                try (ReplicaChecks replicaChecks = ReplicaChecks.start(authz, peer)) {
                    CheckLoop checks = replicaChecks.loop();
                    Thread.sleep(TimeUnit.SECONDS.toMillis(s.beforeSeconds()));
                    long stopAt = System.nanoTime();
                    cp.close();
                    cp = null;
                    Thread.sleep(TimeUnit.SECONDS.toMillis(s.outageSeconds()));
                    long startAt = System.nanoTime();
                    cp = start(dir, port);
                    long startedAt = System.nanoTime();
                    long deadline = startedAt + TimeUnit.SECONDS.toNanos(60);
                    while (checks.first(startedAt, true, "").isEmpty() && System.nanoTime() < deadline) {
                        Thread.sleep(20);
                    }
                    Thread.sleep(1_000);
                    checks.stop();
                    report(f, problems, s, checks.decisions(), stopAt, startAt);
                    f.put("controlPlaneRestartMs", FaultMesh.millisSince(startAt, startedAt));
                }
            }
            return new ScenarioResult("authz", f, problems);
        } finally {
            if (cp != null) {
                cp.close();
            }
            FaultMesh.delete(dir);
        }
    }

    /** Plaintext Checks against a standalone replica about {@code peer}'s certificate, one every few ms. */
    record ReplicaChecks(ManagedChannel channel, CheckLoop loop) implements AutoCloseable {
        static ReplicaChecks start(StandaloneAuthzServer authz, NodeAgent peer) {
            ManagedChannel ch = Grpc.newChannelBuilder("127.0.0.1:" + authz.port(),
                    InsecureChannelCredentials.create()).build();
            Metadata md = new Metadata();
            md.put(DemoAuthzClient.POLICY_HEADER, FaultMesh.POLICY);
            AuthorizationGrpc.AuthorizationBlockingStub stub = AuthorizationGrpc.newBlockingStub(ch)
                    .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md));
            CheckRequest req = DemoAuthzClient.networkCheck(peer.credentials().orElseThrow().leaf(),
                    FaultMesh.spiffeId("asker"));
            CheckLoop loop = new CheckLoop(() -> {
                CheckResponse r = stub.withDeadlineAfter(5, TimeUnit.SECONDS).check(req);
                boolean ok = r.getStatus().getCode() == 0;
                return new CheckLoop.Answer(ok, ok ? "" : r.getStatus().getMessage());
            }, PostgresOutageScenario.CHECK_PERIOD_MILLIS);
            return new ReplicaChecks(ch, loop);
        }

        @Override
        public void close() throws InterruptedException {
            try {
                loop.stop();
            } finally {
                channel.shutdownNow();
            }
        }
    }

    private static void report(Map<String, Object> f, List<String> problems, Settings s,
            List<CheckLoop.Decision> decisions, long stopAt, long startAt) {
        String stale = PostgresOutageScenario.STALE;
        Optional<CheckLoop.Decision> firstStale = decisions.stream().filter(d -> d.nanos() >= stopAt && !d.allowed()
                && d.message().startsWith(stale)).findFirst();
        Optional<CheckLoop.Decision> lastAllowed = decisions.stream().filter(d -> d.allowed() && d.nanos() < startAt
                && firstStale.map(st -> d.nanos() < st.nanos()).orElse(true)).reduce((a, b) -> b);
        long otherDenials = decisions.stream().filter(d -> !d.allowed() && !d.message().startsWith(stale)).count();
        long allowedWhileStale = firstStale.map(st -> decisions.stream().filter(d -> d.nanos() > st.nanos()
                && d.nanos() < startAt && d.allowed()).count()).orElse(0L);
        Optional<CheckLoop.Decision> back = decisions.stream().filter(d -> d.nanos() >= startAt && d.allowed())
                .findFirst();
        f.put("checks", decisions.size());
        f.put("checkStalenessBoundMs", s.staleness().toMillis());
        f.put("stopToLastCheckAllowedMs", lastAllowed.map(d -> FaultMesh.millisSince(stopAt, d.nanos())).orElse(-1L));
        f.put("stopToFirstCheckDeniedStaleMs", firstStale.map(d -> FaultMesh.millisSince(stopAt, d.nanos())).orElse(-1L));
        firstStale.ifPresent(d -> f.put("staleDenial", d.message()));
        f.put("checksAllowedWhileStale", allowedWhileStale);
        f.put("checksDeniedOtherwise", otherDenials);
        f.put("startToFirstCheckAllowedMs", back.map(d -> FaultMesh.millisSince(startAt, d.nanos())).orElse(-1L));
        if (firstStale.isEmpty()) {
            problems.add("the replica never denied as stale while the control plane was down");
        } else if (FaultMesh.millisSince(stopAt, firstStale.get().nanos()) < s.staleness().toMillis() - 1_500) {
            // The bound counts from the replica's last update: the last heartbeat (every 1 s) before the stop.
            problems.add("denied as stale " + FaultMesh.millisSince(stopAt, firstStale.get().nanos()) + " ms after the "
                    + "stop, before the staleness bound of " + s.staleness().toMillis() + " ms");
        }
        if (allowedWhileStale > 0) {
            problems.add(allowedWhileStale + " Checks were allowed after the view became stale");
        }
        if (otherDenials > 0) {
            problems.add(otherDenials + " Checks were denied for another reason than staleness");
        }
        if (back.isEmpty()) {
            problems.add("the replica did not allow again within 60 s of the control plane's restart");
        }
    }

    private static ControlPlane start(Path dir, int port) throws Exception {
        ControlPlaneSettings base = ControlPlaneSettings.forTests(dir.resolve("cp"), Optional.of(dir.resolve(
                "policies.yaml")));
        ControlPlaneSettings settings = new ControlPlaneSettings(base.dataDir(), base.grpcBind(), port,
                base.policyFile(), base.trustDomain(), base.caKey(), base.serverNames(), base.nodeKeyFile(),
                base.nonceTtl()).withRegistrationFile(Optional.of(dir.resolve("registrations.yaml"))).withDevMode(true);
        return ControlPlane.start(settings, Clock.systemUTC(), EvidenceVerifierSet.defaults(), new RegistryWatchSettings(
                Set.of("spiffe://attestmesh.local/attestmesh/replica/" + REPLICA), Duration.ofSeconds(1)));
    }

    /** A replica certificate from the mesh CA, written as {@code attestmesh ca issue-client --replica} writes it. */
    static Path issueReplica(ControlPlane cp, Path dir) throws Exception {
        FaultMesh.ReplicaCredentials issued = FaultMesh.issueReplica(cp, REPLICA);
        Path out = Files.createDirectories(dir.resolve("replica"));
        Files.writeString(out.resolve("key.pem"), issued.keyPem());
        Files.writeString(out.resolve("cert-chain.pem"), issued.chainPem());
        return out;
    }
}
