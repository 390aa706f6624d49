package dev.attestmesh.trustee;

import dev.attestmesh.quote.TcbStatus;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerifiedEvidence;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Folds attestation-service appraisals into the one {@link VerifiedEvidence} a node's record keeps, so
 * that re-appraisal after a policy change works from stored claims as it does for local verification.
 *
 * <p>Each appraisal's claims go under its verifier's prefix ({@code trustee.<id>.}): {@code ear.status}
 * (the status tier: 0 none, 2 affirming, 32 warning), {@code ear.tv.<claim>} (each trustworthiness
 * claim present), {@code debug} (0/1, when the AS states it), and the TEE claims mapped from the
 * annotated evidence. When this control plane did not verify the evidence itself, the claims of the
 * first appraisal are also given unprefixed (for display and the certificate's claims extension) and the
 * integer claim {@value #DELEGATED} is 1: policies verified locally refuse such evidence (rule {@code
 * verifier}), since nothing here checked its signatures.
 */
public final class DelegatedClaims {
    /** Present (1) when only attestation services, not this control plane, verified the evidence. */
    public static final String DELEGATED = "verifier.delegated";
    /** The status claim under a verifier's prefix. */
    public static final String STATUS = "ear.status";
    /** Prefix of the trustworthiness claims under a verifier's prefix. */
    public static final String TRUST_VECTOR = "ear.tv.";
    /** The debug claim (0/1) under a verifier's prefix. */
    public static final String DEBUG = "debug";

    private DelegatedClaims() {}

    /**
     * @param local the evidence as this control plane verified it, if it did
     * @param appraisals claim prefix to the appraisal made under it, in policy order
     */
    public static VerifiedEvidence combine(Optional<VerifiedEvidence> local, TeeType tee, byte[] reportData,
            byte[] evidenceSha256, Map<String, EarAppraisal> appraisals) {
        Map<String, String> m = new HashMap<>(local.map(VerifiedEvidence::measurements).orElse(Map.of()));
        Map<String, Long> n = new HashMap<>(local.map(VerifiedEvidence::numbers).orElse(Map.of()));
        appraisals.forEach((prefix, a) -> {
            a.measurements().forEach((k, v) -> m.put(prefix + k, v));
            a.numbers().forEach((k, v) -> n.put(prefix + k, v));
            n.put(prefix + STATUS, (long) a.status().tier());
            a.trustVector().forEach((k, v) -> n.put(prefix + TRUST_VECTOR + k, (long) v));
            a.debug().ifPresent(d -> n.put(prefix + DEBUG, d ? 1L : 0L));
        });
        if (local.isPresent()) {
            VerifiedEvidence l = local.get();
            return new VerifiedEvidence(l.tee(), l.tcbStatus(), l.advisoryIds(), l.debug(), l.insecure(),
                    l.reportData(), m, n, l.evidenceSha256(), l.fmspcOrChip(), l.platformId());
        }
        EarAppraisal first = appraisals.values().iterator().next();
        first.measurements().forEach(m::putIfAbsent);
        first.numbers().forEach(n::putIfAbsent);
        n.put(DELEGATED, 1L);
        boolean debug = appraisals.values().stream().anyMatch(a -> a.debug().orElse(false));
        // The AS judges the TCB; its status stands in for a TCB status only for display.
        TcbStatus tcb = first.status() == EarStatus.AFFIRMING ? TcbStatus.UP_TO_DATE : TcbStatus.OUT_OF_DATE;
        return new VerifiedEvidence(tee, tcb, List.of(), debug, tee == TeeType.SIM, reportData, m, n, evidenceSha256,
                Optional.empty(), Optional.empty());
    }
}
