package dev.attestmesh.server.xds;

import dev.attestmesh.authz.NodeAuthzRecord;
import dev.attestmesh.ca.SpiffeId;
import dev.attestmesh.input.UntrustedText;
import dev.attestmesh.registry.NodeState;
import dev.attestmesh.server.mesh.EnvoyNodeIdentity;
import dev.attestmesh.server.registry.NodeRegistry;
import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.controlplane.server.exception.RequestException;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.grpc.Status;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ties every xDS stream to an attested node through its TLS client certificate (DESIGN.md section 6).
 * A request is refused unless the peer presented a certificate that is the node's current (or
 * just-replaced) attested certificate, the node named in the request is the one that certificate was
 * issued to, and the node is attested and not revoked. A stream keeps the node id of its first request.
 */
public final class AttestedStreamCallbacks implements DiscoveryServerCallbacks {
    private static final Logger LOG = LoggerFactory.getLogger(AttestedStreamCallbacks.class);

    private final NodeRegistry registry;
    private final Map<Long, String> nodeByStream = new ConcurrentHashMap<>();
    private final XdsStreamStats stats;

    public AttestedStreamCallbacks(NodeRegistry registry, XdsStreamStats stats) {
        this.registry = registry;
        this.stats = stats;
    }

    @Override
    public void onStreamOpen(long streamId, String typeUrl) throws RequestException {
        if (PeerCertificateInterceptor.currentPeerChain().isEmpty()) {
            throw new RequestException(Status.UNAUTHENTICATED.withDescription(
                    "xDS requires the client certificate issued by AttestMesh to this node"));
        }
        stats.opened();
    }

    @Override
    public void onV3StreamRequest(long streamId, DiscoveryRequest request) throws RequestException {
        requireBoundedNode(request.getNode());
        check(streamId, request.getNode().getId());
        if (request.hasErrorDetail()) {
            LOG.warn("node {} NACKed {} version {}: {}", nodeByStream.get(streamId),
                    UntrustedText.forLog(request.getTypeUrl(), 200), UntrustedText.forLog(request.getVersionInfo()),
                    UntrustedText.fit(request.getErrorDetail().getMessage(), 1024));
        }
    }

    @Override
    public void onV3StreamDeltaRequest(long streamId, DeltaDiscoveryRequest request) throws RequestException {
        requireBoundedNode(request.getNode());
        check(streamId, request.getNode().getId());
    }

    /**
     * Refuses, before anything else reads it, a {@code Node} whose id is not a node id or whose cluster
     * or string metadata exceed {@link EnvoyNodeIdentity#limitProblem the limits}: what is kept per
     * node in memory and shown in logs stays bounded. An empty id is allowed (later requests of a stream
     * may omit the node).
     */
    static void requireBoundedNode(Node node) throws RequestException {
        String id = node.getId();
        if (!id.isEmpty() && !SpiffeId.isNodeId(id)) {
            throw invalid("node.id '" + UntrustedText.forLog(id) + "' must be " + SpiffeId.NODE_ID_RULE);
        }
        Map<String, String> metadata = new HashMap<>();
        node.getMetadata().getFieldsMap().forEach((k, v) -> {
            if (v.hasStringValue()) {
                metadata.put(k, v.getStringValue());
            }
        });
        Optional<String> problem = EnvoyNodeIdentity.limitProblem(node.getCluster(), metadata);
        if (problem.isPresent()) {
            throw invalid("node." + problem.get());
        }
    }

    private static RequestException invalid(String why) {
        LOG.info("xDS request refused: {}", why);
        return new RequestException(Status.INVALID_ARGUMENT.withDescription(why));
    }

    @Override
    public void onStreamClose(long streamId, String typeUrl) {
        if (nodeByStream.remove(streamId) != null) {
            stats.closed();
        }
    }

    @Override
    public void onStreamCloseWithError(long streamId, String typeUrl, Throwable error) {
        onStreamClose(streamId, typeUrl);
    }

    private void check(long streamId, String requestedNodeId) throws RequestException {
        X509Certificate[] chain = PeerCertificateInterceptor.currentPeerChain().orElseThrow(() ->
                new RequestException(Status.UNAUTHENTICATED.withDescription(
                        "xDS requires the client certificate issued by AttestMesh to this node")));
        String bound = nodeByStream.get(streamId);
        String nodeId = requestedNodeId.isEmpty() && bound != null ? bound : requestedNodeId;
        if (bound != null && !bound.equals(nodeId)) {
            throw denied("stream was opened for node '" + bound + "' and may not switch to '" + nodeId + "'");
        }
        NodeAuthzRecord record = registry.byNodeId(nodeId).orElseThrow(() ->
                denied("node '" + nodeId + "' has not attested"));
        if (record.state() != NodeState.ATTESTED) {
            throw denied("node '" + nodeId + "' is " + record.state() + ": " + record.stateReason());
        }
        String fingerprint = sha256Hex(chain[0]);
        if (!record.certificateSha256Hex().contains(fingerprint)) {
            throw denied("the client certificate is not the current attested certificate of node '" + nodeId + "'");
        }
        if (nodeByStream.putIfAbsent(streamId, nodeId) == null) {
            XdsStreamGuard.bindCurrent(nodeId); // from now on, a revocation closes this stream
        }
    }

    private static RequestException denied(String why) {
        LOG.info("xDS request refused: {}", why);
        return new RequestException(Status.PERMISSION_DENIED.withDescription(why));
    }

    /** SHA-256 of the certificate DER, lower-case hex: how the registry names certificates. */
    public static String sha256Hex(X509Certificate c) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(c.getEncoded()));
        } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
            throw new IllegalStateException(e);
        }
    }
}
