package dev.attestmesh.sds;

import dev.attestmesh.ca.AttestMeshOids;
import dev.attestmesh.ca.Pem;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * Builds the Envoy SDS {@link Secret} resources AttestMesh serves:
 *
 * <ul>
 *   <li>{@value SdsNames#DEFAULT}: {@code tls_certificate} with the chain inline (PEM) and the
 *       private key by {@code filename}, because the key never leaves the node (the agent writes it);
 *   <li>{@value SdsNames#ROOTCA}: {@code validation_context} trusting the mesh trust bundle;
 *   <li>{@code policy:<id>}: the same trust plus {@code match_typed_subject_alt_names} requiring an
 *       {@code otherName} SAN of type {@link AttestMeshOids#POLICY_SAN} whose value is exactly
 *       {@code <id>}, so the peer must hold that policy.
 * </ul>
 */
public final class SdsSecretFactory {
    private SdsSecretFactory() {}

    /** The {@code default} secret: certificate chain (leaf first) and the node's private key file. */
    public static Secret tlsCertificate(List<X509Certificate> chain, String privateKeyFilename) {
        if (chain.isEmpty()) {
            throw new IllegalArgumentException("certificate chain is empty");
        }
        return tlsCertificatePem(Pem.certificates(chain), privateKeyFilename);
    }

    /**
     * The {@code default} secret from a chain already in PEM (leaf first), as the control plane stores
     * it; saves decoding and re-encoding the chain on every snapshot.
     */
    public static Secret tlsCertificatePem(String chainPem, String privateKeyFilename) {
        if (!chainPem.startsWith(Pem.CERTIFICATE_HEADER)) {
            throw new IllegalArgumentException("certificate chain is not PEM (it must start with "
                    + Pem.CERTIFICATE_HEADER + ")");
        }
        if (privateKeyFilename.isBlank()) {
            throw new IllegalArgumentException("private key filename is empty");
        }
        return Secret.newBuilder().setName(SdsNames.DEFAULT).setTlsCertificate(TlsCertificate.newBuilder()
                .setCertificateChain(DataSource.newBuilder().setInlineString(chainPem))
                .setPrivateKey(DataSource.newBuilder().setFilename(privateKeyFilename))).build();
    }

    /** The {@code ROOTCA} secret. */
    public static Secret rootCa(List<X509Certificate> trustBundle) {
        return Secret.newBuilder().setName(SdsNames.ROOTCA).setValidationContext(trust(trustBundle)).build();
    }

    /** The {@code policy:<id>} secret. */
    public static Secret policyValidation(String policyId, List<X509Certificate> trustBundle) {
        if (policyId.isEmpty()) {
            throw new IllegalArgumentException("policy id is empty");
        }
        return Secret.newBuilder().setName(SdsNames.policy(policyId)).setValidationContext(trust(trustBundle)
                .addMatchTypedSubjectAltNames(SubjectAltNameMatcher.newBuilder()
                        .setSanType(SubjectAltNameMatcher.SanType.OTHER_NAME)
                        .setOid(AttestMeshOids.POLICY_SAN)
                        .setMatcher(StringMatcher.newBuilder().setExact(policyId)))).build();
    }

    /**
     * The {@code secret:<name>} secret: an operator secret's value inline as an Envoy {@code generic_secret}
     * (docs/secrets.md). Built only for a node the secret is released to.
     */
    public static Secret generic(String name, byte[] value) {
        if (name.isEmpty()) {
            throw new IllegalArgumentException("secret name is empty");
        }
        return Secret.newBuilder().setName(SdsNames.secret(name)).setGenericSecret(
                io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.GenericSecret.newBuilder()
                        .setSecret(DataSource.newBuilder().setInlineBytes(com.google.protobuf.ByteString.copyFrom(value))))
                .build();
    }

    private static CertificateValidationContext.Builder trust(List<X509Certificate> trustBundle) {
        if (trustBundle.isEmpty()) {
            throw new IllegalArgumentException("trust bundle is empty");
        }
        return CertificateValidationContext.newBuilder()
                .setTrustedCa(DataSource.newBuilder().setInlineString(Pem.certificates(trustBundle)));
    }
}
