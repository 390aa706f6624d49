package dev.attestmesh.server.health;

import dev.attestmesh.ca.MeshCa;
import dev.attestmesh.server.ca.ServingCertificate;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;

/** A mesh CA and a serving certificate from it, without a control plane. */
final class ControlPlaneLessFixture {
    private final MeshCa ca = MeshCa.generate("attestmesh.local", Clock.systemUTC());
    private final ServingCertificate serving = new ServingCertificate(() -> ca, "attestmesh.local", List.of("localhost"),
            Duration.ofHours(1), Duration.ofMinutes(20), Clock.systemUTC());

    MeshCa ca() {
        return ca;
    }

    X509Certificate serving() {
        return serving.certificate();
    }
}
