package dev.attestmesh.server.admin;

import dev.attestmesh.quote.device.TeeDetector;
import dev.attestmesh.server.ControlPlane;
import io.micronaut.context.annotation.Factory;
import io.micronaut.context.annotation.Value;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/** Creates the admin API's beans from configuration ({@code attestmesh.admin.*}). */
@Factory
public class AdminFactory {

    /** The EAR signing key the control plane loaded from its store (the same on every replica). */
    @Singleton
    dev.attestmesh.server.ear.EarSigningKey earSigningKey(ControlPlane controlPlane) {
        return controlPlane.earSigningKey();
    }

    /** Eager, so the first admin token exists (and its file path is logged) as soon as the server starts. */
    @io.micronaut.context.annotation.Context
    AdminTokens adminTokens(ControlPlane controlPlane, @Value("${attestmesh.admin.token:}") String configuredToken) {
        AdminTokens tokens = new AdminTokens(new AdminTokenStore(controlPlane.database()), Clock.systemUTC());
        try {
            tokens.bootstrap(configuredToken.isBlank() ? Optional.empty() : Optional.of(configuredToken),
                    controlPlane.settings().dataDir());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the first admin token into the data directory: "
                    + e.getMessage(), e);
        }
        return tokens;
    }

    /**
     * {@code attestmesh.admin.cert-identities}: comma-separated {@code <spiffe-id>=<role>} pairs of reserved
     * admin identities, e.g. {@code spiffe://attestmesh.local/attestmesh/admin/alice=admin}. Eager, so a
     * wrong entry stops the start instead of the first request.
     */
    @io.micronaut.context.annotation.Context
    AdminCertificateIdentities adminCertificateIdentities(ControlPlane controlPlane,
            @Value("${attestmesh.admin.cert-identities:}") String identities) {
        return new AdminCertificateIdentities(controlPlane.settings().trustDomain(), parseIdentities(identities),
                controlPlane::trustBundle, Clock.systemUTC());
    }

    @Singleton
    ControlPlaneAttestation controlPlaneAttestation(ControlPlane controlPlane) {
        return new ControlPlaneAttestation(() -> controlPlane.meshCa().root(), TeeDetector.system()::detect);
    }

    static Map<String, AdminRole> parseIdentities(String text) {
        Map<String, AdminRole> out = new LinkedHashMap<>();
        for (String part : text.split(",")) {
            String p = part.trim();
            if (p.isEmpty()) {
                continue;
            }
            int eq = p.lastIndexOf('=');
            if (eq <= 0 || !p.startsWith("spiffe://")) {
                throw new IllegalArgumentException("attestmesh.admin.cert-identities entry '" + p
                        + "' must be <spiffe-id>=<viewer|operator|admin>");
            }
            out.put(p.substring(0, eq).trim(), AdminRole.parse(p.substring(eq + 1)));
        }
        return out;
    }
}
