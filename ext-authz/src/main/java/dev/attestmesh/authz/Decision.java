package dev.attestmesh.authz;

import dev.attestmesh.authz.peer.UntrustedText;
import dev.attestmesh.quote.TeeType;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/** The outcome of an authorization check: allow with the peer's attested identity, or deny with a reason. */
public sealed interface Decision permits Decision.Allow, Decision.Deny {

    /**
     * The peer is attested and satisfies every required policy.
     *
     * @param peer who was admitted: one node (decision by peer certificate) or every live instance of a
     *     principal (decision by principal alone)
     * @param policyIds the policies the peer currently satisfies (at their current versions), sorted; for a
     *     principal, those every live instance satisfies
     */
    record Allow(Peer peer, List<String> policyIds) implements Decision {
        public Allow {
            Objects.requireNonNull(peer, "peer");
            policyIds = List.copyOf(policyIds);
        }
    }

    /**
     * The connection or request is refused; {@code reason} says why, for logs and the calling Envoy (only
     * ever an authenticated one: see {@link CheckCallerAuthenticator}). The reason is kept to {@value
     * UntrustedText#MAX_REASON_CHARS} characters without control characters ({@link UntrustedText#bound}).
     */
    record Deny(String reason) implements Decision {
        public Deny {
            reason = UntrustedText.bound(Objects.requireNonNull(reason));
        }
    }

    /** Whom an allow decision admitted. */
    sealed interface Peer permits Node, Principal {
        /** The SPIFFE ID the peer presented (URI form). */
        String spiffeId();
    }

    /** One node, identified by its peer certificate. */
    record Node(String nodeId, String spiffeId, TeeType tee, String measurement) implements Peer {
        public Node {
            Objects.requireNonNull(nodeId, "nodeId");
            Objects.requireNonNull(spiffeId, "spiffeId");
            Objects.requireNonNull(tee, "tee");
            Objects.requireNonNull(measurement, "measurement");
        }
    }

    /**
     * A principal shared by {@code instances} live instances (Istio, no peer certificate), every one of
     * which passed.
     *
     * @param tee the instances' evidence type, empty when they differ
     * @param measurement the instances' primary measurement, empty when they differ
     */
    record Principal(String spiffeId, int instances, Optional<TeeType> tee, Optional<String> measurement)
            implements Peer {
        public Principal {
            Objects.requireNonNull(spiffeId, "spiffeId");
            Objects.requireNonNull(tee, "tee");
            Objects.requireNonNull(measurement, "measurement");
            if (instances < 1) {
                throw new IllegalArgumentException("a principal is allowed only with at least one live instance, got "
                        + instances);
            }
        }
    }
}
