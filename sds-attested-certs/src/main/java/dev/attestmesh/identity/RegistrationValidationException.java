package dev.attestmesh.identity;

import java.util.List;

/** A registration document was refused; {@link #problems()} lists every problem with its location. */
public final class RegistrationValidationException extends Exception {
    private final List<String> problems;

    public RegistrationValidationException(String sourceName, List<String> problems) {
        super(sourceName + ": " + problems.size() + " problem(s): " + String.join("; ", problems));
        this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
        return problems;
    }
}
