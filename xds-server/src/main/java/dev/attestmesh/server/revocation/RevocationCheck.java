package dev.attestmesh.server.revocation;

import java.util.Optional;

/**
 * Consulted by the attestation service after evidence is verified and appraised, before a certificate
 * is issued: a node matching a revocation rule gets no certificate.
 */
@FunctionalInterface
public interface RevocationCheck {
    /** Refuses nothing. */
    RevocationCheck NONE = subject -> Optional.empty();

    /** Why {@code subject} must be refused (naming the rule), or empty when no rule matches. */
    Optional<String> refusal(RevocationSubject subject);
}
