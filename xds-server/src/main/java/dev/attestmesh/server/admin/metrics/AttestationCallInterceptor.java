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
    private static final java.util.Set<String> KNOWN_TEES = java.util.Arrays.stream(dev.attestmesh.quote.TeeType.values())
            .map(dev.attestmesh.quote.TeeType::wireName).collect(java.util.stream.Collectors.toUnmodifiableSet());
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
                    // bounded label values: only known TEE names become a tag
                    tee[0] = KNOWN_TEES.contains(r.getTee()) ? r.getTee() : "invalid";
                }
                super.onMessage(message);
            }
        };
    }
}
