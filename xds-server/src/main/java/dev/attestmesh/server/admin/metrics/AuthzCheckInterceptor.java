package dev.attestmesh.server.admin.metrics;

import dev.attestmesh.authz.AuthzResponse;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Counts ext_authz Checks by decision without touching the Authorization service: {@code allow} when
 * the CheckResponse status is OK, {@code deny} when it carries another code, {@code error} when the
 * call fails without a CheckResponse (Envoy then applies {@code failure_mode_allow}); and times each Check from its
 * arrival to its answer as {@code attestmesh_extauthz_check_duration_seconds{decision}}, a histogram whose buckets
 * span Envoy's default 200 ms ext_authz timeout. Used by the embedded Authorization service and by
 * {@code attestmesh authz} (the standalone replica).
 */
public final class AuthzCheckInterceptor implements ServerInterceptor {
    private final Counter allow;
    private final Counter deny;
    private final Counter error;
    private final Timer allowTime;
    private final Timer denyTime;
    private final Timer errorTime;

    /** Registers its counters and timers in {@code registry}. */
    public AuthzCheckInterceptor(MeterRegistry registry) {
        this.allow = counter(registry, "allow");
        this.deny = counter(registry, "deny");
        this.error = counter(registry, "error");
        this.allowTime = timer(registry, "allow");
        this.denyTime = timer(registry, "deny");
        this.errorTime = timer(registry, "error");
    }

    private static Timer timer(MeterRegistry registry, String decision) {
        return Timer.builder("attestmesh.extauthz.check.duration")
                .description("ext_authz Check latency, from the request's arrival to the decision sent")
                .tag("decision", decision)
                .serviceLevelObjectives(Duration.ofMillis(1), Duration.ofMillis(5), Duration.ofMillis(10),
                        Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(200),
                        Duration.ofMillis(500), Duration.ofSeconds(1))
                .register(registry);
    }

    private static Counter counter(MeterRegistry registry, String decision) {
        return Counter.builder("attestmesh.extauthz.checks").description("ext_authz Checks by decision")
                .tag("decision", decision).register(registry);
    }

    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
            ServerCallHandler<Q, A> next) {
        boolean[] answered = {false};
        long started = System.nanoTime();
        return next.startCall(new SimpleForwardingServerCall<>(call) {
            @Override
            public void sendMessage(A message) {
                CheckResponse r = message instanceof AuthzResponse a ? a.message()
                        : message instanceof CheckResponse c ? c : null;
                if (r != null) {
                    answered[0] = true;
                    boolean allowed = r.getStatus().getCode() == 0;
                    (allowed ? allow : deny).increment();
                    (allowed ? allowTime : denyTime).record(System.nanoTime() - started, TimeUnit.NANOSECONDS);
                }
                super.sendMessage(message);
            }

            @Override
            public void close(Status status, Metadata trailers) {
                if (!answered[0]) {
                    error.increment();
                    errorTime.record(System.nanoTime() - started, TimeUnit.NANOSECONDS);
                }
                super.close(status, trailers);
            }
        }, headers);
    }
}
