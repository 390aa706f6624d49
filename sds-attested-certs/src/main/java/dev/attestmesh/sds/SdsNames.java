package dev.attestmesh.sds;

/**
 * SDS secret names AttestMesh serves (fixed by the design so Envoy configs, the agent's SDS socket
 * and the control plane agree).
 */
public final class SdsNames {
    /** The node's certificate chain and private key (tls_certificate). */
    public static final String DEFAULT = "default";
    /** The mesh trust bundle (validation_context). */
    public static final String ROOTCA = "ROOTCA";
    private static final String POLICY_PREFIX = "policy:";
    private static final String SECRET_PREFIX = "secret:";

    private SdsNames() {}

    /** Validation context that also requires the peer to hold policy {@code id}. */
    public static String policy(String id) {
        return POLICY_PREFIX + id;
    }

    /**
     * An operator secret released to the node ({@code generic_secret}, docs/secrets.md): {@code secret:<name>}.
     * Present in a node's snapshot only while the node satisfies the secret's access rule.
     */
    public static String secret(String name) {
        return SECRET_PREFIX + name;
    }

    /** The policy ID in a {@code policy:<id>} secret name, if it is one. */
    public static java.util.Optional<String> policyIdOf(String secretName) {
        return secretName.startsWith(POLICY_PREFIX) && secretName.length() > POLICY_PREFIX.length()
                ? java.util.Optional.of(secretName.substring(POLICY_PREFIX.length()))
                : java.util.Optional.empty();
    }
}
