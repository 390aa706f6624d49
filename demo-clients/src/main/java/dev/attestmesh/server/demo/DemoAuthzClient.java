package dev.attestmesh.server.demo;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.attestmesh.agent.ControlPlaneChannels;
import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.ca.Pem;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Sends the CheckRequest that Envoy's network ext_authz filter sends for a new connection
 * ({@code include_peer_certificate: true}), over mTLS with the asking node's certificate.
 */
public final class DemoAuthzClient implements AutoCloseable {
    /** The policy header Envoy's filter carries in {@code grpc_service.initial_metadata}. */
    public static final Metadata.Key<String> POLICY_HEADER =
            Metadata.Key.of("x-attestmesh-policy-ids", Metadata.ASCII_STRING_MARSHALLER);

    /** Outcome of one Check. */
    public record Result(boolean allowed, int code, String detail) {}

    private final ManagedChannel channel;

    public DemoAuthzClient(String target, NodeAgent asker) {
        this.channel = channelAs(target, asker);
    }

    /** A channel to the control plane authenticated as {@code agent} (its attested certificate and key). */
    public static ManagedChannel channelAs(String target, NodeAgent agent) {
        return ControlPlaneChannels.open(target, agent.credentials().orElseThrow().trustBundle(), agent.clientIdentity());
    }

    public Result check(X509Certificate peer, String destinationPrincipal, List<String> policyIds) {
        Metadata md = new Metadata();
        md.put(POLICY_HEADER, String.join(",", policyIds));
        CheckRequest req = networkCheck(peer, destinationPrincipal);
        CheckResponse resp = AuthorizationGrpc.newBlockingStub(channel)
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md))
                .withDeadlineAfter(5, TimeUnit.SECONDS).check(req);
        boolean ok = resp.getStatus().getCode() == 0;
        return new Result(ok, resp.getStatus().getCode(), ok ? describe(resp.getDynamicMetadata())
                : resp.getStatus().getMessage());
    }

    /** A network-filter CheckRequest for a connection from the holder of {@code peer}. */
    public static CheckRequest networkCheck(X509Certificate peer, String destinationPrincipal) {
        String pem = Pem.certificates(List.of(peer));
        String principal = MutualTlsProbe.spiffeId(peer);
        return CheckRequest.newBuilder().setAttributes(AttributeContext.newBuilder()
                .setSource(AttributeContext.Peer.newBuilder()
                        .setPrincipal(principal)
                        .setCertificate(envoyUrlEncode(pem))
                        .setAddress(address("127.0.0.1", 40000)))
                .setDestination(AttributeContext.Peer.newBuilder()
                        .setPrincipal(destinationPrincipal)
                        .setService("payments.mesh.local")
                        .setAddress(address("127.0.0.1", 15006))))
                .build();
    }

    /**
     * Envoy's encoding of {@code source.certificate}: the PEM with newline, space, '+', '/' and '='
     * percent-escaped (as Envoy's {@code urlEncodedPemEncodedPeerCertificate} produces it).
     */
    public static String envoyUrlEncode(String pem) {
        StringBuilder sb = new StringBuilder(pem.length() + 64);
        for (char c : pem.toCharArray()) {
            switch (c) {
                case '\n' -> sb.append("%0A");
                case ' ' -> sb.append("%20");
                case '+' -> sb.append("%2B");
                case '/' -> sb.append("%2F");
                case '=' -> sb.append("%3D");
                default -> sb.append(c);
            }
        }
        return sb.toString();
    }

    private static Address address(String ip, int port) {
        return Address.newBuilder().setSocketAddress(SocketAddress.newBuilder().setAddress(ip).setPortValue(port))
                .build();
    }

    private static String describe(Struct s) {
        return s.getFieldsMap().entrySet().stream().map(e -> e.getKey() + "=" + render(e.getValue()))
                .collect(Collectors.joining(", "));
    }

    private static String render(Value v) {
        return switch (v.getKindCase()) {
            case STRING_VALUE -> v.getStringValue().length() > 48 ? v.getStringValue().substring(0, 24) + "..."
                    : v.getStringValue();
            case LIST_VALUE -> v.getListValue().getValuesList().stream().map(DemoAuthzClient::plain)
                    .collect(Collectors.joining(",", "[", "]"));
            default -> v.toString().trim();
        };
    }

    private static String plain(Value v) {
        return v.hasStringValue() ? v.getStringValue() : v.toString().trim();
    }

    @Override
    public void close() {
        channel.shutdownNow();
    }
}
