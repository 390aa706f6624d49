package dev.attestmesh.server.ca;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.testing.SettableClock;
import io.grpc.ManagedChannel;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A running control plane renews its gRPC serving certificate before it expires, without a restart: new TLS
 * handshakes get the new certificate, a connection opened before keeps working on its session.
 */
class ServingCertificateRenewalTest {
    static final Duration CHECK = Duration.ofMillis(100);

    @TempDir
    Path dir;

    @Test
    void servingCertificateIsRenewedWhileRunningAndNewHandshakesSeeItWhileAnOpenChannelKeepsWorking()
            throws Exception {
        // The control plane starts 21 days ago (by its clock), so its 30-day certificate is valid now in real time
        // too (TLS clients check validity against the real clock) and is due for renewal 20 days after start.
        Instant start = Instant.now().minus(Duration.ofDays(21));
        SettableClock clock = new SettableClock(start);
        try (ControlPlane cp = RotationFixtures.start(dir, "cp", clock, RotationSettings.DEFAULTS.withCheckInterval(CHECK),
                Optional.empty())) {
            ServingCertificate serving = cp.servingCertificate();
            X509Certificate first = serving.certificate();
            assertEquals(start.plus(Duration.ofDays(30)).getEpochSecond(), first.getNotAfter().toInstant().getEpochSecond(),
                    "30-day certificate by default");
            long off = Math.abs(Duration.between(start.plus(Duration.ofDays(20)), serving.renewAt()).toSeconds());
            assertTrue(off <= 2, "renewed 10 days (a third of its life) before expiry, at " + serving.renewAt());

            RecordingServerTrust oldTrust = new RecordingServerTrust(cp.trustBundle());
            ManagedChannel old = RotationFixtures.channel(cp, oldTrust);
            try {
                RotationFixtures.call(old);
                assertEquals(List.of(first), oldTrust.leaves(), "the first connection got the certificate of start");

                // 19 days later: not due, nothing happens.
                clock.advance(Duration.ofDays(19));
                Thread.sleep(5 * CHECK.toMillis());
                assertEquals(0, serving.renewals(), "not renewed before its renewal time");
                assertEquals(first, serving.certificate());

                clock.advance(Duration.ofDays(1).plusSeconds(1));
                RotationFixtures.awaitTrue(() -> serving.renewals() == 1, Duration.ofSeconds(10),
                        "the serving certificate is renewed once its renewal time passed");
                X509Certificate second = serving.certificate();
                assertNotEquals(first.getSerialNumber(), second.getSerialNumber());
                assertNotEquals(first.getPublicKey(), second.getPublicKey(), "a new key for every certificate");
                assertEquals(clock.instant().plus(Duration.ofDays(30)).getEpochSecond(),
                        second.getNotAfter().toInstant().getEpochSecond());
                assertEquals(cp.meshCa().issuingIntermediate().getSubjectX500Principal(),
                        second.getIssuerX500Principal());
                second.verify(cp.meshCa().issuingIntermediate().getPublicKey());

                // A new connection: a new handshake, which must present the renewed certificate.
                RecordingServerTrust newTrust = new RecordingServerTrust(cp.trustBundle());
                ManagedChannel fresh = RotationFixtures.channel(cp, newTrust);
                try {
                    RotationFixtures.call(fresh);
                    assertEquals(1, newTrust.leaves().size());
                    assertEquals(second.getSerialNumber(), newTrust.leaves().get(0).getSerialNumber(),
                            "a new handshake sees the renewed certificate");
                } finally {
                    fresh.shutdownNow();
                }

                // The connection opened before the renewal is still up, and was not re-handshaken.
                RotationFixtures.call(old);
                assertEquals(List.of(first), oldTrust.leaves(), "the open connection kept its session");

                // Renewed once, not at every check.
                Thread.sleep(5 * CHECK.toMillis());
                assertEquals(1, serving.renewals(), "renewed once, not again at the next checks");

                String metrics = cp.meshMetrics().scrape();
                assertEquals((double) second.getNotAfter().toInstant().getEpochSecond(),
                        metric(metrics, "attestmesh_server_certificate_not_after_seconds"),
                        "the metric carries the renewed certificate's notAfter");
                assertEquals(1.0, metric(metrics, "attestmesh_server_certificate_renewals_total"));
            } finally {
                old.shutdownNow();
            }
        }
    }

    /** The value of an untagged metric in a Prometheus text exposition. */
    static double metric(String exposition, String name) {
        return exposition.lines().filter(l -> l.startsWith(name + " ")).findFirst()
                .map(l -> Double.parseDouble(l.substring(name.length() + 1).strip().split(" ")[0]))
                .orElseThrow(() -> new AssertionError("no metric " + name + " in:\n" + exposition));
    }
}
