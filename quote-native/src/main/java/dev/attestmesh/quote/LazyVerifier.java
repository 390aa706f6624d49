package dev.attestmesh.quote;

import java.time.Duration;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds its verifier on first use, so a control plane without Internet access starts and only evidence
 * of a type whose anchors cannot be loaded is refused; a failed build is reported as the evidence's
 * rejection (naming the reason and the setting to fix) and retried after a minute.
 */
final class LazyVerifier implements EvidenceVerifier {
    private static final Logger LOG = LoggerFactory.getLogger(LazyVerifier.class);
    private static final Duration RETRY_AFTER = Duration.ofMinutes(1);
    private final TeeType tee;
    private final Verifiers.Setup factory;
    private volatile EvidenceVerifier delegate;
    private volatile long failedAtNanos;
    private volatile String failure = "";

    LazyVerifier(TeeType tee, Verifiers.Setup factory) {
        this.tee = tee;
        this.factory = factory;
    }

    @Override
    public TeeType tee() {
        return tee;
    }

    @Override
    public VerifiedEvidence verify(VerificationRequest request) throws EvidenceVerificationException {
        EvidenceVerifier v = delegate;
        return (v != null ? v : build()).verify(request);
    }

    @Override
    public VerifiedEvidence reappraise(VerifiedEvidence stored, Instant at) throws EvidenceVerificationException {
        EvidenceVerifier v = delegate;
        return (v != null ? v : build()).reappraise(stored, at);
    }

    private synchronized EvidenceVerifier build() throws EvidenceVerificationException {
        if (delegate != null) {
            return delegate;
        }
        if (!failure.isEmpty() && System.nanoTime() - failedAtNanos < RETRY_AFTER.toNanos()) {
            throw unavailable();
        }
        try {
            delegate = factory.create(tee);
            LOG.info("{} verification enabled", tee.wireName());
            return delegate;
        } catch (VerifierSetupException e) {
            failure = e.getMessage();
            failedAtNanos = System.nanoTime();
            LOG.warn("{} verification unavailable: {}", tee.wireName(), failure);
            throw unavailable();
        }
    }

    private EvidenceVerificationException unavailable() {
        return new EvidenceVerificationException(VerificationCheck.TRUST_ANCHOR, tee.wireName()
                + " verification is unavailable on this control plane: " + failure);
    }
}
