package dev.attestmesh.perf.extauthz;

import dev.attestmesh.authz.NodeAuthzRecord;
import dev.attestmesh.registry.NodeState;
import dev.attestmesh.ca.AttestationBoundIssuer;
import dev.attestmesh.ca.AttestationClaims;
import dev.attestmesh.ca.CsrValidator;
import dev.attestmesh.ca.IssuedCertificate;
import dev.attestmesh.ca.MeshCa;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.ca.SpiffeId;
import dev.attestmesh.policy.PolicyRef;
import dev.attestmesh.quote.TeeType;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/**
 * A real mesh CA ({@link MeshCa} + {@link AttestationBoundIssuer}) with {@code n} simulated nodes
 * registered as attested, and Envoy-shaped HTTP CheckRequests carrying each node's URL-encoded leaf.
 */
public final class SyntheticMesh {
    public static final String TRUST_DOMAIN = "perf.attestmesh.local";
    private static final String MEASUREMENT = "ab".repeat(48);

    private final InMemoryRegistryView view;
    private final List<CheckRequest> requests = new ArrayList<>();

    public SyntheticMesh(int nodes) throws Exception {
        Clock clock = Clock.systemUTC();
        MeshCa ca = MeshCa.generate(TRUST_DOMAIN, clock);
        AttestationBoundIssuer issuer = new AttestationBoundIssuer(ca, clock);
        view = new InMemoryRegistryView(ca.trustBundle(), Map.of("default", 1L, "production", 1L));
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        for (int i = 0; i < nodes; i++) {
            String nodeId = "node-" + i;
            KeyPair kp = g.generateKeyPair();
            byte[] csr = new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=" + nodeId), kp.getPublic())
                    .build(new JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate())).getEncoded();
            Map<String, Long> policies = Map.of("default", 1L, "production", 1L);
            List<PolicyRef> refs = policies.entrySet().stream().map(e -> new PolicyRef(e.getKey(), e.getValue())).toList();
            AttestationClaims claims = new AttestationClaims(1, nodeId, TeeType.SIM, Map.of("measurement", MEASUREMENT),
                    "UpToDate", List.of(), refs, new byte[32], clock.instant(), true, false);
            SpiffeId id = SpiffeId.forNode(TRUST_DOMAIN, nodeId);
            IssuedCertificate c = issuer.issue(CsrValidator.validate(csr), id, claims, Duration.ofHours(1));
            view.put(new NodeAuthzRecord(nodeId, id.uri(), NodeState.ATTESTED, "", TeeType.SIM, MEASUREMENT, policies,
                    Set.of(c.sha256Hex()), clock.instant().plus(Duration.ofHours(24)), "nodes", c.notAfter()));
            // Re-parsed so string fields are held as bytes: sending then copies them instead of re-encoding
            // UTF-8 on every call, which would make the client (not the server) the bottleneck
            requests.add(CheckRequest.parseFrom(httpCheck(envoyUrlEncode(c.leaf())).toByteArray()));
        }
    }

    public InMemoryRegistryView view() {
        return view;
    }

    /** One request per node, in node order. */
    public List<CheckRequest> requests() {
        return List.copyOf(requests);
    }

    /** Envoy's {@code PercentEncoding::urlEncode} of a PEM certificate. */
    static String envoyUrlEncode(X509Certificate cert) {
        StringBuilder sb = new StringBuilder();
        for (char c : Pem.certificates(List.of(cert)).toCharArray()) {
            if (c < 0x80 && Character.isLetterOrDigit(c) || "*-._".indexOf(c) >= 0) {
                sb.append(c);
            } else {
                sb.append('%').append(String.format("%02X", (int) c));
            }
        }
        return sb.toString();
    }

    private static CheckRequest httpCheck(String urlEncodedCert) {
        return CheckRequest.newBuilder().setAttributes(AttributeContext.newBuilder()
                .setSource(AttributeContext.Peer.newBuilder().setCertificate(urlEncodedCert)
                        .setAddress(Address.newBuilder().setSocketAddress(SocketAddress.newBuilder()
                                .setAddress("10.0.0.7").setPortValue(53012))))
                .setDestination(AttributeContext.Peer.newBuilder().setPrincipal("spiffe://" + TRUST_DOMAIN + "/node/api")
                        .setAddress(Address.newBuilder().setSocketAddress(SocketAddress.newBuilder()
                                .setAddress("10.0.0.2").setPortValue(8443))))
                .setRequest(AttributeContext.Request.newBuilder().setHttp(AttributeContext.HttpRequest.newBuilder()
                        .setId("req").setMethod("GET").setPath("/orders/42").setHost("orders.mesh")
                        .setScheme("https").setProtocol("HTTP/2")
                        .putHeaders(":authority", "orders.mesh").putHeaders("user-agent", "perf")))).build();
    }
}
