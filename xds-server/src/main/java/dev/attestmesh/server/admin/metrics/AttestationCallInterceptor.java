package dev.attestmesh.server.admin.metrics;

import dev.attestmesh.api.v1.AttestRequest;
import dev.attestmesh.api.v1.AttestationServiceGrpc;
import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * Times {@code AttestationService/Attest} calls from the request's arrival to the call's close, tagged
 * with the TEE named in the request and the result ({@code accepted} or the gRPC status code, as
 * {@code AttestationMetrics} names results). Other methods pass through untouched.
 */
public final class AttestationCallInterceptor implements ServerInterceptor {
    private final MeterRegistry registry;

    AttestationCallInterceptor(MeterRegistry registry) {
        this.registry = registry;
    }

    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
            ServerCallHandler<Q, A> next) {
        if (!call.getMethodDescriptor().getFullMethodName()
                .equals(AttestationServiceGrpc.getAttestMethod().getFullMethodName())) {
            return next.startCall(call, headers);
        }
        long started = System.nanoTime();
        String[] tee = {"unknown"};
        ServerCall<Q, A> timed = new SimpleForwardingServerCall<>(call) {
            @Override
            public void close(Status status, Metadata trailers) {
                String result = status.isOk() ? "accepted" : status.getCode().name().toLowerCase(Locale.ROOT);
                Timer.builder("attestmesh.attestation.duration")
                        .description("Attest call latency: evidence verification, appraisal and issuance")
                        .tags("tee", tee[0], "result", result)
                        .publishPercentileHistogram()
                        .register(registry)
                        .record(System.nanoTime() - started, TimeUnit.NANOSECONDS);
                super.close(status, trailers);
            }
        };
        return new SimpleForwardingServerCallListener<>(next.startCall(timed, headers)) {
            @Override
            public void onMessage(Q message) {
                if (message instanceof AttestRequest r) {
                    // bounded label values: only well-formed TEE names become a tag
                    tee[0] = r.getTee().matches("[a-z]{1,8}") ? r.getTee() : "invalid";
                }
                super.onMessage(message);
            }
        };
    }
}
