package dev.attestmesh.server.xds;

import dev.attestmesh.authz.NodeState;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.policy.Policy;
import dev.attestmesh.sds.SdsSecretFactory;
import dev.attestmesh.server.ca.MeshCaHolder;
import dev.attestmesh.server.policy.PolicyRegistry;
import dev.attestmesh.server.registry.NodeEntry;
import dev.attestmesh.server.registry.NodeRegistry;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds each node's xDS snapshot and publishes it to the java-control-plane cache. A node's snapshot
 * carries the SDS secrets of DESIGN.md section 6: {@code default} (its certificate chain inline, the
 * private key by file name on the node), {@code ROOTCA} (the mesh trust bundle) and {@code
 * policy:<id>} for every configured policy. Every name is always present, so an ADS client never waits
 * on a missing resource. A node that is not attested gets no snapshot at all.
 */
public final class SnapshotPublisher {
    private static final Logger LOG = LoggerFactory.getLogger(SnapshotPublisher.class);

    private final SimpleCache<String> cache;
    private final NodeRegistry registry;
    private final PolicyRegistry policies;
    private final MeshCaHolder ca;
    private final String nodeKeyFile;
    private final AtomicLong version = new AtomicLong();

    /**
     * @param nodeKeyFile where the node agent writes the private key on each node, as Envoy reads it
     */
    public SnapshotPublisher(SimpleCache<String> cache, NodeRegistry registry, PolicyRegistry policies,
            MeshCaHolder ca, String nodeKeyFile) {
        this.cache = cache;
        this.registry = registry;
        this.policies = policies;
        this.ca = ca;
        this.nodeKeyFile = nodeKeyFile;
    }

    /** Re-publishes every node's snapshot (after a registry, policy or CA change). */
    public void publishAll() {
        for (NodeEntry e : registry.entries()) {
            publish(e);
        }
    }

    /** Re-publishes one node's snapshot (after that node's attestation, renewal or revocation). */
    public void publishNode(String nodeId) {
        registry.entry(nodeId).ifPresentOrElse(this::publish, () -> cache.clearSnapshot(nodeId));
    }

    private void publish(NodeEntry e) {
        if (e.state() != NodeState.ATTESTED) {
            cache.clearSnapshot(e.nodeId());
            return;
        }
        List<X509Certificate> chain;
        try {
            chain = Pem.parseCertificates(e.certChainPem());
        } catch (CertificateException ex) {
            LOG.error("stored certificate chain of node {} does not parse; withholding its snapshot", e.nodeId(), ex);
            cache.clearSnapshot(e.nodeId());
            return;
        }
        List<X509Certificate> bundle = ca.trustBundle();
        List<Secret> secrets = new ArrayList<>();
        secrets.add(SdsSecretFactory.tlsCertificate(chain, nodeKeyFile));
        secrets.add(SdsSecretFactory.rootCa(bundle));
        for (Policy p : policies.all()) {
            secrets.add(SdsSecretFactory.policyValidation(p.id(), bundle));
        }
        String v = Long.toString(version.incrementAndGet());
        cache.setSnapshot(e.nodeId(), Snapshot.create(List.of(), List.of(), List.of(), List.of(), secrets, v));
    }
}
