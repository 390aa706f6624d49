package dev.attestmesh.server.admin;

import dev.attestmesh.identity.ReservedClientCertificates;
import dev.attestmesh.identity.ReservedIdentities;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Admin identities by client certificate ({@code attestmesh.admin.cert-identities}, SPIFFE ID to role).
 *
 * <p>Every configured identity must be a reserved admin identity of the mesh's trust domain, {@code
 * spiffe://<td>/attestmesh/admin/<name>}; anything else is refused on construction, because an
 * ordinary SPIFFE ID is one that attestation hands out to nodes. A presented certificate authenticates
 * with the listed role only when {@link ReservedClientCertificates#verify} accepts it (chains to the mesh
 * CA's current bundle, valid now, no attestation claims extension: a node leaf never qualifies) and its
 * single URI SAN is a listed admin identity. Such certificates come from {@code attestmesh ca issue-client
 * --admin NAME}. Thread-safe.
 */
public final class AdminCertificateIdentities {
    private static final Logger LOG = LoggerFactory.getLogger(AdminCertificateIdentities.class);

    private final Map<String, AdminRole> roles;
    private final Supplier<List<X509Certificate>> trustBundle;
    private final Clock clock;

    /**
     * @throws IllegalArgumentException naming every configured identity that is not a reserved admin
     *     identity of {@code trustDomain}
     */
    public AdminCertificateIdentities(String trustDomain, Map<String, AdminRole> roles,
            Supplier<List<X509Certificate>> trustBundle, Clock clock) {
        List<String> wrong = roles.keySet().stream()
                .filter(id -> ReservedIdentities.adminName(trustDomain, id).isEmpty()).sorted().toList();
        if (!wrong.isEmpty()) {
            throw new IllegalArgumentException("attestmesh.admin.cert-identities lists " + wrong + ", which "
                    + (wrong.size() == 1 ? "is not a reserved admin identity" : "are not reserved admin identities")
                    + " of trust domain '" + trustDomain + "': admin client certificates name spiffe://" + trustDomain
                    + "/attestmesh/admin/<name> and are issued with 'attestmesh ca issue-client --admin <name>'"
                    + " (any other SPIFFE ID could be held by an attested node)");
        }
        this.roles = Map.copyOf(roles);
        this.trustBundle = trustBundle;
        this.clock = clock;
    }

    /** The principal for {@code certificate}, or empty when it is not a listed, valid admin certificate. */
    public Optional<AdminPrincipal> authenticate(Certificate certificate) {
        if (roles.isEmpty() || !(certificate instanceof X509Certificate leaf)) {
            return Optional.empty();
        }
        switch (ReservedClientCertificates.verify(leaf, trustBundle.get(), clock.instant())) {
            case ReservedClientCertificates.Refused r -> {
                LOG.debug("admin client certificate refused: {}", r.reason());
                return Optional.empty();
            }
            case ReservedClientCertificates.Accepted a -> {
                AdminRole role = roles.get(a.id().uri());
                if (role == null) {
                    LOG.debug("client certificate {} is not listed in attestmesh.admin.cert-identities", a.id().uri());
                    return Optional.empty();
                }
                return Optional.of(new AdminPrincipal(a.id().uri(), a.id().uri(), role));
            }
        }
    }
}
