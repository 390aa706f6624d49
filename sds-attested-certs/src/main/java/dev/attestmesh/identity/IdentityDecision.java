package dev.attestmesh.identity;

import dev.attestmesh.ca.SpiffeId;
import java.util.Objects;

/** What {@link IdentityResolver} decided: an identity granted by one registration, or a refusal. */
public sealed interface IdentityDecision {
    /** The identity {@code spiffeId}, granted by {@code registration}. */
    record Granted(Registration registration, SpiffeId spiffeId) implements IdentityDecision {
        public Granted {
            Objects.requireNonNull(registration, "registration");
            Objects.requireNonNull(spiffeId, "spiffeId");
        }
    }

    /**
     * No identity. {@code reason} is safe to send to the caller: it names the failed rule of the
     * registration the caller asked for, never another registration's reference values.
     * {@code operatorDetail} may say more and is only logged.
     */
    record Refused(String reason, String operatorDetail, boolean ambiguous) implements IdentityDecision {
        public Refused {
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(operatorDetail, "operatorDetail");
        }
    }
}
