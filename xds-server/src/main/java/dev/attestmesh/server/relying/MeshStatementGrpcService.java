package dev.attestmesh.server.relying;

import com.google.protobuf.ByteString;
import dev.attestmesh.api.v1.MeshStatementServiceGrpc;
import dev.attestmesh.api.v1.StatementRequest;
import dev.attestmesh.api.v1.StatementResponse;
import dev.attestmesh.quote.device.EvidenceCollectionException;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.HexFormat;

/**
 * {@code attestmesh.v1.MeshStatementService} on the gRPC port: translates a {@code GetStatement} call to
 * the {@link StatementService} and back, with the documents the manifest names inline. Needs no client
 * certificate: the answer is authenticated by the evidence.
 */
public final class MeshStatementGrpcService extends MeshStatementServiceGrpc.MeshStatementServiceImplBase {
    /** The caller's address, put into the call's context by {@link #peerAddress()}. */
    static final io.grpc.Context.Key<String> PEER = io.grpc.Context.key("attestmesh-statement-peer");
    private final StatementService statements;

    public MeshStatementGrpcService(StatementService statements) {
        this.statements = statements;
    }

    /** The service with the interceptor that records the caller's IP address for the per-address limit. */
    public io.grpc.ServerServiceDefinition definition() {
        return io.grpc.ServerInterceptors.intercept(bindService(), peerAddress());
    }

    static io.grpc.ServerInterceptor peerAddress() {
        return new io.grpc.ServerInterceptor() {
            @Override
            public <Q, R> io.grpc.ServerCall.Listener<Q> interceptCall(io.grpc.ServerCall<Q, R> call, io.grpc.Metadata headers,
                    io.grpc.ServerCallHandler<Q, R> next) {
                java.net.SocketAddress a = call.getAttributes().get(io.grpc.Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
                String peer = a instanceof java.net.InetSocketAddress i && i.getAddress() != null
                        ? i.getAddress().getHostAddress() : null;
                return io.grpc.Contexts.interceptCall(io.grpc.Context.current().withValue(PEER, peer), call, headers, next);
            }
        };
    }

    @Override
    public void getStatement(StatementRequest request, StreamObserver<StatementResponse> out) {
        StatementService.Answer a;
        try {
            a = statements.statement(request.getNonce().toByteArray(), PEER.get());
        } catch (StatementService.BadNonceException e) {
            out.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
            return;
        } catch (StatementLimiter.LimitedException e) {
            out.onError(Status.RESOURCE_EXHAUSTED.withDescription(e.getMessage()).asRuntimeException());
            return;
        } catch (EvidenceCollectionException e) {
            out.onError(Status.FAILED_PRECONDITION.withDescription(
                    "control plane is not running in a TEE, so it cannot attest the mesh: " + e.getMessage())
                    .asRuntimeException());
            return;
        } catch (MeshManifestBuilder.UnstableStateException e) {
            out.onError(Status.UNAVAILABLE.withDescription(e.getMessage()).asRuntimeException());
            return;
        }
        var s = a.statement();
        StatementResponse.Builder b = StatementResponse.newBuilder().setVersion(2).setTee(s.tee().wireName())
                .setInsecure(s.insecure()).setEvidence(ByteString.copyFrom(s.evidence()))
                .setReportData(ByteString.copyFrom(s.reportData())).setNonce(ByteString.copyFrom(a.nonce()))
                .setManifest(ByteString.copyFrom(a.manifest().manifest()))
                .setManifestSha256(ByteString.copyFrom(HexFormat.of().parseHex(a.manifest().sha256())))
                .setCaKeySealing(a.manifest().caKeySealing())
                .setWarning(s.insecure() ? RelyingPartyController.INSECURE_TEXT : "");
        a.manifest().documents().forEach((name, d) -> b.putDocuments(name, ByteString.copyFrom(d.bytes())));
        out.onNext(b.build());
        out.onCompleted();
    }
}
