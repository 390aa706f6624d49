package dev.attestmesh.quote.device;

/** Evidence could not be collected on this node; the message says what was tried and what failed. */
public final class EvidenceCollectionException extends Exception {
    public EvidenceCollectionException(String message) {
        super(message);
    }

    public EvidenceCollectionException(String message, Throwable cause) {
        super(message, cause);
    }
}
