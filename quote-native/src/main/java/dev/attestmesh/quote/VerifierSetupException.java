package dev.attestmesh.quote;

/**
 * A verifier could not be set up from its configuration: trust anchors that cannot be loaded or are not
 * the pinned ones, an unreadable collateral file. The message names the setting to fix.
 */
public final class VerifierSetupException extends Exception {
    public VerifierSetupException(String message, Throwable cause) {
        super(message, cause);
    }
}
