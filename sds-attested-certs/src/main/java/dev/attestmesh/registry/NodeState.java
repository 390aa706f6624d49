package dev.attestmesh.registry;

/**
 * Registry state of a node. Only {@link #ATTESTED} nodes are admitted by ext_authz and served
 * certificates over SDS; the node registry (in the control plane) and ext_authz (embedded or
 * standalone) share this one definition.
 */
public enum NodeState {
    /** Evidence verified and appraised, identity granted by a registration; certificates current. */
    ATTESTED,
    /** Revoked by an operator or by a revocation rule; admitted nowhere until the revocation is lifted. */
    REVOKED,
    /**
     * Not admitted any more without being revoked: evidence or certificates expired without renewal,
     * the identity was withdrawn by re-appraisal, or an operator released the node id.
     */
    EXPIRED
}
