package dev.attestmesh.authz;

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
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/** A real mesh CA, a settable clock and an in-memory registry for ext_authz tests. */
final class MeshFixture {
    static final String TD = "mesh.example";
    static final Instant START = Instant.parse("2026-03-01T12:00:00Z");
    static final String MEASUREMENT = "aa".repeat(48);
    /** The evidence type of nodes the fixture attests unless told otherwise: hardware, so nothing needs dev mode. */
    static final TeeType TEE = TeeType.TDX;

    final MutableClock clock;
    final MeshCa ca;
    final AttestationBoundIssuer issuer;
    final FakeRegistry registry;

    /** A mesh whose clock starts at {@link #START}. */
    MeshFixture() {
        this(START);
    }

    /** A mesh whose clock starts at {@code start} (the current time for tests over real TLS). */
    MeshFixture(Instant start) {
        clock = new MutableClock(start);
        ca = MeshCa.generate(TD, clock);
        issuer = new AttestationBoundIssuer(ca, clock);
        registry = new FakeRegistry(ca.trustBundle());
    }

    /** A certificate with the private key of its subject, to present over TLS. */
    record Credentials(IssuedCertificate certificate, java.security.PrivateKey key) {}

    /**
     * Issues a certificate to {@code nodeId} holding {@code policies} and registers the node as attested
     * with hardware ({@link #TEE}) evidence.
     */
    IssuedCertificate attest(String nodeId, Map<String, Long> policies) throws Exception {
        return attest(nodeId, policies, TEE);
    }

    /**
     * As {@link #attest(String, Map)} with evidence of {@code tee}; {@link TeeType#SIM} makes claims marked
     * insecure, as the simulated TEE's are.
     */
    IssuedCertificate attest(String nodeId, Map<String, Long> policies, TeeType tee) throws Exception {
        return attestWithKey(nodeId, policies, tee).certificate();
    }

    /** As {@link #attest(String, Map, TeeType)}, keeping the node's private key. */
    Credentials attestWithKey(String nodeId, Map<String, Long> policies, TeeType tee) throws Exception {
        Credentials k = issueWithKey(issuer, nodeId, SpiffeId.forNode(TD, nodeId), policies, tee);
        IssuedCertificate c = k.certificate();
        registry.put(new NodeAuthzRecord(nodeId, SpiffeId.forNode(TD, nodeId).uri(), NodeState.ATTESTED, "", tee,
                MEASUREMENT, policies, Set.of(c.sha256Hex()), clock.instant().plus(Duration.ofHours(24)), "nodes",
                c.notAfter()));
        return k;
    }

    /**
     * Issues a certificate naming {@code spiffeId} to pod {@code nodeId} and registers it as an attested
     * instance of that SPIFFE ID (several pods may share one).
     */
    IssuedCertificate attestInstance(String nodeId, SpiffeId spiffeId, Map<String, Long> policies) throws Exception {
        IssuedCertificate c = issue(issuer, nodeId, spiffeId, policies);
        registry.put(new NodeAuthzRecord(nodeId, spiffeId.uri(), NodeState.ATTESTED, "", TEE, MEASUREMENT,
                policies, Set.of(c.sha256Hex()), clock.instant().plus(Duration.ofHours(24)), "payments", c.notAfter()));
        return c;
    }

    IssuedCertificate issue(AttestationBoundIssuer by, String nodeId, Map<String, Long> policies) throws Exception {
        return issue(by, nodeId, SpiffeId.forNode(by.ca().trustDomain(), nodeId), policies);
    }

    IssuedCertificate issue(AttestationBoundIssuer by, String nodeId, SpiffeId spiffeId, Map<String, Long> policies)
            throws Exception {
        return issue(by, nodeId, spiffeId, policies, TEE);
    }

    IssuedCertificate issue(AttestationBoundIssuer by, String nodeId, SpiffeId spiffeId, Map<String, Long> policies,
            TeeType tee) throws Exception {
        return issueWithKey(by, nodeId, spiffeId, policies, tee).certificate();
    }

    Credentials issueWithKey(AttestationBoundIssuer by, String nodeId, SpiffeId spiffeId, Map<String, Long> policies,
            TeeType tee) throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair kp = g.generateKeyPair();
        byte[] csr = new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=" + nodeId), kp.getPublic())
                .build(new JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate())).getEncoded();
        List<PolicyRef> refs = new ArrayList<>();
        policies.forEach((k, v) -> refs.add(new PolicyRef(k, v)));
        AttestationClaims claims = new AttestationClaims(1, nodeId, tee, Map.of("measurement", MEASUREMENT),
                "UpToDate", List.of(), refs, new byte[32], clock.instant(), !tee.isHardware(), false);
        return new Credentials(by.issue(CsrValidator.validate(csr), spiffeId, claims, Duration.ofHours(1)), kp.getPrivate());
    }

    /** Envoy's URL encoding of a PEM certificate: everything but ASCII alphanumerics and {@code *-._} is escaped. */
    static String envoyEncode(X509Certificate cert) {
        StringBuilder sb = new StringBuilder();
        for (char c : Pem.certificates(List.of(cert)).toCharArray()) {
            if (Character.isLetterOrDigit(c) && c < 0x80 || "*-._".indexOf(c) >= 0) {
                sb.append(c);
            } else {
                sb.append('%').append(String.format("%02X", (int) c));
            }
        }
        return sb.toString();
    }

    static CheckRequest network(String urlEncodedCert, String principal) {
        return CheckRequest.newBuilder().setAttributes(AttributeContext.newBuilder()
                .setSource(AttributeContext.Peer.newBuilder().setCertificate(urlEncodedCert).setPrincipal(principal))
                .setDestination(AttributeContext.Peer.newBuilder().setPrincipal("spiffe://mesh.example/node/server")
                        .setAddress(Address.newBuilder().setSocketAddress(SocketAddress.newBuilder()
                                .setAddress("10.0.0.2").setPortValue(8443))))).build();
    }

    static CheckRequest http(String urlEncodedCert) {
        CheckRequest n = network(urlEncodedCert, "");
        return n.toBuilder().setAttributes(n.getAttributes().toBuilder().setRequest(AttributeContext.Request.newBuilder()
                .setHttp(AttributeContext.HttpRequest.newBuilder().setMethod("GET").setPath("/orders").setHost("shop"))))
                .build();
    }

    /** A clock tests move by hand. */
    static final class MutableClock extends Clock {
        private volatile Instant now;

        MutableClock(Instant start) {
            this.now = start;
        }

        void advance(Duration d) {
            now = now.plus(d);
        }

        void set(Instant t) {
            now = t;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    /** An in-memory {@link RegistryView} whose mutators notify listeners, like the real registry. */
    static final class FakeRegistry implements RegistryView {
        private final Map<String, NodeAuthzRecord> nodes = new ConcurrentHashMap<>();
        private final Map<String, Long> policyVersions = new ConcurrentHashMap<>(Map.of("default", 1L, "production", 1L));
        private final Map<String, List<String>> meshConfig = new HashMap<>();
        private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
        private final List<java.util.function.Consumer<RegistryChange>> targeted = new CopyOnWriteArrayList<>();
        private volatile List<X509Certificate> bundle;
        volatile int lookups;
        volatile int nodeLookups; // byNodeId alone: what a decision by certificate or a caller's verdict reads
        volatile Optional<String> unavailable = Optional.empty();

        FakeRegistry(List<X509Certificate> bundle) {
            this.bundle = List.copyOf(bundle);
        }

        void put(NodeAuthzRecord r) {
            NodeAuthzRecord before = nodes.put(r.nodeId(), r);
            changed(RegistryChange.node(r.nodeId(), before == null ? null : before.spiffeId(), r.spiffeId()));
        }

        void revoke(String nodeId, String reason) {
            NodeAuthzRecord r = nodes.get(nodeId);
            put(new NodeAuthzRecord(r.nodeId(), r.spiffeId(), NodeState.REVOKED, reason, r.tee(), r.measurement(),
                    r.satisfiedPolicies(), Set.of(), r.evidenceExpiresAt(), r.registration(), r.certificateNotAfter()));
        }

        void setPolicyVersion(String id, long v) {
            policyVersions.put(id, v);
            changed();
        }

        void requirePolicies(String destinationPrincipal, int port, List<String> ids) {
            meshConfig.put(destinationPrincipal + ":" + port, ids);
            changed();
        }

        void setTrustBundle(List<X509Certificate> b) {
            bundle = List.copyOf(b);
            changed();
        }

        private void changed() {
            changed(RegistryChange.EVERYTHING);
        }

        private void changed(RegistryChange change) {
            targeted.forEach(l -> l.accept(change));
            listeners.forEach(Runnable::run);
        }

        @Override
        public void addTargetedChangeListener(java.util.function.Consumer<RegistryChange> onChange) {
            targeted.add(onChange);
        }

        @Override
        public Optional<NodeAuthzRecord> byNodeId(String id) {
            lookups++;
            nodeLookups++;
            return Optional.ofNullable(nodes.get(id));
        }

        @Override
        public List<NodeAuthzRecord> instancesOf(String spiffeId) {
            lookups++;
            return nodes.values().stream().filter(r -> r.spiffeId().equals(spiffeId)).toList();
        }

        @Override
        public OptionalLong currentPolicyVersion(String policyId) {
            Long v = policyVersions.get(policyId);
            return v == null ? OptionalLong.empty() : OptionalLong.of(v);
        }

        @Override
        public List<X509Certificate> trustBundle() {
            return bundle;
        }

        @Override
        public List<String> requiredPolicies(String destinationPrincipal, int destinationPort) {
            return meshConfig.getOrDefault(destinationPrincipal + ":" + destinationPort, List.of());
        }

        @Override
        public void addChangeListener(Runnable onChange) {
            listeners.add(onChange);
        }

        @Override
        public Optional<String> unavailableReason() {
            return unavailable;
        }
    }
}
