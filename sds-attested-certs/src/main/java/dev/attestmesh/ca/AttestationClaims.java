package dev.attestmesh.ca;

import dev.attestmesh.policy.PolicyRef;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerifiedEvidence;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * What a node's attestation established, as carried in the certificate claims extension and the
 * registry. Values are immutable; {@code attestedAt} is kept at whole-second precision because that
 * is what the DER encoding carries, so encode/decode round-trips to an equal value.
 *
 * @param version claims structure version (currently 1)
 * @param nodeId the attested node
 * @param tee evidence type
 * @param measurements byte-string claims, name to lower-case hex (sorted by name)
 * @param tcbStatus platform TCB status, Intel spelling (e.g. {@code UpToDate})
 * @param advisoryIds advisory IDs of the matched TCB level
 * @param policies satisfied policies with the versions they were appraised at
 * @param evidenceSha256 SHA-256 of the evidence bytes (32 bytes)
 * @param attestedAt when the evidence was appraised
 * @param insecure true for simulated evidence, which proves nothing
 * @param debug whether the TEE runs in debug mode
 */
public record AttestationClaims(int version, String nodeId, TeeType tee, Map<String, String> measurements,
        String tcbStatus, List<String> advisoryIds, List<PolicyRef> policies, byte[] evidenceSha256,
        Instant attestedAt, boolean insecure, boolean debug) {

    /** The claims structure version this code writes. */
    public static final int CURRENT_VERSION = 1;
    private static final java.util.regex.Pattern LOWER_HEX = java.util.regex.Pattern.compile("[0-9a-f]*");

    public AttestationClaims {
        if (version != CURRENT_VERSION) {
            throw new IllegalArgumentException("unsupported claims version " + version);
        }
        Objects.requireNonNull(nodeId, "nodeId");
        Objects.requireNonNull(tee, "tee");
        Objects.requireNonNull(tcbStatus, "tcbStatus");
        TreeMap<String, String> m = new TreeMap<>();
        for (var e : measurements.entrySet()) {
            String hex = e.getValue().toLowerCase(java.util.Locale.ROOT);
            if (hex.length() % 2 != 0 || !LOWER_HEX.matcher(hex).matches()) {
                throw new IllegalArgumentException("measurement '" + e.getKey() + "' is not an even number of hex digits");
            }
            m.put(e.getKey(), hex);
        }
        measurements = java.util.Collections.unmodifiableMap(m);
        advisoryIds = List.copyOf(advisoryIds);
        policies = List.copyOf(policies);
        evidenceSha256 = evidenceSha256.clone();
        if (evidenceSha256.length != 32) {
            throw new IllegalArgumentException("evidence SHA-256 must be 32 bytes, got " + evidenceSha256.length);
        }
        attestedAt = attestedAt.truncatedTo(ChronoUnit.SECONDS);
    }

    /** Claims for a node whose verified evidence satisfied {@code satisfied}. */
    public static AttestationClaims of(String nodeId, VerifiedEvidence ev, List<PolicyRef> satisfied, Instant attestedAt) {
        return new AttestationClaims(CURRENT_VERSION, nodeId, ev.tee(), ev.measurements(), ev.tcbStatus().intelName(),
                ev.advisoryIds(), satisfied, ev.evidenceSha256(), attestedAt, ev.insecure(), ev.debug());
    }

    @Override
    public byte[] evidenceSha256() {
        return evidenceSha256.clone();
    }

    public String evidenceSha256Hex() {
        return HexFormat.of().formatHex(evidenceSha256);
    }

    /** The IDs of {@link #policies()}, in order. */
    public List<String> policyIds() {
        return policies.stream().map(PolicyRef::id).toList();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AttestationClaims c && version == c.version && nodeId.equals(c.nodeId) && tee == c.tee
                && measurements.equals(c.measurements) && tcbStatus.equals(c.tcbStatus)
                && advisoryIds.equals(c.advisoryIds) && policies.equals(c.policies)
                && Arrays.equals(evidenceSha256, c.evidenceSha256) && attestedAt.equals(c.attestedAt)
                && insecure == c.insecure && debug == c.debug;
    }

    @Override
    public int hashCode() {
        return Objects.hash(version, nodeId, tee, measurements, tcbStatus, advisoryIds, policies,
                Arrays.hashCode(evidenceSha256), attestedAt, insecure, debug);
    }

    @Override
    public String toString() {
        return "AttestationClaims[version=" + version + ", nodeId=" + nodeId + ", tee=" + tee.wireName()
                + ", measurements=" + measurements + ", tcbStatus=" + tcbStatus + ", advisoryIds=" + advisoryIds
                + ", policies=" + policies + ", evidenceSha256=" + evidenceSha256Hex() + ", attestedAt=" + attestedAt
                + ", insecure=" + insecure + ", debug=" + debug + "]";
    }
}
