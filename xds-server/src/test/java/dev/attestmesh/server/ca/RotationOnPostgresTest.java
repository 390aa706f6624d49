package dev.attestmesh.server.ca;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.attestmesh.agent.AgentCredentials;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.store.DatabaseSettings;
import dev.attestmesh.server.store.TestPostgres;
import dev.attestmesh.server.testing.SettableClock;
import io.grpc.ManagedChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two replicas on one PostgreSQL database find the intermediate due at the same moment: exactly one rotation
 * happens (under the store's CA lock), and both then issue from, serve with and hand out the new intermediate.
 * Skipped with a message when no PostgreSQL is available (see {@link TestPostgres}).
 */
class RotationOnPostgresTest {
    @TempDir
    Path dir;

    @Test
    void twoReplicasDueTogetherRotateOnceAndBothServeTheNewBundle() throws Exception {
        DatabaseSettings pg = TestPostgres.freshSchema();
        SettableClock clock = new SettableClock(Instant.now().minus(Duration.ofHours(2)));
        RotationSettings rotation = RotationSettings.DEFAULTS.withCheckInterval(Duration.ofMillis(100))
                .withIntermediateRotation(new IntermediateRotationPolicy.Every(Duration.ofHours(1)), Duration.ofDays(7));
        try (ControlPlane a = RotationFixtures.start(dir, "a", clock, rotation, Optional.of(pg));
                ControlPlane b = RotationFixtures.start(dir, "b", clock, rotation, Optional.of(pg))) {
            X509Certificate root = a.meshCa().root();
            X509Certificate old = a.meshCa().issuingIntermediate();
            assertEquals(old, b.meshCa().issuingIntermediate(), "one CA for both replicas");

            clock.advance(Duration.ofHours(2)); // due on both; their schedules fire within 100 ms of each other
            // Besides the schedules, ask both at once, so the lock, not luck, has to keep it to one rotation.
            CyclicBarrier together = new CyclicBarrier(2);
            ExecutorService two = Executors.newFixedThreadPool(2); // own threads: both must wait at the barrier
            try {
                CompletableFuture<Optional<?>> onA = CompletableFuture.supplyAsync(() -> rotateIfDue(a, together), two);
                CompletableFuture<Optional<?>> onB = CompletableFuture.supplyAsync(() -> rotateIfDue(b, together), two);
                onA.get(30, TimeUnit.SECONDS);
                onB.get(30, TimeUnit.SECONDS);
            } finally {
                two.shutdownNow();
            }
            RotationFixtures.awaitTrue(() -> !a.meshCa().issuingIntermediate().equals(old)
                    && a.meshCa().issuingIntermediate().equals(b.meshCa().issuingIntermediate()),
                    Duration.ofSeconds(10), "both replicas use the new intermediate");
            Thread.sleep(500); // let any late schedule run: it must find nothing due
            assertEquals(1, a.caRotation().rotations() + b.caRotation().rotations(), "exactly one rotation in all");

            X509Certificate fresh = a.meshCa().issuingIntermediate();
            assertNotEquals(old, fresh);
            List<X509Certificate> bundle = List.of(root, fresh, old);
            for (ControlPlane cp : List.of(a, b)) {
                assertEquals(bundle, cp.trustBundle(), "root, new and (overlap) old intermediate");
                RotationFixtures.awaitTrue(() -> bundle.equals(bundleFile(cp)), Duration.ofSeconds(10),
                        "ca-bundle.pem of each replica carries the new bundle");
                // Each replica renewed its own serving certificate from the new intermediate, and presents it.
                RecordingServerTrust trust = new RecordingServerTrust(List.of(root));
                ManagedChannel ch = RotationFixtures.channel(cp, trust);
                try {
                    RotationFixtures.call(ch);
                } finally {
                    ch.shutdownNow();
                }
                X509Certificate[] chain = trust.handshakes.get(0);
                assertEquals(cp.servingCertificate().certificate(), chain[0]);
                assertEquals(fresh, chain[1], "the serving chain goes through the new intermediate");
                chain[0].verify(fresh.getPublicKey());
            }
            X509Certificate servedByA = a.servingCertificate().certificate();
            assertNotEquals(servedByA.getSerialNumber(), b.servingCertificate().certificate().getSerialNumber(),
                    "each replica holds its own serving certificate");

            // A node attesting on either replica gets a leaf of the new intermediate and the new bundle.
            for (ControlPlane cp : List.of(a, b)) {
                String id = cp == a ? "on-a" : "on-b";
                AgentCredentials creds = RotationFixtures.agent(dir, id, cp, clock).attestOnce();
                creds.leaf().verify(fresh.getPublicKey());
                assertEquals(bundle, creds.trustBundle());
            }
        }
    }

    private static Optional<?> rotateIfDue(ControlPlane cp, CyclicBarrier together) {
        try {
            together.await(10, TimeUnit.SECONDS);
            return cp.caRotation().rotateIfDue();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static List<X509Certificate> bundleFile(ControlPlane cp) {
        try {
            return Pem.parseCertificates(Files.readString(cp.caBundleFile()));
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
