package dev.attestmesh.admission.challenge;

/**
 * A Challenge was refused because a limit was reached: a rate limit or an outstanding-nonce cap. The
 * message names the limit, its configuration key and value, and what the caller can do; the transport
 * answers it with RESOURCE_EXHAUSTED, which node agents retry with back-off.
 */
public final class ChallengeLimitException extends RuntimeException {
    private final String limit;

    /**
     * @param limit the configuration key of the limit that was reached ({@code attestmesh.challenge.*})
     * @param message what was refused and why, for the caller
     */
    public ChallengeLimitException(String limit, String message) {
        super(message, null, false, false); // refused under floods: no stack trace to fill
        this.limit = limit;
    }

    /** The configuration key of the limit that was reached, for counting refusals by limit. */
    public String limit() {
        return limit;
    }
}
