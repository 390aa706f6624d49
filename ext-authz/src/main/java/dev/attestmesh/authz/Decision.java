package dev.attestmesh.authz;

import dev.attestmesh.quote.TeeType;
import java.util.List;
import java.util.Objects;

/** The outcome of an authorization check: allow with the peer's attested identity, or deny with a reason. */
public sealed interface Decision permits Decision.Allow, Decision.Deny {

    /**
     * The peer is an attested node satisfying every required policy.
     *
     * @param policyIds the policies the node currently satisfies (at their current versions), sorted
     */
    record Allow(String nodeId, String spiffeId, TeeType tee, String measurement, List<String> policyIds)
            implements Decision {
        public Allow {
            Objects.requireNonNull(nodeId);
            Objects.requireNonNull(spiffeId);
            Objects.requireNonNull(tee);
            Objects.requireNonNull(measurement);
            policyIds = List.copyOf(policyIds);
        }
    }

    /** The connection or request is refused; {@code reason} says why, for logs and the peer. */
    record Deny(String reason) implements Decision {
        public Deny {
            Objects.requireNonNull(reason);
        }
    }
}
