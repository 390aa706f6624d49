package dev.attestmesh.server.ca;

import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.api.v1.AttestationServiceGrpc;
import dev.attestmesh.api.v1.ChallengeRequest;
import dev.attestmesh.quote.sim.SimulatedTee;
import dev.attestmesh.quote.sim.SimulatorKey;
import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.ControlPlaneSettings;
import dev.attestmesh.server.EvidenceVerifierSet;
import dev.attestmesh.server.store.DatabaseSettings;
import dev.attestmesh.server.testing.TestMesh;
import dev.attestmesh.server.watch.RegistryWatchSettings;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import javax.net.ssl.SSLException;

/** Control planes with a settable clock and chosen rotation settings, and what the rotation tests check with. */
final class RotationFixtures {
    static final String GOOD = TestMesh.GOOD;
    /** Node certificates live a day here, so nodes stay valid while the tests move the clock by hours. */
    static final String POLICY = """
            policies:
              - id: default
                tee: [sim]
                certificateTtl: 24h
                reference:
                  sim:
                    measurement: ["%s"]
            """.formatted(GOOD);

    private RotationFixtures() {}

    static ControlPlane start(Path dir, String name, Clock clock, RotationSettings rotation,
            Optional<DatabaseSettings> db) throws IOException {
        Path policies = Files.writeString(dir.resolve("policies.yaml"), POLICY);
        ControlPlaneSettings s = ControlPlaneSettings.forTests(dir.resolve(name), Optional.of(policies))
                .withRegistrationFile(Optional.of(TestMesh.writeRegistrations(dir)));
        if (db.isPresent()) {
            s = s.withDatabase(db.get());
        }
        return ControlPlane.start(s, clock, EvidenceVerifierSet.defaults(), Optional.empty(),
                RegistryWatchSettings.refuseAll(), rotation);
    }

    /** A simulated-TEE node agent whose evidence is timed by {@code clock} (the control plane's). */
    static NodeAgent agent(Path dir, String nodeId, ControlPlane cp, Clock clock) {
        SimulatedTee tee = new SimulatedTee(SimulatorKey.derive(SimulatorKey.DEFAULT_SEED),
                HexFormat.of().parseHex(GOOD), false, clock);
        return new NodeAgent(new NodeAgent.Settings(nodeId, "127.0.0.1:" + cp.grpcPort(), cp.trustBundle(),
                dir.resolve("nodes").resolve(nodeId), Optional.empty(), Optional.empty()), tee, clock);
    }

    /** A TLS channel to the control plane that records the server chain of each handshake in {@code trust}. */
    static ManagedChannel channel(ControlPlane cp, RecordingServerTrust trust) throws SSLException {
        return NettyChannelBuilder.forAddress("127.0.0.1", cp.grpcPort()).overrideAuthority("localhost")
                .sslContext(GrpcSslContexts.forClient().trustManager(trust).build()).build();
    }

    private static final AtomicInteger PROBES = new AtomicInteger();

    /**
     * One unauthenticated RPC (Challenge, for a new node id each time so no per-node cap is reached), which opens
     * the connection if there is none.
     */
    static void call(ManagedChannel ch) {
        AttestationServiceGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
                .challenge(ChallengeRequest.newBuilder().setNodeId("probe-" + PROBES.incrementAndGet()).build());
    }

    /** PKIX validation of {@code chain} (leaf first) to {@code root} at {@code at}; throws when it fails. */
    static void validate(List<X509Certificate> chain, X509Certificate root, Instant at) throws Exception {
        PKIXParameters p = new PKIXParameters(Set.of(new TrustAnchor(root, null)));
        p.setRevocationEnabled(false);
        p.setDate(Date.from(at));
        CertPathValidator.getInstance("PKIX").validate(CertificateFactory.getInstance("X.509").generateCertPath(chain),
                p);
    }

    static void awaitTrue(BooleanSupplier condition, Duration limit, String what) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(what + ": not within " + limit.toMillis() + " ms");
            }
            Thread.sleep(20);
        }
    }
}
