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

/**
 * Counts ext_authz Checks by decision without touching the Authorization service: {@code allow} when
 * the CheckResponse status is OK, {@code deny} when it carries another code, {@code error} when the
 * call fails without a CheckResponse (Envoy then applies {@code failure_mode_allow}).
 */
public final class AuthzCheckInterceptor implements ServerInterceptor {
    private final Counter allow;
    private final Counter deny;
    private final Counter error;

    AuthzCheckInterceptor(MeterRegistry registry) {
        this.allow = counter(registry, "allow");
        this.deny = counter(registry, "deny");
        this.error = counter(registry, "error");
    }

    private static Counter counter(MeterRegistry registry, String decision) {
        return Counter.builder("attestmesh.extauthz.checks").description("ext_authz Checks by decision")
                .tag("decision", decision).register(registry);
    }

    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
            ServerCallHandler<Q, A> next) {
        boolean[] answered = {false};
        return next.startCall(new SimpleForwardingServerCall<>(call) {
            @Override
            public void sendMessage(A message) {
                CheckResponse r = message instanceof AuthzResponse a ? a.message()
                        : message instanceof CheckResponse c ? c : null;
                if (r != null) {
                    answered[0] = true;
                    (r.getStatus().getCode() == 0 ? allow : deny).increment();
                }
                super.sendMessage(message);
            }

            @Override
            public void close(Status status, Metadata trailers) {
                if (!answered[0]) {
                    error.increment();
                }
                super.close(status, trailers);
            }
        }, headers);
    }
}
