package dev.attestmesh.authz;

/** Registry state of a node as ext_authz sees it. Only {@link #ATTESTED} nodes are admitted. */
public enum NodeState {
    /** Evidence verified and appraised; certificates current. */
    ATTESTED,
    /** Revoked by an operator or by re-appraisal; admitted nowhere until it attests again. */
    REVOKED,
    /** Evidence or certificates expired without renewal. */
    EXPIRED
}
