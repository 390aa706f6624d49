package dev.attestmesh.identity;

import dev.attestmesh.ca.AttestMeshOids;
import dev.attestmesh.ca.SpiffeId;
import java.security.GeneralSecurityException;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateParsingException;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.List;
import java.util.Set;

/**
 * Checks a client certificate presented as one of AttestMesh's own components (an admin client or an
 * ext_authz replica). Such certificates are issued by an operator ({@code attestmesh ca issue-client}),
 * never by attestation, so the check is the reverse of a node's: the certificate must chain to the mesh
 * root through an intermediate of the current trust bundle, be valid now, carry <em>no</em> attestation
 * claims extension (a node leaf always carries one), and have exactly one URI SAN, which is a reserved
 * identity ({@link ReservedIdentities}). Callers then compare that identity with what they allow.
 *
 * <p>Stateless and thread-safe.
 */
public final class ReservedClientCertificates {
    private static final int URI_SAN = 6;

    private ReservedClientCertificates() {}

    /** The outcome of {@link #verify}. */
    public sealed interface Result permits Accepted, Refused {}

    /** The certificate is a valid reserved client certificate of the mesh CA naming {@code id}. */
    public record Accepted(SpiffeId id) implements Result {}

    /** The certificate is refused; {@code reason} says why and what to do (no key material). */
    public record Refused(String reason) implements Result {}

    /**
     * @param leaf the presented leaf
     * @param trustBundle the mesh trust bundle: the root first, then intermediates
     * @param now the time the certificate must be valid at
     */
    public static Result verify(X509Certificate leaf, List<X509Certificate> trustBundle, Instant now) {
        if (leaf.getNonCriticalExtensionOIDs() != null
                && leaf.getNonCriticalExtensionOIDs().contains(AttestMeshOids.CLAIMS_EXTENSION)
                || leaf.getCriticalExtensionOIDs() != null
                && leaf.getCriticalExtensionOIDs().contains(AttestMeshOids.CLAIMS_EXTENSION)) {
            return new Refused("the certificate carries the attestation claims extension, so it is a node certificate;"
                    + " AttestMesh components authenticate with an operator-issued certificate"
                    + " (attestmesh ca issue-client)");
        }
        List<String> uris = uriSans(leaf);
        if (uris.size() != 1) {
            return new Refused("the certificate carries " + uris.size() + " URI SANs; a reserved client certificate"
                    + " carries exactly one SPIFFE ID");
        }
        SpiffeId id;
        try {
            id = SpiffeId.parse(uris.getFirst());
        } catch (IllegalArgumentException e) {
            return new Refused("the certificate's URI SAN is not a SPIFFE ID: " + e.getMessage());
        }
        if (!ReservedIdentities.isReserved(id)) {
            return new Refused(id.uri() + " is not a reserved AttestMesh identity (spiffe://<td>"
                    + ReservedIdentities.PREFIX + "/...); issue one with attestmesh ca issue-client");
        }
        if (now.isBefore(leaf.getNotBefore().toInstant()) || !now.isBefore(leaf.getNotAfter().toInstant())) {
            return new Refused("the certificate of " + id.uri() + " is valid from " + leaf.getNotBefore().toInstant()
                    + " to " + leaf.getNotAfter().toInstant() + ", not now; issue a new one");
        }
        if (!chainsToMeshRoot(leaf, trustBundle, now)) {
            return new Refused("the certificate of " + id.uri() + " does not chain to the mesh CA's current trust"
                    + " bundle; issue a new one from this control plane");
        }
        return new Accepted(id);
    }

    private static boolean chainsToMeshRoot(X509Certificate leaf, List<X509Certificate> bundle, Instant now) {
        if (bundle.isEmpty()) {
            return false;
        }
        X509Certificate root = bundle.getFirst();
        for (X509Certificate intermediate : bundle.subList(1, bundle.size())) {
            if (!intermediate.getSubjectX500Principal().equals(leaf.getIssuerX500Principal())) {
                continue;
            }
            try {
                PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(root, null)));
                params.setRevocationEnabled(false); // short-lived; the operator rotates or lets them expire
                params.setDate(Date.from(now));
                CertPathValidator.getInstance("PKIX").validate(
                        CertificateFactory.getInstance("X.509").generateCertPath(List.of(leaf, intermediate)), params);
                return true;
            } catch (GeneralSecurityException e) {
                // another intermediate with the same name may have signed it (rotation overlap)
            }
        }
        return false;
    }

    /** Every URI SAN of {@code c}, in order; empty when it has none or they cannot be parsed. */
    public static List<String> uriSans(X509Certificate c) {
        List<String> out = new ArrayList<>();
        try {
            Collection<List<?>> sans = c.getSubjectAlternativeNames();
            if (sans != null) {
                for (List<?> san : sans) {
                    if (san.size() >= 2 && Integer.valueOf(URI_SAN).equals(san.get(0))) {
                        out.add(String.valueOf(san.get(1)));
                    }
                }
            }
        } catch (CertificateParsingException e) {
            return List.of();
        }
        return out;
    }
}
