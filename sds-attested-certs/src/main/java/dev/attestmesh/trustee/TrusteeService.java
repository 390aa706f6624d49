package dev.attestmesh.trustee;

import java.net.URI;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;

/**
 * One Trustee attestation service this control plane trusts, as its operator configured it: policies
 * may name only these addresses, and tokens count only when signed by this key.
 *
 * @param address the AS base URL, exactly as policies write it in {@code asAddr}
 * @param tokenKey the public key of the AS's token signer (from its key or certificate file)
 * @param ca CA certificates for TLS to the AS; empty to use the JDK's default trust store
 */
public record TrusteeService(URI address, PublicKey tokenKey, List<X509Certificate> ca) {
    public TrusteeService {
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(tokenKey, "tokenKey");
        ca = List.copyOf(ca);
        dev.attestmesh.policy.DelegatedVerifier.problemWithAddress(address).ifPresent(p -> {
            throw new IllegalArgumentException(p);
        });
    }
}
