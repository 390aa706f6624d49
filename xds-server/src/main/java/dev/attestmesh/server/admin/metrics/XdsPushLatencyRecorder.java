package dev.attestmesh.server.admin.metrics;

import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Measures, per xDS response, the time from sending it to the proxy's answer (ACK or NACK), matched by
 * stream and response nonce, as {@code attestmesh_xds_push_ack_duration_seconds{type,outcome}}. A
 * response superseded before it is answered is dropped, as the proxy never answers it.
 */
public final class XdsPushLatencyRecorder implements DiscoveryServerCallbacks {
    private record Sent(String nonce, long nanos) {}

    private record Key(long streamId, String typeUrl) {}

    private final MeterRegistry registry;
    private final Map<Key, Sent> outstanding = new ConcurrentHashMap<>();

    XdsPushLatencyRecorder(MeterRegistry registry) {
        this.registry = registry;
    }

    @Override
    public void onV3StreamResponse(long streamId, DiscoveryRequest request, DiscoveryResponse response) {
        outstanding.put(new Key(streamId, response.getTypeUrl()), new Sent(response.getNonce(), System.nanoTime()));
    }

    @Override
    public void onV3StreamRequest(long streamId, DiscoveryRequest request) {
        if (request.getResponseNonce().isEmpty()) {
            return;
        }
        Key key = new Key(streamId, request.getTypeUrl());
        Sent sent = outstanding.get(key);
        if (sent == null || !sent.nonce().equals(request.getResponseNonce()) || !outstanding.remove(key, sent)) {
            return;
        }
        Timer.builder("attestmesh.xds.push.ack.duration")
                .description("Time from sending an xDS response to the proxy's ACK or NACK")
                .tags("type", shortType(request.getTypeUrl()), "outcome", request.hasErrorDetail() ? "nack" : "ack")
                .publishPercentileHistogram()
                .register(registry)
                .record(System.nanoTime() - sent.nanos(), TimeUnit.NANOSECONDS);
    }

    @Override
    public void onV3StreamDeltaRequest(long streamId, DeltaDiscoveryRequest request) {
        // AttestMesh serves state-of-the-world xDS only.
    }

    @Override
    public void onStreamClose(long streamId, String typeUrl) {
        outstanding.keySet().removeIf(k -> k.streamId() == streamId);
    }

    @Override
    public void onStreamCloseWithError(long streamId, String typeUrl, Throwable error) {
        onStreamClose(streamId, typeUrl);
    }

    /** {@code type.googleapis.com/envoy.config.cluster.v3.Cluster} to {@code Cluster}, a bounded label. */
    static String shortType(String typeUrl) {
        int dot = typeUrl.lastIndexOf('.');
        String t = dot < 0 ? typeUrl : typeUrl.substring(dot + 1);
        return t.matches("[A-Za-z]{1,40}") ? t : "other";
    }
}
