package dev.attestmesh.server.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.rpc.Status;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.Test;

class XdsSyncTrackerTest {
    private static final String SDS = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";
    private static final String CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";

    private static DiscoveryRequest request(String node, String type, String version, String nonce) {
        return DiscoveryRequest.newBuilder().setNode(Node.newBuilder().setId(node)).setTypeUrl(type)
                .setVersionInfo(version).setResponseNonce(nonce).build();
    }

    private static DiscoveryResponse response(String type, String version, String nonce) {
        return DiscoveryResponse.newBuilder().setTypeUrl(type).setVersionInfo(version).setNonce(nonce).build();
    }

    @Test
    void tracksSentAckedAndNackedPerNodeAndTypeWithoutMixingNodes() {
        XdsSyncTracker t = new XdsSyncTracker(Clock.systemUTC());
        for (int i = 0; i < 3; i++) {
            String node = "n" + i;
            t.onV3StreamRequest(i, request(node, SDS, "", ""));
            t.onV3StreamResponse(i, request(node, SDS, "", ""), response(SDS, "v1", "a" + i));
            t.onV3StreamResponse(i, request(node, CDS, "", ""), response(CDS, "c1", "b" + i));
        }
        assertEquals(XdsSyncTracker.SyncState.STALE, t.state("n0", SDS));
        t.onV3StreamRequest(0, request("n0", SDS, "v1", "a0"));
        t.onV3StreamRequest(1, request("n1", SDS, "", "b1").toBuilder().setErrorDetail(Status.newBuilder()
                .setMessage("bad secret")).build()); // a NACK for a nonce of another type: ignored
        t.onV3StreamRequest(1, request("n1", SDS, "", "a1").toBuilder().setErrorDetail(Status.newBuilder()
                .setMessage("bad secret")).build());
        assertEquals(XdsSyncTracker.SyncState.SYNCED, t.state("n0", SDS));
        assertEquals(XdsSyncTracker.SyncState.NACKED, t.state("n1", SDS));
        assertEquals("bad secret", t.statuses("n1").get(SDS).nackDetail().orElseThrow());
        assertEquals(XdsSyncTracker.SyncState.STALE, t.state("n2", SDS));
        assertEquals(List.of(CDS, SDS), List.copyOf(t.statuses("n0").keySet()));
        assertEquals(XdsSyncTracker.SyncState.NOT_SENT, t.state("n9", SDS));
        assertTrue(t.statuses("n9").isEmpty());
        assertEquals(1, t.nodesIn(XdsSyncTracker.SyncState.NACKED));
        assertEquals(3, t.nodesIn(XdsSyncTracker.SyncState.STALE)); // every node's CDS is unacknowledged
        t.forget("n1");
        assertEquals(0, t.nodesIn(XdsSyncTracker.SyncState.NACKED));
        assertTrue(t.statuses("n1").isEmpty());
        assertEquals(XdsSyncTracker.SyncState.SYNCED, t.state("n0", SDS));
    }

    @Test
    void anAckForAnOlderNonceLeavesTheNewerSendOutstanding() {
        XdsSyncTracker t = new XdsSyncTracker(Clock.systemUTC());
        t.onV3StreamRequest(7, request("n", SDS, "", ""));
        t.onV3StreamResponse(7, request("n", SDS, "", ""), response(SDS, "v1", "1"));
        t.onV3StreamResponse(7, request("n", SDS, "", ""), response(SDS, "v2", "2"));
        t.onV3StreamRequest(7, request("n", SDS, "v1", "1"));
        assertEquals(XdsSyncTracker.SyncState.STALE, t.state("n", SDS));
        t.onV3StreamRequest(7, request("n", SDS, "v2", "2"));
        assertEquals(XdsSyncTracker.SyncState.SYNCED, t.state("n", SDS));
        assertEquals("v2", t.statuses("n").get(SDS).ackedVersion());
    }
}
