package dev.attestmesh.authz;

import dev.attestmesh.authz.peer.UntrustedText;
import dev.attestmesh.registry.NodeState;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The checks every registry record must pass to be admitted, shared by decisions by peer certificate
 * and by principal: the node is {@link NodeState#ATTESTED}, its evidence is real (not the simulated
 * TEE's, unless ext_authz runs in dev mode), unexpired, and it holds every required policy at the
 * policy's current version. Problems are phrased without their subject ("is REVOKED: ...") so each
 * caller names the node or instance in its own words.
 */
final class RecordChecks {
    private RecordChecks() {}

    /**
     * The current version of each of {@code required}, in the same order, or the denial reason when one
     * of them is not a known policy. Resolved once per decision, however many instances are checked.
     */
    static Result currentVersions(RegistryView view, List<String> required) {
        long[] versions = new long[required.size()];
        for (int i = 0; i < versions.length; i++) {
            OptionalLong v = view.currentPolicyVersion(required.get(i));
            if (v.isEmpty()) {
                return new Result(null, Optional.of("unknown policy '" + UntrustedText.quote(required.get(i)) + "'"));
            }
            versions[i] = v.getAsLong();
        }
        return new Result(versions, Optional.empty());
    }

    /** Current versions of the required policies, or why they cannot be had. */
    record Result(long[] versions, Optional<String> problem) {}

    /**
     * Why {@code r} must not be admitted at {@code now}, empty when it passes.
     *
     * @param current the required policies' current versions, from {@link #currentVersions}
     * @param allowInsecure whether simulated-TEE evidence is admitted (dev mode only)
     */
    static Optional<String> problem(NodeAuthzRecord r, List<String> required, long[] current, Instant now,
            boolean allowInsecure) {
        if (r.state() != NodeState.ATTESTED) {
            return Optional.of("is " + r.state() + (r.stateReason().isEmpty() ? "" : ": " + r.stateReason()));
        }
        if (!allowInsecure && isInsecure(r)) {
            return Optional.of(INSECURE);
        }
        if (!now.isBefore(r.evidenceExpiresAt())) {
            return Optional.of("is no longer fresh: evidence expired at " + r.evidenceExpiresAt()
                    + "; it must attest again");
        }
        for (int i = 0; i < current.length; i++) {
            String id = required.get(i);
            Long held = r.satisfiedPolicies().get(id);
            if (held == null) {
                return Optional.of("does not satisfy policy '" + id + "'");
            }
            if (held != current[i]) {
                return Optional.of("was appraised against policy '" + id + "' version " + held
                        + " but the current version is " + current[i]);
            }
        }
        return Optional.empty();
    }

    /**
     * Whether {@code r} was attested with evidence that proves nothing: the simulated TEE's, the only
     * evidence whose claims are marked {@code insecure} ({@link dev.attestmesh.quote.TeeType#isHardware()}).
     */
    static boolean isInsecure(NodeAuthzRecord r) {
        return !r.tee().isHardware();
    }

    /** The problem of a node attested with insecure (simulated) evidence outside dev mode. */
    static final String INSECURE = "is attested with simulated-TEE evidence, which is insecure; ext_authz admits it "
            + "only in dev mode (attestmesh.dev-mode, attestmesh authz --dev)";
}
