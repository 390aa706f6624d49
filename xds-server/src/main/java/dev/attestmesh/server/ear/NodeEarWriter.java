package dev.attestmesh.server.ear;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSObject;
import com.nimbusds.jose.Payload;
import com.nimbusds.jose.crypto.ECDSASigner;
import dev.attestmesh.quote.TcbStatus;
import dev.attestmesh.quote.VerifiedEvidence;
import dev.attestmesh.server.registry.NodeEntry;
import dev.attestmesh.trustee.DelegatedClaims;
import dev.attestmesh.trustee.EarStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * A node's latest appraisal as an EAR (IETF RATS "EAT Attestation Results", JWT form, Veraison profile
 * {@value #PROFILE}), so that relying parties that consume EAR (Trustee's KBS and the like) can use
 * AttestMesh's results. One submodule, named by the TEE type, carries:
 * <ul>
 *   <li>{@code ear.status}: affirming when the node holds its identity on hardware evidence with an
 *       up-to-date TCB; warning for any other TCB status, debug TEEs, the simulated TEE, or evidence only an
 *       attestation service verified (the node's record is only given for ATTESTED nodes);</li>
 *   <li>{@code ear.trustworthiness-vector}: {@code instance-identity} 2 (the key was born in the TEE and
 *       bound to a fresh nonce), {@code hardware} 2 or 32 (TCB status; 32 also for the simulator),
 *       {@code configuration} 2 or 32 (debug), {@code executables} 2 (reference values of every
 *       satisfied policy matched);</li>
 *   <li>{@code ear.appraisal-policy-id}: {@code attestmesh:<policy>@<version>,...};</li>
 *   <li>{@code ear.veraison.annotated-evidence}: the node, identity, TEE, TCB status, satisfied policies
 *       and the verified claims, as the registry keeps them.</li>
 * </ul>
 * Stateless apart from the key; thread-safe.
 */
public final class NodeEarWriter {
    public static final String PROFILE = "tag:github.com,2023:veraison/ear";
    public static final String DEVELOPER = "https://github.com/attestmesh";
    static final Duration LIFETIME = Duration.ofMinutes(5);

    private final EarSigningKey key;
    private final String build;

    public NodeEarWriter(EarSigningKey key, String build) {
        this.key = key;
        this.build = build;
    }

    /** The signed EAR of an ATTESTED node's record, issued at {@code now}. */
    public String token(NodeEntry e, Instant now) {
        VerifiedEvidence ev = e.evidence();
        boolean delegatedOnly = ev.numbers().getOrDefault(DelegatedClaims.DELEGATED, 0L) != 0;
        int hardware = ev.tcbStatus() == TcbStatus.UP_TO_DATE && !ev.insecure() ? 2 : 32;
        int configuration = ev.debug() ? 32 : 2;
        Map<String, Object> tv = new LinkedHashMap<>();
        tv.put("instance-identity", 2);
        tv.put("configuration", configuration);
        tv.put("executables", e.satisfiedPolicies().isEmpty() ? 0 : 2);
        tv.put("hardware", hardware);
        EarStatus status = hardware == 2 && configuration == 2 && !delegatedOnly && !e.satisfiedPolicies().isEmpty()
                ? EarStatus.AFFIRMING : EarStatus.WARNING;
        Map<String, Object> annotated = new LinkedHashMap<>();
        annotated.put("node_id", e.nodeId());
        annotated.put("spiffe_id", e.spiffeId());
        annotated.put("tee", ev.tee().wireName());
        annotated.put("tcb_status", ev.tcbStatus().intelName());
        annotated.put("advisory_ids", ev.advisoryIds());
        annotated.put("debug", ev.debug());
        annotated.put("insecure", ev.insecure());
        annotated.put("evidence_sha256", ev.evidenceSha256Hex());
        annotated.put("attested_at", e.attestedAt().getEpochSecond());
        annotated.put("policies", new TreeMap<>(e.satisfiedPolicies()));
        annotated.put("measurements", new TreeMap<>(ev.measurements()));
        annotated.put("numbers", new TreeMap<>(ev.numbers()));
        Map<String, Object> sub = new LinkedHashMap<>();
        sub.put("ear.status", status.wireName());
        sub.put("ear.trustworthiness-vector", tv);
        sub.put("ear.appraisal-policy-id", "attestmesh:" + String.join(",", new TreeMap<>(e.satisfiedPolicies())
                .entrySet().stream().map(p -> p.getKey() + "@" + p.getValue()).toList()));
        sub.put("ear.veraison.annotated-evidence", annotated);
        Map<String, Object> claims = new LinkedHashMap<>();
        claims.put("eat_profile", PROFILE);
        claims.put("iat", now.getEpochSecond());
        claims.put("exp", now.plus(LIFETIME).getEpochSecond());
        claims.put("ear.verifier-id", Map.of("build", build, "developer", DEVELOPER));
        claims.put("submods", Map.of(ev.tee().wireName(), sub));
        try {
            JWSObject jws = new JWSObject(new JWSHeader.Builder(JWSAlgorithm.ES256).type(JOSEObjectType.JWT)
                    .keyID(key.privateKey().getKeyID()).build(), new Payload(claims));
            jws.sign(new ECDSASigner(key.privateKey()));
            return jws.serialize();
        } catch (JOSEException ex) {
            throw new IllegalStateException("EAR signing failed", ex);
        }
    }
}
