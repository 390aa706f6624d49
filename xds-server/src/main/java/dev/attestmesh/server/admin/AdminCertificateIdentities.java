package dev.attestmesh.server.admin;

import java.security.GeneralSecurityException;
import java.security.cert.CertPathValidator;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Admin identities by client certificate: a certificate that chains to the mesh CA's root (through an
 * intermediate of the current trust bundle), is currently valid, and whose single URI SAN is a SPIFFE ID
 * listed in {@code attestmesh.admin.cert-identities} (SPIFFE ID to role) authenticates with that role.
 */
public final class AdminCertificateIdentities {
    private static final int URI_SAN = 6;

    private final Map<String, AdminRole> roles;
    private final Supplier<List<X509Certificate>> trustBundle;

    public AdminCertificateIdentities(Map<String, AdminRole> roles, Supplier<List<X509Certificate>> trustBundle) {
        this.roles = Map.copyOf(roles);
        this.trustBundle = trustBundle;
    }

    /** The principal for {@code certificate}, or empty when it is not a listed, valid mesh certificate. */
    public Optional<AdminPrincipal> authenticate(Certificate certificate) {
        if (roles.isEmpty() || !(certificate instanceof X509Certificate leaf)) {
            return Optional.empty();
        }
        Optional<String> spiffe = spiffeId(leaf);
        if (spiffe.isEmpty() || !roles.containsKey(spiffe.get()) || !chainsToMeshRoot(leaf)) {
            return Optional.empty();
        }
        return Optional.of(new AdminPrincipal(spiffe.get(), spiffe.get(), roles.get(spiffe.get())));
    }

    private boolean chainsToMeshRoot(X509Certificate leaf) {
        List<X509Certificate> bundle = trustBundle.get();
        try {
            X509Certificate root = bundle.getFirst();
            for (X509Certificate intermediate : bundle.subList(1, bundle.size())) {
                if (!intermediate.getSubjectX500Principal().equals(leaf.getIssuerX500Principal())) {
                    continue;
                }
                CertificateFactory cf = CertificateFactory.getInstance("X.509");
                PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(root, null)));
                params.setRevocationEnabled(false); // mesh certificates are short-lived; revocation is the registry's job
                try {
                    CertPathValidator.getInstance("PKIX").validate(cf.generateCertPath(List.of(leaf, intermediate)), params);
                    return true;
                } catch (GeneralSecurityException e) {
                    // try the next intermediate with the same name (during rotation overlap)
                }
            }
            return false;
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    static Optional<String> spiffeId(X509Certificate c) {
        try {
            Collection<List<?>> sans = c.getSubjectAlternativeNames();
            List<String> uris = new ArrayList<>();
            if (sans != null) {
                for (List<?> san : sans) {
                    if (san.size() >= 2 && Integer.valueOf(URI_SAN).equals(san.get(0))) {
                        uris.add(String.valueOf(san.get(1)));
                    }
                }
            }
            return uris.size() == 1 && uris.getFirst().startsWith("spiffe://") ? Optional.of(uris.getFirst())
                    : Optional.empty();
        } catch (GeneralSecurityException e) {
            return Optional.empty();
        }
    }
}
