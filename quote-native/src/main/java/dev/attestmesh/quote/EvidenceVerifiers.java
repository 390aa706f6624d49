package dev.attestmesh.quote;

import java.util.EnumMap;
import java.util.Map;
import java.util.Set;

/**
 * Dispatches verification to the verifier registered for the evidence's TEE type. The simulator is
 * only present when explicitly registered.
 */
public final class EvidenceVerifiers {
    private final Map<TeeType, EvidenceVerifier> byTee;

    private EvidenceVerifiers(Map<TeeType, EvidenceVerifier> byTee) {
        this.byTee = Map.copyOf(byTee);
    }

    public static EvidenceVerifiers of(EvidenceVerifier... verifiers) {
        Map<TeeType, EvidenceVerifier> m = new EnumMap<>(TeeType.class);
        for (EvidenceVerifier v : verifiers) {
            if (m.put(v.tee(), v) != null) {
                throw new IllegalArgumentException("two verifiers registered for " + v.tee().wireName());
            }
        }
        return new EvidenceVerifiers(m);
    }

    /** These verifiers without the one for {@code tee} (evidence of that type is then refused as unsupported). */
    public EvidenceVerifiers without(TeeType tee) {
        Map<TeeType, EvidenceVerifier> m = new EnumMap<>(TeeType.class);
        m.putAll(byTee);
        m.remove(tee);
        return new EvidenceVerifiers(m);
    }

    public Set<TeeType> supported() {
        return byTee.keySet();
    }

    /** Verifies with the verifier registered for {@code request.tee()}. */
    public VerifiedEvidence verify(VerificationRequest request) throws EvidenceVerificationException {
        EvidenceVerifier v = byTee.get(request.tee());
        if (v == null) {
            throw new EvidenceVerificationException(VerificationCheck.UNSUPPORTED,
                    "no verifier for TEE type '" + request.tee().wireName() + "' is enabled on this control plane");
        }
        return v.verify(request);
    }
}
