package dev.attestmesh.trustee;

import dev.attestmesh.input.UntrustedText;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.trustee.grpc.AttestationRequest;
import dev.attestmesh.trustee.grpc.AttestationServiceGrpc;
import dev.attestmesh.trustee.grpc.IndividualAttestationRequest;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import java.net.URI;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * Calls a Trustee attestation service's gRPC API, {@code attestation.AttestationService/AttestationEvaluate},
 * at an address {@code grpcs://host:port} (TLS, trusting the configured CA or the JDK's) or
 * {@code grpc://host:port} (plaintext, loopback only, as {@link dev.attestmesh.policy.DelegatedVerifier} enforces).
 *
 * <p>It sends what the RESTful client sends: one verification request with Trustee's TEE name, the evidence
 * and the 64-byte binding as raw runtime data (both base64url without padding), hash algorithm sha512, and the
 * policy's AS policy IDs. Each call has a deadline of the request timeout (connecting included); the channel's
 * largest inbound message is the response bound, so a larger answer is never buffered; statuses map to the same
 * {@link EarCheck}s as the RESTful client's failures (UNAVAILABLE: TRANSPORT, DEADLINE_EXCEEDED: TIMEOUT, a
 * message above the bound: TOO_LARGE, any other status, which is how the AS refuses evidence: AS_ERROR).
 * Thread-safe; one channel per service, closed by {@link #close()}.
 */
public final class GrpcAttestationServiceClient implements AttestationServiceApi {
    private final URI address;
    private final ManagedChannel channel;
    private final AttestationServiceClient.Limits limits;

    private GrpcAttestationServiceClient(URI address, ManagedChannel channel, AttestationServiceClient.Limits limits) {
        this.address = address;
        this.channel = channel;
        this.limits = limits;
    }

    /**
     * A client for the AS at {@code address} ({@code grpc://} or {@code grpcs://}, with a port).
     *
     * @param ca the AS's CA for TLS; empty to trust the JDK's CAs (ignored for plaintext {@code grpc://})
     */
    public static GrpcAttestationServiceClient create(URI address, List<X509Certificate> ca,
            AttestationServiceClient.Limits limits) {
        Objects.requireNonNull(limits, "limits");
        if (!AttestationServiceApi.isGrpc(address) || address.getHost() == null || address.getPort() < 1) {
            throw new IllegalArgumentException("a gRPC attestation service address is grpcs://host:port "
                    + "(or grpc://host:port to a loopback host)");
        }
        ChannelCredentials creds = "grpcs".equals(address.getScheme()) ? tls(ca) : InsecureChannelCredentials.create();
        String host = address.getHost().startsWith("[") ? address.getHost().substring(1, address.getHost().length() - 1)
                : address.getHost();
        ManagedChannel channel = Grpc.newChannelBuilderForAddress(host, address.getPort(), creds)
                .maxInboundMessageSize(limits.maxResponseBytes())
                .maxInboundMetadataSize(16 * 1024)
                .disableRetry()
                .userAgent("attestmesh")
                .build();
        return new GrpcAttestationServiceClient(address, channel, limits);
    }

    private static ChannelCredentials tls(List<X509Certificate> ca) {
        TlsChannelCredentials.Builder b = TlsChannelCredentials.newBuilder();
        if (!ca.isEmpty()) {
            b.trustManager(AttestationServiceClient.trustManagers(ca));
        }
        return b.build();
    }

    /** The request message; public for tests that check it against the AS's published shape. */
    public static AttestationRequest request(TeeType tee, byte[] evidence, byte[] reportData, List<String> policyIds) {
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        return AttestationRequest.newBuilder()
                .addVerificationRequests(IndividualAttestationRequest.newBuilder()
                        .setTee(AttestationServiceClient.trusteeTeeName(tee))
                        .setEvidence(b64.encodeToString(evidence))
                        .setRawRuntimeData(b64.encodeToString(reportData))
                        .setRuntimeDataHashAlgorithm("sha512"))
                .addAllPolicyIds(policyIds)
                .build();
    }

    @Override
    public String attest(URI asAddr, TeeType tee, byte[] evidence, byte[] reportData, List<String> policyIds)
            throws EarRejectedException {
        if (!address.equals(asAddr)) {
            throw new IllegalArgumentException("this client calls " + address + " only");
        }
        try {
            return AttestationServiceGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(limits.requestTimeout().toMillis(), TimeUnit.MILLISECONDS)
                    .attestationEvaluate(request(tee, evidence, reportData, policyIds))
                    .getAttestationToken().strip();
        } catch (StatusRuntimeException e) {
            throw refusal(e.getStatus());
        }
    }

    private EarRejectedException refusal(Status s) {
        String where = UntrustedText.forLog(address.toString(), 120);
        String detail = UntrustedText.forLog(String.valueOf(s.getDescription()), 200);
        // Raised by this channel when the answer exceeds maxInboundMessageSize, before it is buffered whole.
        if (s.getCode() == Status.Code.RESOURCE_EXHAUSTED && s.getDescription() != null
                && s.getDescription().contains("exceeds maximum")) {
            return new EarRejectedException(EarCheck.TOO_LARGE, "the attestation service's answer is larger than "
                    + limits.maxResponseBytes() + " bytes");
        }
        return switch (s.getCode()) {
            case DEADLINE_EXCEEDED -> new EarRejectedException(EarCheck.TIMEOUT, "the attestation service at " + where
                    + " did not answer within " + limits.requestTimeout().toMillis() + " ms");
            case UNAVAILABLE -> new EarRejectedException(EarCheck.TRANSPORT, "cannot reach the attestation service at "
                    + where + " over gRPC: " + detail);
            case CANCELLED -> new EarRejectedException(EarCheck.TRANSPORT, "the call to the attestation service at "
                    + where + " was cancelled: " + detail);
            default -> new EarRejectedException(EarCheck.AS_ERROR, "the attestation service at " + where
                    + " refused the evidence with gRPC status " + s.getCode() + ": " + detail);
        };
    }

    @Override
    public void close() {
        channel.shutdownNow();
    }

    @Override
    public String toString() {
        return "GrpcAttestationServiceClient[" + address + "]";
    }
}
