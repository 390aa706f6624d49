package dev.attestmesh.server.secrets;

import com.google.protobuf.ByteString;
import dev.attestmesh.api.v1.FetchSecretsRequest;
import dev.attestmesh.api.v1.FetchSecretsResponse;
import dev.attestmesh.api.v1.ReleasedSecret;
import dev.attestmesh.api.v1.SecretServiceGrpc;
import dev.attestmesh.ca.SpiffeId;
import dev.attestmesh.input.UntrustedText;
import dev.attestmesh.registry.NodeState;
import dev.attestmesh.server.registry.NodeEntry;
import dev.attestmesh.server.registry.NodeRegistry;
import dev.attestmesh.server.store.StoreException;
import dev.attestmesh.server.xds.AttestedStreamCallbacks;
import dev.attestmesh.server.xds.PeerCertificateInterceptor;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.security.cert.X509Certificate;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code attestmesh.v1.SecretService}: translates {@code FetchSecrets} to {@link SecretReleases}. The caller is
 * authenticated by its TLS client certificate alone: it must be the current (or just-replaced) certificate the
 * control plane issued to the node named in the request. No certificate: {@code UNAUTHENTICATED}; another node's
 * certificate, an unknown node, or a node that is not attested now: {@code PERMISSION_DENIED}, and no secret.
 */
public final class SecretGrpcService extends SecretServiceGrpc.SecretServiceImplBase {
    private static final Logger LOG = LoggerFactory.getLogger(SecretGrpcService.class);

    private final NodeRegistry registry;
    private final SecretReleases releases;

    public SecretGrpcService(NodeRegistry registry, SecretReleases releases) {
        this.registry = registry;
        this.releases = releases;
    }

    @Override
    public void fetchSecrets(FetchSecretsRequest request, StreamObserver<FetchSecretsResponse> out) {
        Optional<X509Certificate[]> chain = PeerCertificateInterceptor.currentPeerChain();
        if (chain.isEmpty()) {
            out.onError(Status.UNAUTHENTICATED.withDescription("FetchSecrets requires the client certificate "
                    + "AttestMesh issued to this node").asRuntimeException());
            return;
        }
        String nodeId = request.getNodeId();
        if (!SpiffeId.isNodeId(nodeId)) {
            out.onError(Status.INVALID_ARGUMENT.withDescription("node_id '" + UntrustedText.forLog(nodeId)
                    + "' must be " + SpiffeId.NODE_ID_RULE).asRuntimeException());
            return;
        }
        try {
            Optional<NodeEntry> entry = registry.entry(nodeId);
            String fingerprint = AttestedStreamCallbacks.sha256Hex(chain.get()[0]);
            if (entry.isEmpty() || !(entry.get().certSha256().equals(fingerprint)
                    || (!entry.get().previousCertSha256().isEmpty()
                            && entry.get().previousCertSha256().equals(fingerprint)))) {
                deny(out, nodeId, "the client certificate is not the current attested certificate of node '"
                        + UntrustedText.forLog(nodeId) + "'");
                return;
            }
            if (entry.get().state() != NodeState.ATTESTED) {
                deny(out, nodeId, "node '" + nodeId + "' is " + entry.get().state() + ": no secret is released");
                return;
            }
            FetchSecretsResponse.Builder response = FetchSecretsResponse.newBuilder();
            for (SecretReleases.Released r : releases.releaseTo(entry.get(), SecretReleases.Channel.AGENT)) {
                response.addSecrets(ReleasedSecret.newBuilder().setName(r.name()).setVersion(r.version())
                        .setValue(ByteString.copyFrom(r.value())));
            }
            out.onNext(response.build());
            out.onCompleted();
        } catch (StoreException e) {
            LOG.warn("FetchSecrets for node {} failed: store unavailable ({})", nodeId, e.getMessage());
            out.onError(Status.UNAVAILABLE.withDescription("the control plane's state store is unavailable; "
                    + "retry shortly").asRuntimeException());
        }
    }

    private static void deny(StreamObserver<FetchSecretsResponse> out, String nodeId, String why) {
        LOG.info("FetchSecrets refused for node {}: {}", UntrustedText.forLog(nodeId), why);
        out.onError(Status.PERMISSION_DENIED.withDescription(why).asRuntimeException());
    }
}
