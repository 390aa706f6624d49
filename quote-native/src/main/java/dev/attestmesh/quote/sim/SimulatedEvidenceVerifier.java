package dev.attestmesh.quote.sim;

import dev.attestmesh.quote.EvidenceParseException;
import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.EvidenceVerifier;
import dev.attestmesh.quote.PlatformId;
import dev.attestmesh.quote.TcbStatus;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationCheck;
import dev.attestmesh.quote.VerificationRequest;
import dev.attestmesh.quote.VerifiedEvidence;
import dev.attestmesh.quote.trust.EcdsaP256;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Verifies simulated evidence against the simulator public key. Everything it returns is marked
 * {@code insecure}: a valid signature only shows the evidence came from someone who knows a
 * published key.
 */
public final class SimulatedEvidenceVerifier implements EvidenceVerifier {
    private final EcdsaP256.VerifyingKey simulatorKey;

    public SimulatedEvidenceVerifier(PublicKey simulatorKey) {
        this.simulatorKey = EcdsaP256.fromPublicKey(simulatorKey).orElseThrow(() ->
                new IllegalArgumentException("the simulator key must be an ECDSA P-256 key"));
    }

    public static SimulatedEvidenceVerifier withDefaultKey() {
        return new SimulatedEvidenceVerifier(SimulatorKey.derive(SimulatorKey.DEFAULT_SEED).getPublic());
    }

    @Override
    public TeeType tee() {
        return TeeType.SIM;
    }

    @Override
    public VerifiedEvidence verify(VerificationRequest request) throws EvidenceVerificationException {
        SimulatedEvidence ev;
        try {
            ev = SimulatedEvidence.parse(request.evidence());
        } catch (EvidenceParseException e) {
            throw EvidenceVerificationException.parse(e);
        }
        // A malformed DER signature is a failed signature, not an internal error.
        if (!EcdsaP256.verifyDer(simulatorKey, ev.signedBytes(), ev.signature())) {
            throw new EvidenceVerificationException(VerificationCheck.SIM_SIGNATURE,
                    "simulated evidence signature does not verify with the simulator key");
        }
        byte[] digest;
        try {
            digest = MessageDigest.getInstance("SHA-256").digest(request.evidence());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
        return new VerifiedEvidence(TeeType.SIM, TcbStatus.UP_TO_DATE, List.of(), ev.debug(), true,
                ev.reportData(), Map.of("measurement", HexFormat.of().formatHex(ev.measurement())),
                Map.of("issued_at", ev.issuedAtEpochSeconds()), digest, Optional.empty(),
                // Covered by the signature just checked; version 1 evidence carries none.
                ev.platformId().map(id -> new PlatformId(PlatformId.Kind.SIM, id).value()));
    }
}
