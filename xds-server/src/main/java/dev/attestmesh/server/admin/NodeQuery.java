package dev.attestmesh.server.admin;

import dev.attestmesh.input.UntrustedText;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.registry.NodeState;
import dev.attestmesh.server.policy.PolicyRegistry;
import dev.attestmesh.server.registry.NodeEntry;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The filters and page of {@code GET /api/v1/nodes}, validated at the edge: every parameter is bounded and
 * a wrong one is refused with a message naming it and what is accepted, never ignored (a typo in a filter
 * would otherwise silently list every node).
 *
 * @param state only nodes in this registry state
 * @param tee only nodes of this TEE type
 * @param policy only nodes satisfying this policy under its current version (a node appraised under an
 *     older version no longer counts, as in ext_authz)
 * @param registration only nodes whose identity was granted by this registration
 * @param expiringBefore only nodes whose certificate's notAfter is before this instant
 * @param offset how many matching nodes (sorted by node id) to skip
 * @param limit the most nodes answered, 1..{@value #MAX_LIMIT}
 */
public record NodeQuery(Optional<NodeState> state, Optional<TeeType> tee, Optional<String> policy,
        Optional<String> registration, Optional<Instant> expiringBefore, int offset, int limit) {
    /** Largest page; also the default, so a caller without paging sees at most this many nodes. */
    public static final int MAX_LIMIT = 1000;
    /** Largest offset accepted (far above any registry this control plane holds in memory). */
    public static final int MAX_OFFSET = 10_000_000;
    /** Longest policy or registration id accepted in a filter. */
    static final int MAX_ID_CHARS = 256;
    static final Set<String> PARAMETERS = Set.of("state", "tee", "policy", "registration", "expiringBefore",
            "offset", "limit");

    /** Thrown for a parameter that is not accepted; the message is fit for a 400 answer. */
    public static final class InvalidQueryException extends IllegalArgumentException {
        InvalidQueryException(String message) {
            super(message);
        }
    }

    /**
     * Reads the query parameters (first value of each).
     *
     * @throws InvalidQueryException naming the first parameter that is unknown, repeated or out of range
     */
    public static NodeQuery parse(Map<String, List<String>> params) {
        for (Map.Entry<String, List<String>> p : params.entrySet()) {
            if (!PARAMETERS.contains(p.getKey())) {
                throw new InvalidQueryException("unknown query parameter '" + UntrustedText.forLog(p.getKey(), 64)
                        + "'; GET /api/v1/nodes accepts " + PARAMETERS.stream().sorted().collect(Collectors.joining(", ")));
            }
            if (p.getValue().size() > 1) {
                throw new InvalidQueryException("query parameter '" + p.getKey() + "' given " + p.getValue().size()
                        + " times; give it once");
            }
        }
        Optional<String> state = one(params, "state");
        Optional<String> tee = one(params, "tee");
        return new NodeQuery(
                state.map(NodeQuery::state),
                tee.map(NodeQuery::tee),
                one(params, "policy").map(v -> id("policy", v)),
                one(params, "registration").map(v -> id("registration", v)),
                one(params, "expiringBefore").map(NodeQuery::instant),
                number("offset", one(params, "offset"), 0, 0, MAX_OFFSET),
                number("limit", one(params, "limit"), MAX_LIMIT, 1, MAX_LIMIT));
    }

    /** Whether {@code e} passes every filter. */
    public boolean matches(NodeEntry e, PolicyRegistry policies) {
        return state.map(s -> e.state() == s).orElse(true)
                && tee.map(t -> e.tee() == t).orElse(true)
                && policy.map(p -> {
                    Long held = e.satisfiedPolicies().get(p);
                    return held != null && policies.version(p).orElse(-1) == held;
                }).orElse(true)
                && registration.map(r -> r.equals(e.registration())).orElse(true)
                && expiringBefore.map(t -> e.certNotAfter().isBefore(t)).orElse(true);
    }

    private static Optional<String> one(Map<String, List<String>> params, String name) {
        List<String> v = params.get(name);
        return v == null || v.isEmpty() ? Optional.empty() : Optional.of(v.getFirst());
    }

    private static NodeState state(String v) {
        try {
            return NodeState.valueOf(v.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new InvalidQueryException("state '" + UntrustedText.forLog(v, 32) + "' is not a node state; use one of "
                    + Arrays.stream(NodeState.values()).map(Enum::name).collect(Collectors.joining(", ")));
        }
    }

    private static TeeType tee(String v) {
        try {
            return TeeType.fromWireName(v);
        } catch (IllegalArgumentException e) {
            throw new InvalidQueryException("tee '" + UntrustedText.forLog(v, 32) + "' is not a TEE type; use one of "
                    + Arrays.stream(TeeType.values()).map(TeeType::wireName).collect(Collectors.joining(", ")));
        }
    }

    private static String id(String name, String v) {
        Optional<String> problem = UntrustedText.lineProblem(name, v, MAX_ID_CHARS);
        if (problem.isPresent() || v.isBlank()) {
            throw new InvalidQueryException(problem.orElse(name + " must not be empty"));
        }
        return v;
    }

    private static Instant instant(String v) {
        try {
            return Instant.parse(v.trim());
        } catch (DateTimeParseException e) {
            throw new InvalidQueryException("expiringBefore '" + UntrustedText.forLog(v, 64) + "' is not an ISO-8601 UTC "
                    + "instant; write e.g. 2026-01-31T12:00:00Z");
        }
    }

    private static int number(String name, Optional<String> v, int dflt, int min, int max) {
        if (v.isEmpty()) {
            return dflt;
        }
        try {
            long n = Long.parseLong(v.get().trim());
            if (n < min || n > max) {
                throw new InvalidQueryException(name + " must be " + min + ".." + max + " (got " + n + ")");
            }
            return (int) n;
        } catch (NumberFormatException e) {
            throw new InvalidQueryException(name + " '" + UntrustedText.forLog(v.get(), 32) + "' is not a whole number; "
                    + "use " + min + ".." + max);
        }
    }
}
