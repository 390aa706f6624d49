package dev.attestmesh.policy;

import java.util.List;

/**
 * A policy document is invalid. {@link #problems()} lists every problem found, each prefixed with
 * its location, e.g. {@code policies[0].reference.sgx.mrenclave[1]: not 64 hex digits}.
 */
public final class PolicyValidationException extends Exception {
    private final List<String> problems;

    public PolicyValidationException(String sourceName, List<String> problems) {
        super(sourceName + ": " + problems.size() + " problem(s):\n  " + String.join("\n  ", problems));
        this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
        return problems;
    }
}
