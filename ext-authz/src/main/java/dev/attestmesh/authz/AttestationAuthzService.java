package dev.attestmesh.authz;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.envoyproxy.envoy.service.auth.v3.DeniedHttpResponse;
import io.envoyproxy.envoy.service.auth.v3.OkHttpResponse;
import io.envoyproxy.envoy.type.v3.HttpStatus;
import io.envoyproxy.envoy.type.v3.StatusCode;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptors;
import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.ServiceDescriptor;
import dev.attestmesh.quote.TeeType;
import java.util.List;

/**
 * Envoy's {@code envoy.service.auth.v3.Authorization} service backed by an {@link AuthzDecider}. It is
 * served only through {@link #bind(CheckCallerAuthenticator)}, which puts the caller check in front of
 * it (only authenticated callers are answered at all) and reads the {@code x-attestmesh-policy-ids} gRPC
 * header Envoy sends via {@code grpc_service.initial_metadata} (comma-separated; may repeat).
 *
 * <p>Allowed checks get status OK and dynamic metadata {@code node_id, spiffe_id, tee, measurement,
 * policy_ids} when decided by peer certificate. When decided by principal alone the metadata is {@code
 * spiffe_id, instances} (the number of live instances admitted), {@code tee} and {@code measurement}
 * (the value all instances share, else {@value #MIXED}) and {@code policy_ids} (those every instance
 * satisfies); there is no {@code node_id}, as no single node was admitted. That is what the calling
 * Envoy's filters and access logs use, and only authenticated callers ever receive it. HTTP checks
 * additionally set the upstream request header {@code x-attestmesh-peer} (JSON of the same fields),
 * overwriting any value the client sent. Denied checks get PERMISSION_DENIED with the (bounded) reason;
 * HTTP checks get a 403 with body {@code {"denied":true,"reason":...}}.
 */
public final class AttestationAuthzService {
    /** gRPC metadata key carrying the required policy IDs. */
    public static final String POLICY_HEADER = "x-attestmesh-policy-ids";
    /** Header added to allowed HTTP requests with the peer's attested identity. */
    public static final String PEER_HEADER = "x-attestmesh-peer";
    /** The {@code tee} or {@code measurement} metadata of a principal whose live instances differ in it. */
    public static final String MIXED = "mixed";
    private static final Metadata.Key<String> POLICY_KEY = Metadata.Key.of(POLICY_HEADER, Metadata.ASCII_STRING_MARSHALLER);
    private static final int OK = 0;
    private static final int PERMISSION_DENIED = 7;

    private final AuthzDecider decider;
    /**
     * Built and encoded responses per allow decision, by identity: the decider hands out the same
     * instance while a decision is cached, so the Struct, the JSON header and the response's protobuf
     * encoding are made once per decision, not per call.
     */
    private final Cache<Decision.Allow, AuthzResponse> networkAllows = responseCache();
    private final Cache<Decision.Allow, AuthzResponse> httpAllows = responseCache();

    /** Upkeep on the answering thread, as the decision cache's: no hand-off to the common pool on the hot path. */
    private static Cache<Decision.Allow, AuthzResponse> responseCache() {
        return Caffeine.newBuilder().weakKeys().maximumSize(100_000).executor(Runnable::run).build();
    }

    /** Checks answered, by outcome: read by operators at shutdown and by the outside-in load harness. */
    private final java.util.concurrent.atomic.LongAdder allowed = new java.util.concurrent.atomic.LongAdder();
    private final java.util.concurrent.atomic.LongAdder denied = new java.util.concurrent.atomic.LongAdder();

    public AttestationAuthzService(AuthzDecider decider) {
        this.decider = decider;
    }

    /**
     * Checks answered so far, by outcome.
     *
     * @param allowed Checks answered with status OK
     * @param denied Checks answered with PERMISSION_DENIED (denials and internal errors, which deny)
     */
    public record Answered(long allowed, long denied) {}

    /** How many Checks this service has answered, by outcome; a load generator that sees only HTTP/2 uses it. */
    public Answered answered() {
        return new Answered(allowed.sum(), denied.sum());
    }

    /**
     * This service, bound for serving: {@code envoy.service.auth.v3.Authorization/Check} behind {@code
     * callers} (install {@link CheckCallerAuthenticator#transportFilter()} on the same server). On the wire it is
     * the standard service; inside, the binding is made for the hot path: the request is decoded into only the
     * fields a decision reads ({@link CheckFields}), the {@value
     * #POLICY_HEADER} header is read once at the call's start, and a cached allow decision's response is sent from
     * its encoding made once per decision. The unary call is handled directly (no stub, no per-call {@link
     * io.grpc.Context} value): one request, then half-close, or the call fails as gRPC's stubs fail it.
     */
    public ServerServiceDefinition bind(CheckCallerAuthenticator callers) {
        MethodDescriptor<CheckFields, AuthzResponse> check = AuthorizationGrpc.getCheckMethod()
                .toBuilder(new CheckFieldsMarshaller(), new AuthzResponse.Marshaller()).build();
        ServiceDescriptor service = ServiceDescriptor.newBuilder(AuthorizationGrpc.SERVICE_NAME)
                .setSchemaDescriptor(AuthorizationGrpc.getServiceDescriptor().getSchemaDescriptor())
                .addMethod(check).build();
        ServerServiceDefinition definition = ServerServiceDefinition.builder(service)
                .addMethod(check, new CheckHandler()).build();
        // callers are judged before anything else is looked at
        return ServerInterceptors.intercept(definition, java.util.Objects.requireNonNull(callers, "callers"));
    }

    /** The decision's response for {@code request}, with {@code headerPolicyIds} from {@value #POLICY_HEADER}. */
    AuthzResponse respond(CheckFields request, List<String> headerPolicyIds) {
        Decision d = decider.decide(request, headerPolicyIds);
        boolean http = request.http();
        (d instanceof Decision.Allow ? allowed : denied).increment();
        return switch (d) {
            case Decision.Allow a -> (http ? httpAllows : networkAllows).get(a, x -> AuthzResponse.encoded(allow(x, http)));
            case Decision.Deny deny -> new AuthzResponse(deny(deny, http), null);
        };
    }

    static Struct claims(Decision.Allow a) {
        ListValue.Builder ids = ListValue.newBuilder();
        a.policyIds().forEach(id -> ids.addValues(Value.newBuilder().setStringValue(id)));
        Struct.Builder b = Struct.newBuilder();
        switch (a.peer()) {
            case Decision.Node n -> b.putFields("node_id", str(n.nodeId()))
                    .putFields("spiffe_id", str(n.spiffeId()))
                    .putFields("tee", str(n.tee().wireName()))
                    .putFields("measurement", str(n.measurement()));
            case Decision.Principal p -> b.putFields("spiffe_id", str(p.spiffeId()))
                    .putFields("instances", Value.newBuilder().setNumberValue(p.instances()).build())
                    .putFields("tee", str(p.tee().map(TeeType::wireName).orElse(MIXED)))
                    .putFields("measurement", str(p.measurement().orElse(MIXED)));
        }
        return b.putFields("policy_ids", Value.newBuilder().setListValue(ids).build()).build();
    }

    private static CheckResponse allow(Decision.Allow a, boolean http) {
        Struct claims = claims(a);
        CheckResponse.Builder b = CheckResponse.newBuilder()
                .setStatus(com.google.rpc.Status.newBuilder().setCode(OK))
                .setDynamicMetadata(claims);
        if (http) {
            b.setOkResponse(OkHttpResponse.newBuilder().addHeaders(header(PEER_HEADER, json(claims))));
        }
        return b.build();
    }

    private static CheckResponse deny(Decision.Deny d, boolean http) {
        CheckResponse.Builder b = CheckResponse.newBuilder()
                .setStatus(com.google.rpc.Status.newBuilder().setCode(PERMISSION_DENIED).setMessage(d.reason()));
        if (http) {
            Struct body = Struct.newBuilder().putFields("denied", Value.newBuilder().setBoolValue(true).build())
                    .putFields("reason", str(d.reason())).build();
            b.setDeniedResponse(DeniedHttpResponse.newBuilder()
                    .setStatus(HttpStatus.newBuilder().setCode(StatusCode.Forbidden))
                    .addHeaders(header("content-type", "application/json"))
                    .setBody(json(body)));
        }
        return b.build();
    }

    private static HeaderValueOption header(String name, String value) {
        return HeaderValueOption.newBuilder().setHeader(HeaderValue.newBuilder().setKey(name).setValue(value))
                .setAppendAction(HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD).build();
    }

    private static Value str(String s) {
        return Value.newBuilder().setStringValue(s).build();
    }

    private static String json(Struct s) {
        try {
            return JsonFormat.printer().omittingInsignificantWhitespace().print(s);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("Struct JSON printing failed", e); // a Struct always prints
        }
    }

    /** Starts each Check call: reads the policy header, then answers the one request on half-close. */
    private final class CheckHandler implements ServerCallHandler<CheckFields, AuthzResponse> {
        private final java.util.concurrent.ConcurrentHashMap<String, List<String>> parsed =
                new java.util.concurrent.ConcurrentHashMap<>();

        @Override
        public ServerCall.Listener<CheckFields> startCall(ServerCall<CheckFields, AuthzResponse> call, Metadata headers) {
            List<String> ids = policyIds(headers);
            call.request(2); // a second request is asked for only to fail the call, as gRPC's unary stubs do
            return new ServerCall.Listener<>() {
                private CheckFields request;
                private boolean failed;

                @Override
                public void onMessage(CheckFields message) {
                    if (request != null) {
                        failed = true;
                        call.close(Status.INTERNAL.withDescription("Too many requests"), new Metadata());
                    } else {
                        request = message;
                    }
                }

                @Override
                public void onHalfClose() {
                    if (failed) {
                        return;
                    }
                    if (request == null) {
                        call.close(Status.INTERNAL.withDescription("Half-closed without a request"), new Metadata());
                        return;
                    }
                    AuthzResponse response = respond(request, ids);
                    call.sendHeaders(new Metadata());
                    call.sendMessage(response);
                    call.close(Status.OK, new Metadata());
                }
            };
        }

        /** The header's policy IDs, sorted and de-duplicated; empty when it is absent. */
        private List<String> policyIds(Metadata headers) {
            Iterable<String> values = headers.getAll(POLICY_KEY);
            if (values == null) {
                return List.of();
            }
            java.util.Iterator<String> it = values.iterator();
            String raw = it.next();
            if (it.hasNext()) { // repeated: the union of all values
                StringBuilder all = new StringBuilder(raw);
                while (it.hasNext()) {
                    all.append(',').append(it.next());
                }
                raw = all.toString();
            }
            List<String> ids = parsed.get(raw);
            if (ids == null) {
                if (parsed.size() >= 1024) {
                    parsed.clear(); // Envoy sends a handful of distinct values; anything else must not grow this
                }
                ids = parse(raw);
                parsed.put(raw, ids);
            }
            return ids;
        }

        /** Comma-separated IDs to a sorted, de-duplicated, immutable list. */
        private static List<String> parse(String commaSeparated) {
            java.util.TreeSet<String> ids = new java.util.TreeSet<>();
            for (String id : commaSeparated.split(",")) {
                if (!id.isBlank()) {
                    ids.add(id.strip());
                }
            }
            return List.copyOf(ids);
        }
    }

    /**
     * Decodes a Check request into {@link CheckFields}: read into one array of the length the transport knows (the
     * server's maximum inbound message size bounds it), then decoded; one over {@link AuthzDecider#MAX_REQUEST_BYTES}
     * is denied by its size, with an HTTP 403 when it is an HTTP check. A malformed request fails the call as the
     * standard protobuf marshaller fails it.
     */
    static final class CheckFieldsMarshaller implements MethodDescriptor.Marshaller<CheckFields> {

        @Override
        public java.io.InputStream stream(CheckFields value) {
            throw new UnsupportedOperationException("the server binding never sends a CheckRequest");
        }

        @Override
        public CheckFields parse(java.io.InputStream stream) {
            try {
                int size = stream instanceof io.grpc.KnownLength ? stream.available() : -1;
                byte[] wire;
                if (size >= 0) { // gRPC's message streams know their length; the transport bounds it
                    wire = new byte[size];
                    if (stream.readNBytes(wire, 0, size) != size) {
                        throw new java.io.EOFException("the request ended before its length");
                    }
                } else {
                    wire = stream.readAllBytes();
                }
                return CheckFields.decode(wire, 0, wire.length);
            } catch (java.io.IOException e) {
                throw Status.INTERNAL.withDescription("Invalid protobuf byte sequence").withCause(e).asRuntimeException();
            }
        }
    }
}
