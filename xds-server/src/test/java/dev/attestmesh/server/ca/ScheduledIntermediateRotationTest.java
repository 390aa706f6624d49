package dev.attestmesh.server.ca;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.agent.AgentCredentials;
import dev.attestmesh.agent.ControlPlaneChannels;
import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.demo.DemoAuthzClient;
import dev.attestmesh.server.testing.SettableClock;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The issuing intermediate rotates on schedule while the control plane runs: new leaves (and the serving
 * certificate) come from the new intermediate, leaves of the old one keep verifying during the overlap, and
 * a connected node's SDS {@code ROOTCA} carries both; when the overlap ends the old one leaves the bundle.
 */
class ScheduledIntermediateRotationTest {
    static final String SECRET_TYPE = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";
    static final Duration CHECK = Duration.ofMillis(100);

    @TempDir
    Path dir;

    @Test
    void scheduledRotationIssuesFromTheNewIntermediateKeepsTheOldTrustedAndPushesBothToConnectedNodes()
            throws Exception {
        // Rotate every hour of the intermediate's age. The clock starts 2 h ago and moves to now, so certificates
        // issued on either side are valid in real time too, where TLS checks them.
        SettableClock clock = new SettableClock(Instant.now().minus(Duration.ofHours(2)));
        RotationSettings rotation = RotationSettings.DEFAULTS.withCheckInterval(CHECK)
                .withIntermediateRotation(new IntermediateRotationPolicy.Every(Duration.ofHours(1)), Duration.ofDays(7));
        try (ControlPlane cp = RotationFixtures.start(dir, "cp", clock, rotation, Optional.empty())) {
            X509Certificate root = cp.meshCa().root();
            X509Certificate oldIntermediate = cp.meshCa().issuingIntermediate();
            X509Certificate oldServing = cp.servingCertificate().certificate();
            NodeAgent payments = RotationFixtures.agent(dir, "payments", cp, clock);
            AgentCredentials before = payments.attestOnce();
            before.leaf().verify(oldIntermediate.getPublicKey());
            assertEquals(List.of(root, oldIntermediate), before.trustBundle());

            ManagedChannel ads = ControlPlaneChannels.open("127.0.0.1:" + cp.grpcPort(), before.trustBundle(),
                    payments.clientIdentity());
            try {
                SecretStream stream = new SecretStream(ads, "payments");
                assertEquals(List.of(root, oldIntermediate), rootCa(stream.next(Duration.ofSeconds(10)).orElseThrow(
                        () -> new AssertionError("no ADS response within 10 s"))),
                        "before the rotation: root and the one intermediate");
                Thread.sleep(3 * CHECK.toMillis());
                assertEquals(0, cp.caRotation().rotations(), "nothing is due yet");

                clock.advance(Duration.ofHours(2)); // the intermediate is now 2 h old
                RotationFixtures.awaitTrue(() -> cp.caRotation().rotations() == 1, Duration.ofSeconds(10),
                        "the schedule rotates the intermediate");
                X509Certificate newIntermediate = cp.meshCa().issuingIntermediate();
                assertNotEquals(oldIntermediate, newIntermediate);
                newIntermediate.verify(root.getPublicKey());
                assertEquals(List.of(root, newIntermediate, oldIntermediate), cp.trustBundle(),
                        "the old intermediate stays trusted during the overlap");
                assertEquals(cp.trustBundle(), Pem.parseCertificates(Files.readString(cp.caBundleFile())),
                        "ca-bundle.pem carries the new bundle");

                // The connected node gets a new ROOTCA version with both intermediates, without asking again.
                List<X509Certificate> pushed = List.of();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (!pushed.contains(newIntermediate) && System.nanoTime() < deadline) {
                    Optional<DiscoveryResponse> r = stream.next(Duration.ofMillis(200));
                    if (r.isPresent()) {
                        pushed = rootCa(r.get());
                    }
                }
                assertEquals(List.of(root, newIntermediate, oldIntermediate), pushed,
                        "the SDS ROOTCA a connected node receives carries both intermediates");

                // The serving certificate moved to the new intermediate as well.
                X509Certificate serving = cp.servingCertificate().certificate();
                assertNotEquals(oldServing.getSerialNumber(), serving.getSerialNumber());
                serving.verify(newIntermediate.getPublicKey());

                // New leaves come from the new intermediate; the old leaf still verifies during the overlap.
                NodeAgent orders = RotationFixtures.agent(dir, "orders", cp, clock);
                AgentCredentials after = orders.attestOnce();
                after.leaf().verify(newIntermediate.getPublicKey());
                assertEquals(cp.trustBundle(), after.trustBundle(), "the Attest answer carries the new bundle");
                RotationFixtures.validate(List.of(after.leaf(), newIntermediate), root, clock.instant());
                RotationFixtures.validate(List.of(before.leaf(), oldIntermediate), root, clock.instant());
                try (DemoAuthzClient authz = new DemoAuthzClient("127.0.0.1:" + cp.grpcPort(), orders)) {
                    // ext_authz, asked over mTLS with the new leaf, admits the node holding the old one.
                    assertTrue(authz.check(before.leaf(), after.claims().getSpiffeId(), List.of("default")).allowed(),
                            "a leaf of the old intermediate is admitted during the overlap");
                    assertTrue(authz.check(after.leaf(), before.claims().getSpiffeId(), List.of("default")).allowed(),
                            "a leaf of the new intermediate is admitted");
                }
                assertEquals(1, cp.caRotation().rotations(), "one rotation: the new intermediate is not due");
            } finally {
                ads.shutdownNow();
            }
        }
    }

    @Test
    void whenTheOverlapEndsTheOldIntermediateLeavesTheBundleFileAndTheNodesSnapshots() throws Exception {
        SettableClock clock = new SettableClock(Instant.now());
        RotationSettings rotation = RotationSettings.DEFAULTS.withCheckInterval(CHECK)
                .withIntermediateRotation(new IntermediateRotationPolicy.Off(), Duration.ofDays(7));
        try (ControlPlane cp = RotationFixtures.start(dir, "cp", clock, rotation, Optional.empty())) {
            RotationFixtures.agent(dir, "payments", cp, clock).attestOnce();
            X509Certificate root = cp.meshCa().root();
            X509Certificate old = cp.meshCa().issuingIntermediate();
            cp.rotateIntermediate(Duration.ofHours(1)); // by hand: the schedule is off
            X509Certificate current = cp.meshCa().issuingIntermediate();
            assertEquals(List.of(root, current, old), snapshotRootCa(cp, "payments"));

            assertEquals(List.of(root, current, old), bundleFile(cp));

            clock.advance(Duration.ofMinutes(61));
            RotationFixtures.awaitTrue(() -> bundleFile(cp).size() == 2, Duration.ofSeconds(10),
                    "ca-bundle.pem drops the old intermediate after the overlap");
            assertEquals(List.of(root, current), cp.trustBundle());
            assertEquals(List.of(root, current), snapshotRootCa(cp, "payments"), "and so does the node's ROOTCA");
            assertEquals(List.of(root, current), bundleFile(cp));
            assertEquals(1, cp.caRotation().rotations());
        }
    }

    static List<X509Certificate> bundleFile(ControlPlane cp) {
        try {
            return Pem.parseCertificates(Files.readString(cp.caBundleFile()));
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    static List<X509Certificate> snapshotRootCa(ControlPlane cp, String nodeId) {
        Snapshot s = cp.xdsCache().getSnapshot(nodeId);
        Secret secret = s == null ? null : s.secrets().resources().get("ROOTCA");
        return secret == null ? List.of() : parse(secret.getValidationContext().getTrustedCa().getInlineString());
    }

    static List<X509Certificate> rootCa(DiscoveryResponse r) throws Exception {
        for (var any : r.getResourcesList()) {
            Secret s = any.unpack(Secret.class);
            if (s.getName().equals("ROOTCA")) {
                return parse(s.getValidationContext().getTrustedCa().getInlineString());
            }
        }
        return List.of();
    }

    static List<X509Certificate> parse(String pem) {
        try {
            return Pem.parseCertificates(pem);
        } catch (Exception e) {
            throw new AssertionError("ROOTCA is not PEM: " + e.getMessage(), e);
        }
    }

    /** An ADS stream asking for a node's {@code default} and {@code ROOTCA} secrets, ACKing as Envoy does. */
    static final class SecretStream {
        private final LinkedBlockingQueue<Object> events = new LinkedBlockingQueue<>();
        private final StreamObserver<DiscoveryRequest> requests;
        private final String nodeId;

        SecretStream(ManagedChannel ch, String nodeId) {
            this.nodeId = nodeId;
            this.requests = AggregatedDiscoveryServiceGrpc.newStub(ch).streamAggregatedResources(new StreamObserver<>() {
                @Override
                public void onNext(DiscoveryResponse r) {
                    events.add(r);
                }

                @Override
                public void onError(Throwable t) {
                    events.add(t);
                }

                @Override
                public void onCompleted() {
                    events.add(new IllegalStateException("the server completed the stream"));
                }
            });
            requests.onNext(request("", ""));
        }

        private DiscoveryRequest request(String version, String nonce) {
            return DiscoveryRequest.newBuilder().setNode(Node.newBuilder().setId(nodeId).setCluster("rotation"))
                    .setTypeUrl(SECRET_TYPE).addResourceNames("default").addResourceNames("ROOTCA")
                    .setVersionInfo(version).setResponseNonce(nonce).build();
        }

        /** The next response (ACKed, so the server sends the next version), or empty after {@code wait}. */
        Optional<DiscoveryResponse> next(Duration wait) throws InterruptedException {
            Object e = events.poll(wait.toMillis(), TimeUnit.MILLISECONDS);
            if (e instanceof Throwable t) {
                throw new AssertionError("the node's ADS stream ended", t);
            }
            if (e instanceof DiscoveryResponse r) {
                requests.onNext(request(r.getVersionInfo(), r.getNonce()));
                return Optional.of(r);
            }
            return Optional.empty();
        }
    }
}
