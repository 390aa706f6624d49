package dev.attestmesh.server;

import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.EvidenceVerifier;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationRequest;
import dev.attestmesh.quote.VerifiedEvidence;
import java.time.Instant;

/**
 * Test scope only: a production verifier asked to judge validity windows at a fixed time inside the
 * recorded collateral's windows (MANIFEST.md gives each vector's time), as quote-native's vector tests do.
 * Intel collateral from 2025 has expired on the wall clock; everything else in the plane keeps the real
 * clock (certificates, evidence age, ext_authz freshness).
 */
record PinnedTimeVerifier(EvidenceVerifier delegate, Instant at) implements EvidenceVerifier {
    @Override
    public TeeType tee() {
        return delegate.tee();
    }

    @Override
    public VerifiedEvidence verify(VerificationRequest r) throws EvidenceVerificationException {
        return delegate.verify(new VerificationRequest(r.tee(), r.evidence(), r.collateral(), at));
    }

    @Override
    public VerifiedEvidence reappraise(VerifiedEvidence stored, Instant ignored) throws EvidenceVerificationException {
        return delegate.reappraise(stored, at);
    }
}
