package dev.attestmesh.ca;

/**
 * Object identifiers fixed by the AttestMesh certificate profile. They live under the UUID arc
 * {@code 2.25} (ITU-T X.667), so no registration is needed and collisions are practically impossible.
 */
public final class AttestMeshOids {
    /** Non-critical X.509 extension carrying DER-encoded {@link AttestationClaims}. */
    public static final String CLAIMS_EXTENSION = "2.25.72424510042917349308343247650593939987.1";
    /** Type-id of the {@code otherName} SAN naming one satisfied policy ID (value: UTF8String). */
    public static final String POLICY_SAN = "2.25.72424510042917349308343247650593939987.2";
    /**
     * Extended key usage of the issuance log's checkpoint signing certificate ({@link CheckpointKey}): the
     * only purpose that certificate's key serves.
     */
    public static final String CHECKPOINT_SIGNING_EKU = "2.25.72424510042917349308343247650593939987.3";

    private AttestMeshOids() {}
}
