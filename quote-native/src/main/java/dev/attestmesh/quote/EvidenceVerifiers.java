package dev.attestmesh.quote;

import dev.attestmesh.quote.collateral.CollateralChanges;
import java.util.EnumMap;
import java.util.Map;
import java.util.Set;

/**
 * Dispatches verification to the verifier registered for the evidence's TEE type. The simulator is
 * only present when explicitly registered.
 */
public final class EvidenceVerifiers {
    private final Map<TeeType, EvidenceVerifier> byTee;
    private final CollateralChanges collateralChanges;

    private EvidenceVerifiers(Map<TeeType, EvidenceVerifier> byTee, CollateralChanges collateralChanges) {
        this.byTee = Map.copyOf(byTee);
        this.collateralChanges = collateralChanges;
    }

    /**
     * Where the collateral caches behind these verifiers announce changed items, and how to ask them to
     * look for newer ones: the owner re-judges affected evidence with {@link #reappraise}.
     */
    public CollateralChanges collateralChanges() {
        return collateralChanges;
    }

    /** These verifiers, announcing collateral changes on {@code changes} (the hub their caches were built with). */
    public EvidenceVerifiers withCollateralChanges(CollateralChanges changes) {
        return new EvidenceVerifiers(byTee, java.util.Objects.requireNonNull(changes, "changes"));
    }

    /**
     * Judges stored evidence's TCB again under the current collateral, with the verifier of its type
     * ({@link EvidenceVerifier#reappraise}).
     *
     * @throws EvidenceVerificationException when its type is no longer enabled, or it no longer passes a check
     */
    public VerifiedEvidence reappraise(VerifiedEvidence stored, java.time.Instant at) throws EvidenceVerificationException {
        EvidenceVerifier v = byTee.get(stored.tee());
        if (v == null) {
            throw new EvidenceVerificationException(VerificationCheck.UNSUPPORTED,
                    "no verifier for TEE type '" + stored.tee().wireName() + "' is enabled on this control plane");
        }
        return v.reappraise(stored, at);
    }

    public static EvidenceVerifiers of(EvidenceVerifier... verifiers) {
        Map<TeeType, EvidenceVerifier> m = new EnumMap<>(TeeType.class);
        for (EvidenceVerifier v : verifiers) {
            if (m.put(v.tee(), v) != null) {
                throw new IllegalArgumentException("two verifiers registered for " + v.tee().wireName());
            }
        }
        return new EvidenceVerifiers(m, new CollateralChanges());
    }

    /** These verifiers without the one for {@code tee} (evidence of that type is then refused as unsupported). */
    public EvidenceVerifiers without(TeeType tee) {
        Map<TeeType, EvidenceVerifier> m = new EnumMap<>(TeeType.class);
        m.putAll(byTee);
        m.remove(tee);
        return new EvidenceVerifiers(m, collateralChanges);
    }

    public Set<TeeType> supported() {
        return byTee.keySet();
    }

    /**
     * Verifies with the verifier registered for {@code request.tee()}, after refusing evidence whose framing
     * names another TEE type ({@link EvidenceFormat#checkDeclared}): a clear error instead of a parse
     * failure inside the wrong verifier.
     */
    public VerifiedEvidence verify(VerificationRequest request) throws EvidenceVerificationException {
        EvidenceVerifier v = byTee.get(request.tee());
        if (v == null) {
            throw new EvidenceVerificationException(VerificationCheck.UNSUPPORTED,
                    "no verifier for TEE type '" + request.tee().wireName() + "' is enabled on this control plane");
        }
        EvidenceFormat.checkDeclared(request.tee(), request.evidence());
        return v.verify(request);
    }
}
