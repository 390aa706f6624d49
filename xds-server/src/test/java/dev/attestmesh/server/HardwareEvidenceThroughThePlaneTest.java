package dev.attestmesh.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.attestmesh.agent.ControlPlaneChannels;
import dev.attestmesh.agent.NodeKeyPair;
import dev.attestmesh.api.v1.AttestRequest;
import dev.attestmesh.api.v1.AttestResponse;
import dev.attestmesh.api.v1.AttestationServiceGrpc;
import dev.attestmesh.api.v1.ChallengeRequest;
import dev.attestmesh.ca.AttestMeshOids;
import dev.attestmesh.ca.AttestationClaims;
import dev.attestmesh.ca.AttestationClaimsCodec;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.policy.PolicyRef;
import dev.attestmesh.quote.EvidenceVerifiers;
import dev.attestmesh.server.demo.DemoAuthzClient;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1UTF8String;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.OtherName;
import org.bouncycastle.cert.X509CertificateHolder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Issue 14: every TEE type reaches a certificate with its real claims. Each real hardware vector (SGX, TDX
 * v4, TDX v5, SEV-SNP Milan and Genoa, Azure SNP vTPM) goes through a running control plane: the production
 * verifier with the vector's collateral and trust anchors, appraisal against a policy written from the
 * vector's reference values, a registration, issuance by the mesh CA, SDS over the real ADS server, and
 * ext_authz Checks with the issued certificate, allowed under that policy and denied under one pinning
 * another measurement.
 *
 * <p>Only one stage is replaced: recorded evidence was produced before this test's nonce existed, so it
 * cannot bind it, and {@link RecordedEvidenceBinding} (test scope) stands in for the binding check, for that
 * exact evidence only. It enters through the package-private {@code ControlPlane.startWithEvidenceBinding};
 * {@link EvidenceBindingWiringTest} proves production wiring never takes it. Intel vectors are judged at a
 * time inside their 2025 collateral windows ({@link PinnedTimeVerifier}); the rest runs on the wall clock.
 */
class HardwareEvidenceThroughThePlaneTest {
    private static final Metadata.Key<String> POLICY_HEADER = DemoAuthzClient.POLICY_HEADER;

    static List<HardwareVector> vectors() {
        return HardwareVector.all();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("vectors")
    void realEvidenceEarnsACertificateWithItsRealClaimsAndPassesSdsAndExtAuthz(HardwareVector vector)
            throws Exception {
        byte[] evidence = vector.evidenceBytes();
        byte[] evidenceSha256 = MessageDigest.getInstance("SHA-256").digest(evidence);
        Path dir = Files.createTempDirectory("attestmesh-hw");
        String nodeId = "hw-" + vector.tee().wireName();
        try {
            Path policies = Files.writeString(dir.resolve("policies.yaml"), vector.policies());
            Path registrations = Files.writeString(dir.resolve("registrations.yaml"), """
                    registrations:
                      - id: hardware
                        spiffeId: spiffe://attestmesh.local/hw/{nodeId}
                        policies: [real]
                    """);
            ControlPlaneSettings settings = ControlPlaneSettings.forTests(dir.resolve("cp"), Optional.of(policies))
                    .withDevMode(false).withRegistrationFile(Optional.of(registrations));
            try (ControlPlane cp = ControlPlane.startWithEvidenceBinding(settings, Clock.systemUTC(),
                    EvidenceVerifiers.of(vector.verifier()), new RecordedEvidenceBinding(evidenceSha256))) {
                String target = "127.0.0.1:" + cp.grpcPort();
                NodeKeyPair key = NodeKeyPair.generate();
                AttestResponse issued = attest(target, cp.trustBundle(), nodeId, vector, evidence, key);

                List<X509Certificate> chain = certificates(issued.getCertChainList());
                X509Certificate leaf = chain.getFirst();
                String spiffeId = "spiffe://attestmesh.local/hw/" + nodeId;
                assertEquals(spiffeId, issued.getClaims().getSpiffeId());
                assertClaims(vector, nodeId, evidenceSha256, leaf, spiffeId);

                ControlPlaneChannels.ClientIdentity identity = new ControlPlaneChannels.ClientIdentity(key.privateKey(),
                        chain);
                ManagedChannel node = ControlPlaneChannels.open(target, certificates(issued.getTrustBundleList()),
                        Optional.of(identity));
                try {
                    // SDS over the ADS server, as the node's Envoy asks for it.
                    DiscoveryResponse sds = EndToEndTest.firstResponse(node, nodeId, List.of("default", "ROOTCA"));
                    List<Secret> secrets = new ArrayList<>();
                    for (var any : sds.getResourcesList()) {
                        secrets.add(any.unpack(Secret.class));
                    }
                    Secret def = secrets.stream().filter(s -> s.getName().equals("default")).findFirst().orElseThrow();
                    assertEquals(Pem.certificates(chain).strip(),
                            def.getTlsCertificate().getCertificateChain().getInlineString().strip(),
                            "SDS default carries the certificate issued for the real evidence");
                    assertTrue(secrets.stream().anyMatch(s -> s.getName().equals("ROOTCA")));

                    // ext_authz: a connection from the holder of the issued certificate.
                    CheckResponse allowed = check(node, leaf, spiffeId, "real");
                    assertEquals(0, allowed.getStatus().getCode(), allowed.getStatus().getMessage());
                    String metadata = allowed.getDynamicMetadata().toString();
                    assertTrue(metadata.contains(nodeId) && metadata.contains(vector.primary()), metadata);
                    CheckResponse denied = check(node, leaf, spiffeId, "other");
                    assertNotEquals(0, denied.getStatus().getCode(), "a policy pinning another measurement denies");
                    assertTrue(denied.getStatus().getMessage().contains("other"), denied.getStatus().getMessage());
                } finally {
                    node.shutdownNow();
                    node.awaitTermination(5, TimeUnit.SECONDS);
                }
            }
        } finally {
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** The claims extension and policy SANs of the issued leaf are the vector's real claims. */
    private static void assertClaims(HardwareVector vector, String nodeId, byte[] evidenceSha256, X509Certificate leaf,
            String spiffeId) throws Exception {
        AttestationClaims claims = AttestationClaimsCodec.fromCertificate(leaf).orElseThrow();
        assertEquals(nodeId, claims.nodeId());
        assertEquals(vector.tee(), claims.tee());
        assertEquals(vector.tcbStatus(), claims.tcbStatus());
        assertEquals(vector.advisoryIds(), claims.advisoryIds());
        assertEquals(vector.debug(), claims.debug());
        assertFalse(claims.insecure(), "hardware evidence is not marked insecure");
        assertEquals(HexFormat.of().formatHex(evidenceSha256), claims.evidenceSha256Hex());
        assertEquals(List.of(new PolicyRef("real", 1)), claims.policies(), "only the policy written from the "
                + "vector's reference values is satisfied");
        for (Map.Entry<String, String> e : vector.claims().entrySet()) {
            assertEquals(e.getValue(), claims.measurements().get(e.getKey()), "claim " + e.getKey());
        }

        X509CertificateHolder bc = new X509CertificateHolder(leaf.getEncoded());
        Extension ext = bc.getExtension(new ASN1ObjectIdentifier(AttestMeshOids.CLAIMS_EXTENSION));
        assertFalse(ext.isCritical());
        List<String> uris = new ArrayList<>();
        List<String> policyNames = new ArrayList<>();
        for (GeneralName n : GeneralNames.fromExtensions(bc.getExtensions(), Extension.subjectAlternativeName)
                .getNames()) {
            if (n.getTagNo() == GeneralName.uniformResourceIdentifier) {
                uris.add(n.getName().toString());
            } else if (n.getTagNo() == GeneralName.otherName) {
                OtherName on = OtherName.getInstance(n.getName());
                assertEquals(new ASN1ObjectIdentifier(AttestMeshOids.POLICY_SAN), on.getTypeID());
                policyNames.add(ASN1UTF8String.getInstance(on.getValue()).getString());
            }
        }
        assertEquals(List.of(spiffeId), uris);
        assertEquals(List.of("real"), policyNames);
    }

    static AttestResponse attest(String target, List<X509Certificate> bundle, String nodeId,
            HardwareVector vector, byte[] evidence, NodeKeyPair key) throws InterruptedException {
        ManagedChannel ch = ControlPlaneChannels.open(target, bundle, Optional.empty());
        try {
            var stub = AttestationServiceGrpc.newBlockingStub(ch).withDeadlineAfter(60, TimeUnit.SECONDS);
            byte[] nonce = stub.challenge(ChallengeRequest.newBuilder().setNodeId(nodeId).build()).getNonce()
                    .toByteArray();
            AttestRequest.Builder req = AttestRequest.newBuilder().setNodeId(nodeId).setTee(vector.tee().wireName())
                    .setEvidence(ByteString.copyFrom(evidence)).setCsr(ByteString.copyFrom(key.csrDer(nodeId)))
                    .setNonce(ByteString.copyFrom(nonce));
            vector.requestCollateralBytes().ifPresent(c -> req.setCollateral(ByteString.copyFrom(c)));
            return stub.attest(req.build());
        } finally {
            ch.shutdownNow();
            ch.awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    private static CheckResponse check(ManagedChannel node, X509Certificate peer, String destination, String policy) {
        Metadata md = new Metadata();
        md.put(POLICY_HEADER, policy);
        return AuthorizationGrpc.newBlockingStub(node).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md))
                .withDeadlineAfter(10, TimeUnit.SECONDS).check(DemoAuthzClient.networkCheck(peer, destination));
    }

    static List<X509Certificate> certificates(List<ByteString> ders) throws Exception {
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        List<X509Certificate> out = new ArrayList<>();
        for (ByteString d : ders) {
            out.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(d.toByteArray())));
        }
        return out;
    }
}
