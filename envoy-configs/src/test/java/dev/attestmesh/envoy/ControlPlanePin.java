package dev.attestmesh.envoy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.GrpcService;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/** Assertions that a bootstrap dials the control plane only when it presents the reserved control-plane identity. */
final class ControlPlanePin {
    private ControlPlanePin() {}

    /**
     * Every cluster a gRPC service of {@code bootstrap} (ADS, ext_authz, ...) dials through Envoy's gRPC
     * client: those are the clusters that reach the control plane.
     */
    static Set<String> grpcClusters(Bootstrap bootstrap) throws InvalidProtocolBufferException {
        Set<String> out = new TreeSet<>();
        for (Message m : BootstrapFilesTest.collect(bootstrap, Set.of("envoy.config.core.v3.GrpcService"))) {
            GrpcService g = m instanceof GrpcService gs ? gs : GrpcService.parseFrom(m.toByteString());
            if (g.hasEnvoyGrpc()) {
                out.add(g.getEnvoyGrpc().getClusterName());
            }
        }
        return out;
    }

    /** Asserts that every cluster a gRPC service dials pins exactly the control-plane SPIFFE ID of {@code trustDomain}. */
    static void assertEveryControlPlaneClusterPins(Bootstrap bootstrap, String trustDomain, String where)
            throws InvalidProtocolBufferException {
        Set<String> dialled = grpcClusters(bootstrap);
        assertFalse(dialled.isEmpty(), where + ": no gRPC service dials the control plane");
        assertTrue(dialled.contains(BootstrapRenderer.CONTROL_PLANE_CLUSTER), where + " dials " + dialled);
        for (String name : dialled) {
            Cluster cluster = bootstrap.getStaticResources().getClustersList().stream()
                    .filter(c -> c.getName().equals(name)).findFirst()
                    .orElseThrow(() -> new AssertionError(where + ": gRPC cluster " + name + " is not defined"));
            assertPins(cluster, trustDomain, where);
        }
    }

    /** Asserts that {@code cluster}'s TLS validation requires exactly the control plane's URI SAN. */
    static void assertPins(Cluster cluster, String trustDomain, String where) throws InvalidProtocolBufferException {
        assertTrue(cluster.hasTransportSocket(), where + ": " + cluster.getName() + " has no TLS");
        var common = cluster.getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class).getCommonTlsContext();
        assertTrue(common.hasCombinedValidationContext(), where + ": " + cluster.getName()
                + " validates the control plane without a SAN pin (needs combined_validation_context)");
        List<SubjectAltNameMatcher> sans = common.getCombinedValidationContext().getDefaultValidationContext()
                .getMatchTypedSubjectAltNamesList();
        assertEquals(1, sans.size(), where + ": " + cluster.getName() + " SAN matchers " + sans);
        assertEquals(SubjectAltNameMatcher.SanType.URI, sans.getFirst().getSanType(), where);
        assertEquals("spiffe://" + trustDomain + "/attestmesh/control-plane", sans.getFirst().getMatcher().getExact(), where);
        assertEquals(BootstrapRenderer.TRUST_BUNDLE_SECRET,
                common.getCombinedValidationContext().getValidationContextSdsSecretConfig().getName(), where);
    }
}
