package dev.attestmesh.envoy;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * What {@link BootstrapRenderer} needs to write a sidecar's Envoy bootstrap. Validated on construction:
 * ports are 1-65535 and distinct (ingress listeners, egress listeners and admin all bind on this host),
 * names are non-blank, {@code certDir} is absolute, policy IDs are well formed.
 *
 * @param nodeId Envoy node id, as the node agent registered it with the control plane
 * @param cluster Envoy node cluster (the service name)
 * @param trustDomain the mesh's SPIFFE trust domain (the control plane's {@code attestmesh.trust-domain}); the
 *     control-plane cluster accepts only a server certificate naming {@code spiffe://<trustDomain>/attestmesh/control-plane}
 * @param controlPlaneHost the control plane's address: an IP literal (static endpoint) or a DNS name
 * @param controlPlanePort the control plane's gRPC port (ADS, SDS, ext_authz), usually 15010
 * @param certDir the node agent's output directory holding {@code cert-chain.pem}, {@code key.pem} and
 *     {@code ca-bundle.pem}, e.g. {@code /var/run/attestmesh}
 * @param ingress inbound listeners; with no ingress and no egress the sidecar takes listeners and clusters
 *     from the control plane over ADS instead
 * @param egress outbound listeners
 * @param adminPort Envoy admin port, bound on 127.0.0.1 only
 */
public record BootstrapParameters(String nodeId, String cluster, String trustDomain, String controlPlaneHost,
                                  int controlPlanePort,
                                  Path certDir, List<Ingress> ingress, List<Egress> egress, int adminPort) {

    /** Checks every parameter; see the type's description. */
    public BootstrapParameters {
        requireText(nodeId, "nodeId");
        requireText(cluster, "cluster");
        if (trustDomain == null || !TRUST_DOMAIN.matcher(trustDomain).matches()) {
            throw new IllegalArgumentException("trust domain '" + trustDomain + "' is not a SPIFFE trust domain:"
                    + " 1-255 characters of a-z 0-9 . _ - (use the control plane's attestmesh.trust-domain)");
        }
        requireText(controlPlaneHost, "controlPlaneHost");
        requirePort(controlPlanePort, "controlPlanePort");
        Objects.requireNonNull(certDir, "certDir");
        if (!certDir.isAbsolute()) {
            throw new IllegalArgumentException("certDir " + certDir + " must be absolute: Envoy resolves relative"
                    + " paths against its working directory, not the node agent's");
        }
        ingress = List.copyOf(Objects.requireNonNull(ingress, "ingress"));
        egress = List.copyOf(Objects.requireNonNull(egress, "egress"));
        requirePort(adminPort, "adminPort");
        Set<Integer> ports = new HashSet<>();
        ports.add(adminPort);
        for (Ingress in : ingress) {
            if (!ports.add(in.port())) {
                throw new IllegalArgumentException("ingress port " + in.port() + " is used twice; every listener"
                        + " and the admin port need their own port");
            }
        }
        for (Egress out : egress) {
            if (!ports.add(out.listenPort())) {
                throw new IllegalArgumentException("egress listen port " + out.listenPort() + " is used twice; every"
                        + " listener and the admin port need their own port");
            }
        }
    }

    /**
     * An inbound listener: mTLS on {@code port} (all interfaces), ext_authz requiring {@code policyIds}, then
     * TCP to the application on {@code 127.0.0.1:appPort}.
     *
     * @param policyIds policies the connecting peer must satisfy, sent comma-separated as the gRPC metadata
     *     {@code x-attestmesh-policy-ids} of the listener's ext_authz call; at least one
     */
    public record Ingress(int port, int appPort, List<String> policyIds) {

        /** Checks ports and policy IDs. */
        public Ingress {
            requirePort(port, "ingress port");
            requirePort(appPort, "ingress appPort");
            policyIds = List.copyOf(Objects.requireNonNull(policyIds, "policyIds"));
            if (policyIds.isEmpty()) {
                throw new IllegalArgumentException("ingress on port " + port + " needs at least one policy ID"
                        + " (e.g. \"default\"): ext_authz decides on the policies a peer must satisfy");
            }
            policyIds.forEach(SdsSecretNames::requirePolicyId);
        }
    }

    /**
     * An outbound listener on {@code 127.0.0.1:listenPort} proxying over mTLS to an attested upstream.
     *
     * @param sni the upstream's TLS server name
     * @param policyIds the policy the upstream must prove: at most one, because Envoy's SAN matchers are
     *     alternatives (a certificate matching any one passes), so one cluster cannot require two policies;
     *     define a policy that combines them instead. Empty: any certificate of the mesh CA ({@code ROOTCA}).
     */
    public record Egress(int listenPort, String upstreamHost, int upstreamPort, String sni, List<String> policyIds) {

        /** Checks ports, names and policy IDs. */
        public Egress {
            requirePort(listenPort, "egress listenPort");
            requireText(upstreamHost, "egress upstreamHost");
            requirePort(upstreamPort, "egress upstreamPort");
            requireText(sni, "egress sni");
            policyIds = List.copyOf(Objects.requireNonNull(policyIds, "policyIds"));
            if (policyIds.size() > 1) {
                throw new IllegalArgumentException("egress to " + upstreamHost + " lists policies " + policyIds
                        + " but an Envoy upstream can require only one (SAN matchers are alternatives);"
                        + " define one policy combining them");
            }
            policyIds.forEach(SdsSecretNames::requirePolicyId);
        }
    }

    private static final java.util.regex.Pattern TRUST_DOMAIN = java.util.regex.Pattern.compile("[a-z0-9._-]{1,255}");

    private static void requireText(String value, String name) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException(name + " must not be blank");
        }
    }

    private static void requirePort(int port, String name) {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException(name + " " + port + " is not a TCP port (1-65535)");
        }
    }
}
