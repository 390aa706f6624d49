package dev.attestmesh.issuance;

/**
 * A checkpoint note is malformed, is not signed by the expected key, or belongs to another CA. The
 * message says which, without repeating untrusted text from the note beyond short printable excerpts.
 */
public final class CheckpointException extends Exception {
    public CheckpointException(String message) {
        super(message);
    }
}
