package dev.attestmesh.authz.peer;

import java.security.GeneralSecurityException;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import javax.security.auth.x500.X500Principal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks that a peer's leaf was issued by the mesh CA: signed by an issuing intermediate of the current
 * trust bundle which itself verifies to a root of that bundle (PKIX, revocation left to the registry).
 * The intermediates are verified once per bundle and kept, so a leaf costs one signature check: its
 * own. The bundle is re-verified when it changes and when any of its certificates expires.
 *
 * <p>Thread-safe; an instance caches the last bundle it saw, so share one per trust bundle source.
 */
public final class MeshChainVerifier {
    private static final Logger LOG = LoggerFactory.getLogger(MeshChainVerifier.class);
    /** How long a bundle without a root is remembered before it is looked at again. */
    private static final Duration BROKEN_BUNDLE_RECHECK = Duration.ofSeconds(5);

    /** A trust bundle with its issuing intermediates verified to one of its roots, by subject. */
    private record VerifiedBundle(List<X509Certificate> bundle, Map<X500Principal, List<X509Certificate>> intermediatesBySubject,
            Optional<String> problem, Instant recheckAt) {}

    private volatile VerifiedBundle verified;

    /**
     * Why {@code leaf} does not chain through a bundle intermediate to a bundle root at {@code now};
     * empty when it does. The leaf's own validity period is not checked here (callers report it first,
     * in their own words). Reasons quote the unverified leaf's issuer only through {@link UntrustedText}.
     */
    public Optional<String> problem(X509Certificate leaf, List<X509Certificate> bundle, Instant now) {
        VerifiedBundle vb = verified;
        if (vb == null || (vb.bundle() != bundle && !vb.bundle().equals(bundle)) || !now.isBefore(vb.recheckAt())) {
            vb = verify(bundle, now);
            verified = vb;
        }
        if (vb.problem().isPresent()) {
            return vb.problem();
        }
        List<X509Certificate> candidates = vb.intermediatesBySubject().getOrDefault(leaf.getIssuerX500Principal(), List.of());
        String lastProblem = null;
        for (X509Certificate issuer : candidates) { // more than one only while a rotated intermediate keeps its name
            try {
                issuer.checkValidity(Date.from(now));
            } catch (CertificateExpiredException | CertificateNotYetValidException e) {
                lastProblem = "issuing intermediate " + issuer.getSubjectX500Principal().getName()
                        + " is not valid at " + now;
                continue;
            }
            try {
                CertificateFactory cf = CertificateFactory.getInstance("X.509");
                PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(issuer, null)));
                params.setRevocationEnabled(false); // revocation is the registry's job
                params.setDate(Date.from(now));
                CertPathValidator.getInstance("PKIX").validate(cf.generateCertPath(List.of(leaf)), params);
                return Optional.empty();
            } catch (CertPathValidatorException e) {
                String m = String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT);
                // PKIX reports a signature by another key as "does not chain with any of the trust anchors"
                lastProblem = e.getReason() == CertPathValidatorException.BasicReason.INVALID_SIGNATURE
                        || m.contains("signature") || m.contains("does not chain") ? null
                        : "peer certificate chain does not verify to the mesh trust bundle: "
                                + UntrustedText.quote(String.valueOf(e.getMessage()));
            } catch (GeneralSecurityException e) {
                lastProblem = "peer certificate chain could not be checked: "
                        + UntrustedText.quote(String.valueOf(e.getMessage()));
            }
        }
        if (lastProblem == null) {
            return Optional.of("peer certificate was not issued by any intermediate in the mesh trust bundle "
                    + "(issuer " + UntrustedText.quote(leaf.getIssuerX500Principal().getName())
                    + "; other CA or altered certificate)");
        }
        return Optional.of(lastProblem);
    }

    /** Verifies each intermediate of {@code bundle} to a root of it (PKIX, at {@code now}). */
    private static VerifiedBundle verify(List<X509Certificate> bundle, Instant now) {
        Set<TrustAnchor> anchors = new HashSet<>();
        List<X509Certificate> intermediates = new ArrayList<>();
        for (X509Certificate c : bundle) {
            if (c.getSubjectX500Principal().equals(c.getIssuerX500Principal())) {
                anchors.add(new TrustAnchor(c, null));
            } else {
                intermediates.add(c);
            }
        }
        if (anchors.isEmpty()) {
            return new VerifiedBundle(List.copyOf(bundle), Map.of(),
                    Optional.of("mesh trust bundle has no root certificate; cannot verify peers"),
                    now.plus(BROKEN_BUNDLE_RECHECK));
        }
        Map<X500Principal, List<X509Certificate>> bySubject = new HashMap<>();
        for (X509Certificate i : intermediates) {
            if (i.getBasicConstraints() < 0) {
                LOG.warn("trust bundle certificate {} is not a CA; ignored", i.getSubjectX500Principal().getName());
                continue;
            }
            try {
                CertificateFactory cf = CertificateFactory.getInstance("X.509");
                PKIXParameters params = new PKIXParameters(anchors);
                params.setRevocationEnabled(false);
                params.setDate(Date.from(now));
                CertPathValidator.getInstance("PKIX").validate(cf.generateCertPath(List.of(i)), params);
                bySubject.computeIfAbsent(i.getSubjectX500Principal(), k -> new ArrayList<>()).add(i);
            } catch (GeneralSecurityException e) {
                LOG.warn("trust bundle intermediate {} does not verify to a bundle root ({}); ignored",
                        i.getSubjectX500Principal().getName(), e.getMessage());
            }
        }
        // Re-verify when any bundle certificate expires (a root's expiry is not rechecked per call)
        Instant recheck = bundle.stream().map(c -> c.getNotAfter().toInstant()).min(Instant::compareTo)
                .orElse(now).plus(Duration.ofSeconds(1));
        return new VerifiedBundle(List.copyOf(bundle), Map.copyOf(bySubject), Optional.empty(), recheck);
    }
}
