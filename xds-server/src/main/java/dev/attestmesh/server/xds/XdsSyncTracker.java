package dev.attestmesh.server.xds;

import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import java.time.Clock;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Tracks, per node and type URL, what the control plane last sent and what the proxy answered, giving
 * the sync state that {@code istioctl proxy-status} shows:
 *
 * <ul>
 *   <li>{@link SyncState#NOT_SENT}: nothing of this type was sent to the node (or it never asked);
 *   <li>{@link SyncState#SYNCED}: the last response sent was ACKed;
 *   <li>{@link SyncState#STALE}: a response was sent and has not been answered yet;
 *   <li>{@link SyncState#NACKED}: the proxy rejected the last response (the error detail is kept).
 * </ul>
 *
 * Registered with the {@code V3DiscoveryServer} as a callback; it never refuses a request.
 */
public final class XdsSyncTracker implements DiscoveryServerCallbacks {
    /** A sync state as {@code istioctl proxy-status} names them. */
    public enum SyncState { SYNCED, STALE, NACKED, NOT_SENT }

    /** The state of one type URL for one node. */
    public record TypeStatus(SyncState state, String sentVersion, String sentNonce, String ackedVersion,
            Optional<String> nackDetail, Instant sentAt, Instant answeredAt) {}

    private final Map<Long, String> nodeByStream = new ConcurrentHashMap<>();
    // Per node, per type URL: the admin node list asks for one node's statuses per row, so a lookup must not visit
    // every node's entries (that made a page of 1,000 rows cost 1,000 scans of the whole fleet).
    private final Map<String, Map<String, TypeStatus>> status = new ConcurrentHashMap<>();
    private final Clock clock;

    public XdsSyncTracker(Clock clock) {
        this.clock = clock;
    }

    @Override
    public void onV3StreamRequest(long streamId, DiscoveryRequest request) {
        String node = request.getNode().getId().isEmpty() ? nodeByStream.get(streamId) : request.getNode().getId();
        if (node == null) {
            return;
        }
        nodeByStream.putIfAbsent(streamId, node);
        if (request.getResponseNonce().isEmpty()) {
            return; // initial request: nothing to acknowledge yet
        }
        Map<String, TypeStatus> types = status.get(node);
        if (types == null) {
            return; // nothing sent to this node yet
        }
        types.computeIfPresent(request.getTypeUrl(), (k, s) -> {
            if (!s.sentNonce().equals(request.getResponseNonce())) {
                return s; // answer to an older response; a newer one is outstanding
            }
            Instant now = clock.instant();
            if (request.hasErrorDetail()) {
                return new TypeStatus(SyncState.NACKED, s.sentVersion(), s.sentNonce(), request.getVersionInfo(),
                        Optional.of(request.getErrorDetail().getMessage()), s.sentAt(), now);
            }
            return new TypeStatus(SyncState.SYNCED, s.sentVersion(), s.sentNonce(), request.getVersionInfo(),
                    Optional.empty(), s.sentAt(), now);
        });
    }

    @Override
    public void onV3StreamDeltaRequest(long streamId, DeltaDiscoveryRequest request) {
        // Delta xDS is not tracked; AttestMesh serves state-of-the-world ADS.
    }

    @Override
    public void onV3StreamResponse(long streamId, DiscoveryRequest request, DiscoveryResponse response) {
        // May run on another thread than the request: key by stream id (see docs/architecture.md).
        String node = nodeByStream.get(streamId);
        if (node == null) {
            node = request.getNode().getId();
        }
        if (node.isEmpty()) {
            return;
        }
        Instant now = clock.instant();
        // A NACK carries the last accepted version, which the cache answers by sending the rejected version again:
        // that resend does not make the proxy any less NACKed, so it stays NACKED (with the new nonce) until a
        // different version is sent or the proxy ACKs.
        status.computeIfAbsent(node, n -> new ConcurrentHashMap<>()).compute(response.getTypeUrl(), (k, prev) -> prev != null
                && prev.state() == SyncState.NACKED && prev.sentVersion().equals(response.getVersionInfo())
                ? new TypeStatus(SyncState.NACKED, prev.sentVersion(), response.getNonce(), prev.ackedVersion(),
                        prev.nackDetail(), now, prev.answeredAt())
                : new TypeStatus(SyncState.STALE, response.getVersionInfo(), response.getNonce(), "", Optional.empty(),
                        now, Instant.EPOCH));
    }

    @Override
    public void onStreamClose(long streamId, String typeUrl) {
        nodeByStream.remove(streamId);
    }

    @Override
    public void onStreamCloseWithError(long streamId, String typeUrl, Throwable error) {
        nodeByStream.remove(streamId);
    }

    /** Status per type URL for a node (sorted by type URL); types never sent are absent. */
    public Map<String, TypeStatus> statuses(String nodeId) {
        Map<String, TypeStatus> types = status.get(nodeId);
        return types == null ? new TreeMap<>() : new TreeMap<>(types);
    }

    /** The state of one type for a node, {@link SyncState#NOT_SENT} when nothing was sent. */
    public SyncState state(String nodeId, String typeUrl) {
        Map<String, TypeStatus> types = status.get(nodeId);
        TypeStatus s = types == null ? null : types.get(typeUrl);
        return s == null ? SyncState.NOT_SENT : s.state();
    }

    /** How many nodes have at least one type in {@code state} (NACKED: proxies rejecting their configuration). */
    public long nodesIn(SyncState state) {
        return status.values().stream().filter(types -> types.values().stream().anyMatch(s -> s.state() == state))
                .count();
    }

    /** Drops everything known about a node (after it is removed from the registry). */
    public void forget(String nodeId) {
        status.remove(nodeId);
    }
}
