package dev.attestmesh.server.store;

/** The store could not complete an operation; nothing was half-applied (transactions roll back). */
public final class StoreException extends RuntimeException {
    public StoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
