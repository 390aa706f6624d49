package dev.attestmesh.server.trustee;

/** {@link TrusteeAttestFlow} over the attestation service's REST API ({@code asAddr: http(s)://...}). */
class TrusteeAttestTest extends TrusteeAttestFlow {
    @Override
    String address() {
        return as.address();
    }

    @Override
    String nodePrefix() {
        return "trustee-";
    }
}
