package dev.attestmesh.server.secrets;

import java.util.List;

/** A secret write was refused; nothing was stored. Lists every problem found. */
public final class SecretValidationException extends Exception {
    private final List<String> problems;

    public SecretValidationException(List<String> problems) {
        super(String.join("; ", problems));
        this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
        return problems;
    }
}
