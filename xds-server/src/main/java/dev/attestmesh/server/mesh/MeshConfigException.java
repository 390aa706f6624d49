package dev.attestmesh.server.mesh;

import java.util.List;

/**
 * A mesh config was rejected as a whole. {@link #problems()} lists every problem found, each starting
 * with the path of the offending field ({@code services[1].ingress[0].port: ...}).
 */
public final class MeshConfigException extends Exception {
    private final List<String> problems;

    public MeshConfigException(List<String> problems) {
        super("mesh config rejected (" + problems.size() + " problem" + (problems.size() == 1 ? "" : "s") + "):\n  - "
                + String.join("\n  - ", problems));
        this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
        return problems;
    }
}
