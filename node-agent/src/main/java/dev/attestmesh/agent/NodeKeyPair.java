package dev.attestmesh.agent;

import dev.attestmesh.ca.EcdsaContentSigner;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.spec.ECGenParameterSpec;
import java.util.Base64;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/**
 * The node's ECDSA P-256 key pair, generated inside the TEE. The private key is only ever written to
 * the node's own output directory (for Envoy) and never sent anywhere; the control plane sees only
 * CSRs signed with it.
 */
public final class NodeKeyPair {
    private final KeyPair keyPair;

    private NodeKeyPair(KeyPair keyPair) {
        this.keyPair = keyPair;
    }

    public static NodeKeyPair generate() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            return new NodeKeyPair(g.generateKeyPair());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("P-256 key generation is not available in this JVM", e);
        }
    }

    /** DER SubjectPublicKeyInfo of the public key: what the evidence's report data binds. */
    private static final int MAX_COMMON_NAME_CHARS = 64;

    public byte[] subjectPublicKeyInfoDer() {
        return keyPair.getPublic().getEncoded();
    }

    /**
     * A PKCS#10 CSR (DER) for {@code CN=<nodeId>}, self-signed with the node key. The control plane reads
     * only the key from it; a node id longer than a common name may be (64, RFC 5280) is cut to fit.
     */
    public byte[] csrDer(String nodeId) {
        String cn = nodeId.length() > MAX_COMMON_NAME_CHARS ? nodeId.substring(0, MAX_COMMON_NAME_CHARS) : nodeId;
        try {
            var builder = new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=" + escapeRdn(cn)),
                    keyPair.getPublic());
            return builder.build(EcdsaContentSigner.of(keyPair.getPrivate())).getEncoded();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The private key, for TLS inside this process (Envoy reads it from the 0600 file); never sent anywhere. */
    public PrivateKey privateKey() {
        return keyPair.getPrivate();
    }

    /** PKCS#8 PEM of the private key, for the 0600 key file that Envoy reads. */
    String privateKeyPem() {
        String b64 = Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(keyPair.getPrivate().getEncoded());
        return "-----BEGIN PRIVATE KEY-----\n" + b64 + "\n-----END PRIVATE KEY-----\n";
    }

    private static String escapeRdn(String v) {
        return v.replaceAll("([,+\"\\\\<>;=])", "\\\\$1");
    }
}
