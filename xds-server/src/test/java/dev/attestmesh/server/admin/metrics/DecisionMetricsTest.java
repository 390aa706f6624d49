package dev.attestmesh.server.admin.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.attestmesh.authz.AuthzDecider;
import dev.attestmesh.server.EmptyRegistryView;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code attestmesh_extauthz_decisions_total{source}} counts what the decider answered from its cache and what it made. */
class DecisionMetricsTest {
    @Test
    void countsDecisionsAnsweredFromTheCacheAndMadeAfresh() {
        Clock clock = Clock.fixed(Instant.parse("2026-03-01T12:00:00Z"), ZoneOffset.UTC);
        AuthzDecider decider = new AuthzDecider(new EmptyRegistryView(), clock, 1_000);
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        MeshMetrics.bindDecisions(registry, decider);
        CheckRequest byPrincipal = CheckRequest.newBuilder().setAttributes(AttributeContext.newBuilder()
                .setSource(AttributeContext.Peer.newBuilder().setPrincipal("spiffe://td/ns/a/sa/b"))
                .setDestination(AttributeContext.Peer.newBuilder().setPrincipal("spiffe://td/node/server")
                        .setAddress(Address.newBuilder().setSocketAddress(SocketAddress.newBuilder()
                                .setAddress("10.0.0.2").setPortValue(8443))))).build();
        for (int i = 0; i < 3; i++) {
            decider.decide(byPrincipal, List.of("default")); // denied (no such policy), then from the cache
        }
        PrometheusText t = PrometheusText.parse(registry.scrape());
        assertEquals(1.0, t.value("attestmesh_extauthz_decisions_total", Map.of("source", "computed")));
        assertEquals(2.0, t.value("attestmesh_extauthz_decisions_total", Map.of("source", "cache")));
        assertEquals("counter", t.types().get("attestmesh_extauthz_decisions_total"));
    }
}
