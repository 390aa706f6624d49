package dev.attestmesh.trustee;

import dev.attestmesh.quote.TeeType;
import java.net.URI;
import java.util.List;

/**
 * One of a Trustee attestation service's two APIs, chosen by the scheme of its configured address
 * (docs/trustee.md): {@code https}/{@code http} is the RESTful API ({@link AttestationServiceClient}),
 * {@code grpcs}/{@code grpc} the gRPC one ({@link GrpcAttestationServiceClient}). Both send the same
 * request and hand back the token unverified: {@link EarTokenVerifier} checks it the same way whichever
 * API carried it.
 */
public sealed interface AttestationServiceApi extends AutoCloseable
        permits AttestationServiceClient, GrpcAttestationServiceClient {

    /**
     * @param reportData this attestation's 64-byte binding, sent as raw runtime data
     * @return the token the AS answered with (not yet verified)
     * @throws EarRejectedException TRANSPORT, TIMEOUT, AS_ERROR or TOO_LARGE
     */
    String attest(URI asAddr, TeeType tee, byte[] evidence, byte[] reportData, List<String> policyIds)
            throws EarRejectedException;

    /** Releases the connections the API holds open (the gRPC channel); idempotent. */
    @Override
    void close();

    /** Whether {@code address} names the gRPC API ({@code grpc} or {@code grpcs}). */
    static boolean isGrpc(URI address) {
        return "grpc".equals(address.getScheme()) || "grpcs".equals(address.getScheme());
    }
}
