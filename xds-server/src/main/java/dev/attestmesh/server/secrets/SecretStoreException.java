package dev.attestmesh.server.secrets;

/** A stored secret cannot be read back (corrupted, or sealed under another key). */
public final class SecretStoreException extends RuntimeException {
    public SecretStoreException(String message) {
        super(message);
    }
}
