package dev.attestmesh.server.admin.metrics;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.attestmesh.authz.standalone.StandaloneAuthzServer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;

/**
 * The standalone ext_authz replica's own Prometheus endpoint ({@code attestmesh authz --metrics-port}): plain HTTP,
 * {@code GET /metrics} only (anything else 404, other methods 405), on loopback unless {@code --metrics-bind} says
 * otherwise. It exports what the replica alone knows: its Check decisions and their latency
 * ({@link AuthzCheckInterceptor}, the same names as the embedded service), the age of its registry view
 * ({@code attestmesh_authz_registry_age_seconds}, which the replica compares with {@code --max-staleness} before
 * denying everything), and JVM and process metrics. Nothing it serves is secret: counts and durations.
 */
public final class ReplicaMetricsEndpoint implements AutoCloseable {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final AuthzCheckInterceptor checks = new AuthzCheckInterceptor(registry);
    private final JvmGcMetrics gc = new JvmGcMetrics();
    private HttpServer http;

    public ReplicaMetricsEndpoint() {
        new ClassLoaderMetrics().bindTo(registry);
        new JvmMemoryMetrics().bindTo(registry);
        gc.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        new FileDescriptorMetrics().bindTo(registry);
    }

    /** Install on the replica's Authorization service. */
    public AuthzCheckInterceptor checkInterceptor() {
        return checks;
    }

    /** Exports the age of {@code server}'s registry view and its decisions by source, then serves {@code /metrics} on {@code bind:port}. */
    public int start(StandaloneAuthzServer server, String bind, int port) throws IOException {
        MeshMetrics.bindDecisions(registry, server.decider());
        return start(() -> server.view().sinceLastEvent(), bind, port);
    }

    /** Exports {@code registryAge}, then serves {@code /metrics} on {@code bind:port}; returns the port. */
    public int start(java.util.function.Supplier<java.time.Duration> registryAge, String bind, int port)
            throws IOException {
        Gauge.builder("attestmesh.authz.registry.age", registryAge, a -> a.get().toMillis() / 1000.0).baseUnit("seconds")
                .description("Seconds since this replica last received a registry event from the control plane")
                .register(registry);
        http = HttpServer.create(new InetSocketAddress(InetAddress.getByName(bind), port), 16);
        http.setExecutor(Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "attestmesh-authz-metrics");
            t.setDaemon(true);
            return t;
        }));
        http.createContext("/", this::handle);
        http.start();
        return http.getAddress().getPort();
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            exchange.getRequestBody().close(); // a body is ignored; the client gets no more than the headers read
            if (!exchange.getRequestURI().getPath().equals("/metrics")) {
                exchange.sendResponseHeaders(404, -1);
                return;
            }
            if (!exchange.getRequestMethod().equals("GET")) {
                exchange.getResponseHeaders().set("Allow", "GET");
                exchange.sendResponseHeaders(405, -1);
                return;
            }
            byte[] body = registry.scrape().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        }
    }

    @Override
    public void close() {
        if (http != null) {
            http.stop(0);
            ((java.util.concurrent.ExecutorService) http.getExecutor()).shutdownNow();
        }
        gc.close();
    }
}
