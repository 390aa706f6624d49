package dev.attestmesh.envoy;

import java.util.regex.Pattern;

/**
 * The SDS secret names AttestMesh serves and Envoy configs refer to (DESIGN section 6). Names are opaque
 * to Envoy, so every config and the control plane must spell them exactly like this.
 */
public final class SdsSecretNames {

    /** The node's own certificate chain and private key reference. */
    public static final String DEFAULT = "default";
    /** Validation context with the mesh trust bundle. */
    public static final String ROOTCA = "ROOTCA";
    /** Prefix of the per-policy validation contexts, {@code policy:<id>}. */
    public static final String POLICY_PREFIX = "policy:";

    private static final Pattern POLICY_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");

    private SdsSecretNames() {
    }

    /**
     * The validation-context secret requiring policy {@code policyId}, e.g. {@code policy:default}.
     *
     * @throws IllegalArgumentException if the ID is not a policy ID (letters, digits, {@code . _ -}, at most 63)
     */
    public static String policy(String policyId) {
        requirePolicyId(policyId);
        return POLICY_PREFIX + policyId;
    }

    /** Checks {@code policyId} can appear in a secret name and in the comma-separated policy header. */
    static String requirePolicyId(String policyId) {
        if (policyId == null || !POLICY_ID.matcher(policyId).matches()) {
            throw new IllegalArgumentException("policy ID \"" + policyId + "\" is not valid: use 1-63 letters, digits,"
                    + " '.', '_' or '-', starting with a letter or digit (e.g. \"default\")");
        }
        return policyId;
    }
}
