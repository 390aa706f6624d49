package dev.attestmesh.envoy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.Message;
import com.google.protobuf.Struct;
import com.google.protobuf.UnknownFieldSet;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.ext_authz.v3.ExtAuthz;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The validator on real Envoy API types: paths through typed configs, parsing, and whole-config behaviour. */
class EnvoyConfigValidatorTest {

    private final EnvoyConfigValidator validator = EnvoyConfigValidator.standard();

    private static Filter filter(String name, Message config) {
        return Filter.newBuilder().setName(name).setTypedConfig(Any.pack(config)).build();
    }

    private static Listener listenerWithFilters(Filter... filters) {
        return Listener.newBuilder()
                .setName("in")
                .setAddress(Address.newBuilder().setSocketAddress(
                        SocketAddress.newBuilder().setAddress("0.0.0.0").setPortValue(15006)))
                .addFilterChains(FilterChain.newBuilder().addAllFilters(List.of(filters)))
                .build();
    }

    @Test
    void reportsAnEmptyStatPrefixInsideAFiltersTypedConfigWithItsFullPath() {
        Filter extAuthz = filter("envoy.filters.network.ext_authz", ExtAuthz.newBuilder().build());
        Filter tcpProxy = filter("envoy.filters.network.tcp_proxy",
                TcpProxy.newBuilder().setStatPrefix("in").setCluster("app").build());
        Bootstrap bootstrap = Bootstrap.newBuilder()
                .setStaticResources(Bootstrap.StaticResources.newBuilder()
                        .addListeners(listenerWithFilters(tcpProxy, extAuthz)))
                .build();
        assertEquals(List.of("static_resources.listeners[0].filter_chains[0].filters[1].typed_config.stat_prefix:"
                + " length 0 < min_len 1"), validator.validate(bootstrap).stream().map(Violation::toString).toList());
    }

    @Test
    void acceptsAWellFormedListener() {
        Listener listener = listenerWithFilters(filter("envoy.filters.network.tcp_proxy",
                TcpProxy.newBuilder().setStatPrefix("in").setCluster("app").build()));
        assertEquals(List.of(), validator.validate(listener));
    }

    @Test
    void checksHeaderNamesInGrpcInitialMetadata() {
        ExtAuthz extAuthz = ExtAuthz.newBuilder().setStatPrefix("authz")
                .setGrpcService(io.envoyproxy.envoy.config.core.v3.GrpcService.newBuilder()
                        .setEnvoyGrpc(io.envoyproxy.envoy.config.core.v3.GrpcService.EnvoyGrpc.newBuilder().setClusterName("cp"))
                        .addInitialMetadata(HeaderValue.newBuilder().setKey("x-attestmesh\npolicy").setValue("default")))
                .build();
        List<String> violations = validator.validate(extAuthz).stream().map(Violation::toString).toList();
        assertEquals(List.of("grpc_service.initial_metadata[0].key: \"x-attestmesh\\x0apolicy\" is not a valid HTTP header name (non-strict)"),
                violations);
    }

    @Test
    void reportsAnUndefinedEnumNumberFromTheWire() throws Exception {
        // transport_api_version = 99 on the wire: protobuf keeps it as an unrecognised enum value
        ExtAuthz parsed = ExtAuthz.parseFrom(ExtAuthz.newBuilder().setStatPrefix("a").build().toByteString()
                .concat(ByteString.copyFrom(new byte[] {0x28, 99})));
        List<Violation> violations = validator.validate(parsed);
        assertEquals(1, violations.size());
        assertEquals("transport_api_version", violations.getFirst().path());
        assertTrue(violations.getFirst().description().contains("(defined_only)"));
    }

    @Test
    void validatesTypedConfigsHeldInMapsAndNamesTheKey() {
        io.envoyproxy.envoy.config.cluster.v3.Cluster cluster = io.envoyproxy.envoy.config.cluster.v3.Cluster.newBuilder()
                .setName("cp")
                .putTypedExtensionProtocolOptions("envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                        Any.newBuilder().setTypeUrl("type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptionz").build())
                .build();
        List<Violation> violations = validator.validate(cluster);
        assertEquals(1, violations.size());
        assertEquals("typed_extension_protocol_options[\"envoy.extensions.upstreams.http.v3.HttpProtocolOptions\"]",
                violations.getFirst().path());
        assertTrue(violations.getFirst().description().startsWith("unknown type URL"));
    }

    @Test
    void rejectsTypedConfigsOfTheFrozenV2Api() {
        Message v2 = io.envoyproxy.envoy.config.filter.network.tcp_proxy.v2.TcpProxy.newBuilder()
                .setStatPrefix("in").setCluster("app").build();
        List<Violation> violations = validator.validate(filter("envoy.filters.network.tcp_proxy", v2));
        assertEquals(1, violations.size());
        assertEquals("typed_config", violations.getFirst().path());
        assertTrue(violations.getFirst().description().contains("frozen v2 API"), violations.getFirst().description());
    }

    @Test
    void reportsUnknownFieldNumbers() {
        TcpProxy withUnknown = TcpProxy.newBuilder().setStatPrefix("a").setCluster("b")
                .setUnknownFields(UnknownFieldSet.newBuilder()
                        .addField(999, UnknownFieldSet.Field.newBuilder().addVarint(1).build()).build())
                .build();
        List<Violation> violations = validator.validate(filter("envoy.filters.network.tcp_proxy", withUnknown));
        assertEquals(1, violations.size());
        assertEquals("typed_config", violations.getFirst().path());
        assertTrue(violations.getFirst().description().startsWith("unknown field number(s) [999]"));
    }

    @Test
    void convertsTypedStructToItsTargetTypeBeforeValidating() {
        Message typedStruct = com.github.xds.type.v3.TypedStruct.newBuilder()
                .setTypeUrl("type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy")
                .setValue(Struct.newBuilder().putFields("cluster", Value.newBuilder().setStringValue("app").build()))
                .build();
        assertEquals(List.of("typed_config.value.stat_prefix: length 0 < min_len 1"),
                validator.validate(filter("envoy.filters.network.tcp_proxy", typedStruct)).stream().map(Violation::toString).toList());
    }

    @Test
    void yamlWithAMisspeltFieldIsRejected() {
        String yaml = """
                name: in
                address: {socket_address: {address: 0.0.0.0, port_value: 15006}}
                filter_chains:
                - filters:
                  - name: envoy.filters.network.tcp_proxy
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                      stat_prefx: in
                      cluster: app
                """;
        EnvoyConfigException error = assertThrows(EnvoyConfigException.class,
                () -> validator.parseYamlAndValidate(yaml, Listener.getDefaultInstance(), "listener.yaml"));
        assertTrue(error.getMessage().contains("stat_prefx"), error.getMessage());
    }

    @Test
    void yamlWithAnUnknownTypeUrlIsRejected() {
        String yaml = """
                name: envoy.filters.network.tcp_proxy
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxyy
                """;
        EnvoyConfigException error = assertThrows(EnvoyConfigException.class,
                () -> validator.parseYamlAndValidate(yaml, Filter.getDefaultInstance(), "filter.yaml"));
        assertTrue(error.getMessage().contains("TcpProxyy"), error.getMessage());
    }

    @Test
    void yamlThatParsesButBreaksARuleListsEveryViolation() {
        String yaml = """
                name: envoy.filters.network.tcp_proxy
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                  cluster: app
                """;
        EnvoyConfigException error = assertThrows(EnvoyConfigException.class,
                () -> validator.parseYamlAndValidate(yaml, Filter.getDefaultInstance(), "filter.yaml"));
        assertEquals(List.of(new Violation("typed_config.stat_prefix", "length 0 < min_len 1")), error.violations());
        assertTrue(error.getMessage().startsWith("filter.yaml breaks Envoy's schema in 1 place"), error.getMessage());
    }

    @Test
    void parsesIntoATypeNamedAtRunTime() throws Exception {
        Message parsed = validator.parseYamlAndValidate("""
                stat_prefix: egress
                cluster: orders
                """, "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", "tcp.yaml");
        assertEquals("envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", parsed.getDescriptorForType().getFullName());
        assertThrows(EnvoyConfigException.class,
                () -> validator.parseYamlAndValidate("a: 1", "envoy.no.such.Type", "x.yaml"));
    }

    @Test
    void yamlRoundTripsThroughTheCodec() throws Exception {
        Listener listener = listenerWithFilters(filter("envoy.filters.network.tcp_proxy",
                TcpProxy.newBuilder().setStatPrefix("in").setCluster("app").build()));
        String yaml = validator.codec().toYaml(listener);
        assertTrue(yaml.contains("stat_prefix: in"), yaml);
        assertEquals(listener, validator.codec().parseYaml(yaml, Listener.getDefaultInstance(), "round trip"));
    }
}
