package dev.attestmesh.trustee;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.JOSEException;
import dev.attestmesh.policy.DelegatedVerifier;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.trustee.grpc.AttestationRequest;
import dev.attestmesh.trustee.grpc.AttestationResponse;
import dev.attestmesh.trustee.grpc.AttestationServiceGrpc;
import dev.attestmesh.trustee.grpc.IndividualAttestationRequest;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.Status;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The AS gRPC API end to end on loopback: a Netty gRPC server built from our {@code attestation.proto} stands in for
 * Trustee's grpc-as, checks the request as the AS does (raw runtime data decoded from base64url) and signs a real EAR
 * JWT with its own key; the control plane's side is {@link TrusteeServices}, so the token goes through the same
 * {@link EarTokenVerifier} as a RESTful answer.
 */
class GrpcAttestationServiceTest {
    private static final Instant NOW = Instant.now();
    private static final byte[] EVIDENCE = "{\"svn\":\"1\",\"report_data\":\"...\"}".getBytes(StandardCharsets.UTF_8);
    private final EarTokens as = new EarTokens();
    private final byte[] binding = filled(0x5a);
    private final AtomicReference<AttestationRequest> received = new AtomicReference<>();
    /** What the AS answers, given the raw runtime data it decoded; may throw a Status. */
    private volatile Function<byte[], String> answer = rd -> as.sign(EarTokens.claims(rd, "affirming", NOW));
    private volatile long delayMillis;
    private Server server;
    private TrusteeServices services;

    private static byte[] filled(int b) {
        byte[] out = new byte[64];
        Arrays.fill(out, (byte) b);
        return out;
    }

    private final class FakeAs extends AttestationServiceGrpc.AttestationServiceImplBase {
        @Override
        public void attestationEvaluate(AttestationRequest req, StreamObserver<AttestationResponse> out) {
            received.set(req);
            try {
                Thread.sleep(delayMillis);
                IndividualAttestationRequest r = req.getVerificationRequests(0);
                byte[] raw = Base64.getUrlDecoder().decode(r.getRawRuntimeData());
                out.onNext(AttestationResponse.newBuilder().setAttestationToken(answer.apply(raw)).build());
                out.onCompleted();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                out.onError(Status.CANCELLED.asRuntimeException());
            } catch (io.grpc.StatusRuntimeException e) {
                out.onError(e);
            }
        }
    }

    private URI start(ServerCredentials creds, String scheme, String host) throws IOException {
        server = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), creds)
                .addService(new FakeAs()).build().start();
        return URI.create(scheme + "://" + host + ":" + server.getPort());
    }

    private TrusteeServices services(URI addr, List<X509Certificate> ca) throws JOSEException {
        services = TrusteeServices.of(List.of(new TrusteeService(addr, as.key.toECPublicKey(), ca)),
                new AttestationServiceClient.Limits(Duration.ofSeconds(2), Duration.ofMillis(800), 4096),
                EarTokenVerifier.Timing.defaults());
        return services;
    }

    private EarAppraisal appraise(URI addr) throws EarRejectedException {
        return services.appraise(new DelegatedVerifier(addr, List.of("default", "strict"),
                DelegatedVerifier.defaultStatuses()), TeeType.TDX, EVIDENCE, binding, NOW);
    }

    private EarCheck refusal(URI addr) {
        return assertThrows(EarRejectedException.class, () -> appraise(addr)).check();
    }

    private URI plaintext() throws Exception {
        URI addr = start(InsecureServerCredentials.create(), "grpc", "127.0.0.1");
        services(addr, List.of());
        return addr;
    }

    @AfterEach
    void stop() throws InterruptedException {
        if (services != null) {
            services.close();
        }
        if (server != null) {
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void acceptsTokenSignedByTheConfiguredKeyAndSendsTheAsRequestShape() throws Exception {
        URI addr = plaintext();
        EarAppraisal a = appraise(addr);
        assertEquals(EarStatus.AFFIRMING, a.status());
        assertEquals("b1".repeat(48), a.measurements().get("mrtd"));
        AttestationRequest req = received.get();
        assertEquals(List.of("default", "strict"), req.getPolicyIdsList());
        IndividualAttestationRequest r = req.getVerificationRequests(0);
        assertEquals("tdx", r.getTee());
        assertEquals(IndividualAttestationRequest.RuntimeDataCase.RAW_RUNTIME_DATA, r.getRuntimeDataCase());
        assertEquals("sha512", r.getRuntimeDataHashAlgorithm());
        // base64url without padding, as the AS decodes it (URL_SAFE_NO_PAD)
        assertFalse(r.getEvidence().contains("=") || r.getEvidence().contains("+") || r.getEvidence().contains("/"));
        assertTrue(Arrays.equals(EVIDENCE, Base64.getUrlDecoder().decode(r.getEvidence())));
        assertEquals(IndividualAttestationRequest.InitDataCase.INITDATA_NOT_SET, r.getInitDataCase());
    }

    @Test
    void refusesTokenSignedByAnotherKey() throws Exception {
        URI addr = plaintext();
        EarTokens other = new EarTokens();
        answer = rd -> other.sign(EarTokens.claims(rd, "affirming", NOW));
        assertEquals(EarCheck.SIGNATURE, refusal(addr));
    }

    @Test
    void refusesTokenBindingAnotherNonce() throws Exception {
        URI addr = plaintext();
        answer = rd -> as.sign(EarTokens.claims(filled(0x11), "affirming", NOW));
        assertEquals(EarCheck.BINDING, refusal(addr));
    }

    @Test
    void refusesExpiredToken() throws Exception {
        URI addr = plaintext();
        answer = rd -> as.sign(EarTokens.claims(rd, "affirming", NOW.minus(Duration.ofHours(1))));
        assertEquals(EarCheck.TIME, refusal(addr));
    }

    @Test
    void refusesContraindicatedStatus() throws Exception {
        URI addr = plaintext();
        answer = rd -> as.sign(EarTokens.claims(rd, "contraindicated", NOW));
        assertEquals(EarCheck.CONTRAINDICATED, refusal(addr));
    }

    @Test
    void refusesAnswerAboveTheResponseBound() throws Exception {
        URI addr = plaintext();
        answer = rd -> "x".repeat(8192);
        EarRejectedException e = assertThrows(EarRejectedException.class, () -> appraise(addr));
        assertEquals(EarCheck.TOO_LARGE, e.check());
        assertTrue(e.getMessage().contains("4096"), e.getMessage());
    }

    @Test
    void slowAsIsBoundedByTheDeadline() throws Exception {
        URI addr = plaintext();
        delayMillis = 3000;
        long t0 = System.nanoTime();
        assertEquals(EarCheck.TIMEOUT, refusal(addr));
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(2), "the 800 ms deadline bounds the call");
    }

    @Test
    void asRefusalIsAnAsError() throws Exception {
        URI addr = plaintext();
        answer = rd -> {
            throw Status.ABORTED.withDescription("Attestation evaluation failed: policy denied").asRuntimeException();
        };
        EarRejectedException e = assertThrows(EarRejectedException.class, () -> appraise(addr));
        assertEquals(EarCheck.AS_ERROR, e.check());
        assertTrue(e.getMessage().contains("ABORTED") && e.getMessage().contains("policy denied"), e.getMessage());
    }

    @Test
    void unreachableAsIsATransportRefusal() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        URI addr = URI.create("grpc://127.0.0.1:" + port);
        services(addr, List.of());
        assertEquals(EarCheck.TRANSPORT, refusal(addr));
    }

    @Test
    void tlsToTheAsTrustsOnlyTheConfiguredCa() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(256);
        KeyPair kp = g.generateKeyPair();
        X509Certificate cert = new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(
                new X500Name("CN=test-as"), BigInteger.TWO, Date.from(NOW.minusSeconds(60)),
                Date.from(NOW.plusSeconds(3600)), new X500Name("CN=test-as"), kp.getPublic())
                .addExtension(Extension.subjectAlternativeName, false,
                        new GeneralNames(new GeneralName(GeneralName.dNSName, "localhost")))
                .build(new JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate())));
        String certPem = "-----BEGIN CERTIFICATE-----\n" + Base64.getMimeEncoder().encodeToString(cert.getEncoded())
                + "\n-----END CERTIFICATE-----\n";
        String keyPem = "-----BEGIN PRIVATE KEY-----\n"
                + Base64.getMimeEncoder().encodeToString(kp.getPrivate().getEncoded()) + "\n-----END PRIVATE KEY-----\n";
        URI addr = start(TlsServerCredentials.create(new ByteArrayInputStream(certPem.getBytes(StandardCharsets.US_ASCII)),
                new ByteArrayInputStream(keyPem.getBytes(StandardCharsets.US_ASCII))), "grpcs", "localhost");

        services(addr, List.of(cert));
        assertEquals(EarStatus.AFFIRMING, appraise(addr).status());
        services.close();

        services(addr, List.of()); // the JDK's CAs do not know the AS's certificate
        assertEquals(EarCheck.TRANSPORT, refusal(addr));
    }

    @Test
    void grpcAddressesAreExplicitAndPlaintextOnlyToLoopback() {
        Map<String, Boolean> cases = Map.of(
                "grpcs://as.example:50004", true,
                "grpc://127.0.0.1:50004", true,
                "grpc://as.example:50004", false,
                "grpcs://as.example", false,
                "grpcs://as.example:50004/attestation", false,
                "grpcs://user@as.example:50004", false);
        cases.forEach((addr, ok) -> assertEquals(ok, DelegatedVerifier.problemWithAddress(URI.create(addr)).isEmpty(),
                addr));
    }
}
