package dev.attestmesh.envoy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Set;
import java.util.jar.JarFile;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class EnvoyTypeCatalogTest {

    private final EnvoyTypeCatalog catalog = EnvoyTypeCatalog.standard();

    @Test
    void coversEveryProtoFileShippedInTheApiJar() throws Exception {
        Set<String> shipped = shippedProtoFiles();
        assertTrue(shipped.size() > 600, "the api jar ships its .proto sources: " + shipped.size());
        Set<String> missing = shipped.stream()
                .filter(name -> !name.startsWith("google/protobuf/"))
                .filter(name -> !catalog.fileNames().contains(name))
                .collect(Collectors.toCollection(java.util.TreeSet::new));
        assertEquals(Set.of(), missing);
    }

    @Test
    void resolvesExtensionTypesThatNoTopLevelConfigImports() {
        for (String type : new String[] {
                "envoy.config.bootstrap.v3.Bootstrap",
                "envoy.extensions.filters.network.ext_authz.v3.ExtAuthz",
                "envoy.extensions.filters.http.ext_authz.v3.ExtAuthz",
                "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
                "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
                "envoy.extensions.access_loggers.file.v3.FileAccessLog",
                "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "xds.type.v3.TypedStruct",
                "google.protobuf.Duration"}) {
            assertTrue(catalog.findMessageType(type).isPresent(), type);
        }
        assertTrue(catalog.findMessageType("envoy.extensions.filters.network.ext_authz.v3.ExtAuthzz").isEmpty());
    }

    @Test
    void derivesOuterClassNamesAsProtocDoes() {
        assertEquals("HttpConnectionManager", EnvoyTypeCatalog.underscoresToCamelCase("http_connection_manager"));
        assertEquals("Http11ProxyUpstream", EnvoyTypeCatalog.underscoresToCamelCase("http_11_proxy_upstream"));
        assertEquals("Validate", EnvoyTypeCatalog.underscoresToCamelCase("validate"));
    }

    private static Set<String> shippedProtoFiles() throws IOException, java.net.URISyntaxException {
        Path jar = Path.of(io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap.class
                .getProtectionDomain().getCodeSource().getLocation().toURI());
        try (JarFile file = new JarFile(jar.toFile())) {
            return file.stream().map(e -> e.getName()).filter(n -> n.endsWith(".proto")).collect(Collectors.toSet());
        }
    }
}
