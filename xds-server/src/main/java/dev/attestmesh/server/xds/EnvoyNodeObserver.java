package dev.attestmesh.server.xds;

import com.google.protobuf.Value;
import dev.attestmesh.server.mesh.EnvoyNodeDirectory;
import dev.attestmesh.server.mesh.EnvoyNodeIdentity;
import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import java.util.Map;
import java.util.TreeMap;

/**
 * Records each node's Envoy {@code cluster} and string metadata into the {@link EnvoyNodeDirectory}
 * for mesh membership and endpoint addresses. Must be registered after {@link AttestedStreamCallbacks}:
 * the server stops running callbacks at the first that refuses a request, so only requests already
 * tied to an attested node by its certificate are recorded.
 */
public final class EnvoyNodeObserver implements DiscoveryServerCallbacks {
    private final EnvoyNodeDirectory directory;

    public EnvoyNodeObserver(EnvoyNodeDirectory directory) {
        this.directory = directory;
    }

    @Override
    public void onV3StreamRequest(long streamId, DiscoveryRequest request) {
        observe(request.getNode());
    }

    @Override
    public void onV3StreamDeltaRequest(long streamId, DeltaDiscoveryRequest request) {
        observe(request.getNode());
    }

    private void observe(Node node) {
        if (node.getId().isEmpty()) {
            return; // later requests of a stream may omit the node (set_node_on_first_message_only)
        }
        Map<String, String> metadata = new TreeMap<>();
        for (Map.Entry<String, Value> e : node.getMetadata().getFieldsMap().entrySet()) {
            if (e.getValue().hasStringValue()) {
                metadata.put(e.getKey(), e.getValue().getStringValue());
            }
        }
        directory.record(node.getId(), new EnvoyNodeIdentity(node.getCluster(), metadata));
    }
}
