package dev.attestmesh.quote.intel;

import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.VerificationCheck;
import java.security.cert.X509Certificate;
import java.time.Instant;

/**
 * A named validity window of one piece of collateral or one certificate, judged against the
 * request's verification time. Both ends are inclusive.
 */
record ValidityWindow(String what, Instant from, Instant until) {

    static ValidityWindow of(X509Certificate c, String what) {
        return new ValidityWindow(what, c.getNotBefore().toInstant(), c.getNotAfter().toInstant());
    }

    boolean contains(Instant at) {
        return !at.isBefore(from) && !at.isAfter(until);
    }

    void check(Instant at) throws EvidenceVerificationException {
        if (!contains(at)) {
            throw new EvidenceVerificationException(VerificationCheck.COLLATERAL_EXPIRED,
                    what + " is valid from " + from + " until " + until + ", not at the verification time " + at
                            + (at.isAfter(until) ? "; fetch current collateral" : ""));
        }
    }
}
