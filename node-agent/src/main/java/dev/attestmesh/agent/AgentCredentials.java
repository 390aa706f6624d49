package dev.attestmesh.agent;

import dev.attestmesh.api.v1.Claims;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;

/** What one successful attestation produced. */
public record AgentCredentials(List<X509Certificate> chain, List<X509Certificate> trustBundle, Claims claims,
        Instant expiresAt, Instant renewAfter) {
    public AgentCredentials {
        chain = List.copyOf(chain);
        trustBundle = List.copyOf(trustBundle);
    }

    public X509Certificate leaf() {
        return chain.getFirst();
    }
}
