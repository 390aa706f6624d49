package dev.attestmesh.sealing;

/** A sealed file is malformed, altered, or sealed to another key. */
public final class SealedFileException extends Exception {
    public SealedFileException(String message) {
        super(message);
    }
}
