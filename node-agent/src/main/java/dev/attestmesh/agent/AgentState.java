package dev.attestmesh.agent;

/** Where the agent stands; reported in logs and by {@link NodeAgent#state()}. */
public enum AgentState {
    /** No certificate yet. */
    STARTING,
    /** Holds a current certificate. */
    ATTESTED,
    /** Holds a current certificate, renewal failed transiently and is being retried with backoff. */
    RETRYING,
    /** The control plane refused the node: it no longer satisfies any policy, or was revoked. */
    REFUSED,
    /** The certificate expired before a renewal succeeded. */
    EXPIRED,
    /** Stopped by the operator. */
    STOPPED
}
