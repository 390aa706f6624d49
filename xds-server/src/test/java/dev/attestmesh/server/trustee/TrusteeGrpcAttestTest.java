package dev.attestmesh.server.trustee;

/**
 * {@link TrusteeAttestFlow} over the attestation service's gRPC API ({@code asAddr: grpc://...}): the control plane
 * calls {@code AttestationEvaluate} with the evidence and binding.
 */
class TrusteeGrpcAttestTest extends TrusteeAttestFlow {
    @Override
    String address() {
        return as.grpcAddress();
    }

    @Override
    String nodePrefix() {
        return "trustee-grpc-";
    }
}
