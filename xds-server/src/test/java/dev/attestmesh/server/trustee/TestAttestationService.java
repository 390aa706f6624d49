package dev.attestmesh.server.trustee;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSObject;
import com.nimbusds.jose.Payload;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.sun.net.httpserver.HttpServer;
import dev.attestmesh.quote.sim.SimulatedEvidence;
import dev.attestmesh.trustee.grpc.AttestationRequest;
import dev.attestmesh.trustee.grpc.AttestationResponse;
import dev.attestmesh.trustee.grpc.AttestationServiceGrpc;
import dev.attestmesh.trustee.grpc.IndividualAttestationRequest;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Executors;

/**
 * A Trustee attestation service on loopback, for tests, with both its APIs: RESTful {@code POST /attestation}
 * ({@link #address()}) and gRPC {@code attestation.AttestationService/AttestationEvaluate} ({@link #grpcAddress()},
 * a Netty server built from AttestMesh's copy of the AS proto). Each decodes the request as Trustee does, checks the (simulated) evidence's report data against the raw runtime data as
 * Trustee's sample verifier does, and answers with an EAR token signed by its own EC key. {@link #mode}
 * makes it misbehave in one named way.
 */
public final class TestAttestationService implements AutoCloseable {
    public enum Mode { GOOD, FOREIGN_KEY, WRONG_REPORT_DATA, EXPIRED, CONTRAINDICATED, UNKNOWN_CLAIMS, OVERSIZED, SLOW }

    public volatile Mode mode = Mode.GOOD;
    public volatile int requests;
    private final HttpServer server;
    private final io.grpc.Server grpc;
    private final ECKey key;
    private final ECKey foreign;
    private static final ObjectMapper JSON = new ObjectMapper();

    public TestAttestationService() throws Exception {
        key = new ECKeyGenerator(Curve.P_256).generate();
        foreign = new ECKeyGenerator(Curve.P_256).generate();
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/attestation", ex -> {
            requests++;
            byte[] answer;
            int status = 200;
            try {
                answer = answer(JSON.readTree(ex.getRequestBody().readNBytes(1 << 20)));
            } catch (Exception e) {
                status = 500;
                answer = ("attestation report evaluate: " + e.getMessage()).getBytes(StandardCharsets.UTF_8);
            }
            if (mode == Mode.SLOW) {
                try {
                    Thread.sleep(3_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            ex.sendResponseHeaders(status, answer.length);
            try (OutputStream o = ex.getResponseBody()) {
                o.write(answer);
            } catch (IOException e) {
                // the control plane hung up (oversized or timed out)
            }
        });
        server.setExecutor(Executors.newFixedThreadPool(2));
        server.start();
        grpc = io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder.forAddress(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), io.grpc.InsecureServerCredentials.create())
                .addService(new GrpcApi()).maxInboundMessageSize(1 << 20).build().start();
    }

    /** The gRPC API: the AS's own refusals are ABORTED, as Trustee's grpc-as answers them. */
    private final class GrpcApi extends AttestationServiceGrpc.AttestationServiceImplBase {
        @Override
        public void attestationEvaluate(AttestationRequest req, StreamObserver<AttestationResponse> out) {
            requests++;
            String token;
            try {
                IndividualAttestationRequest r = req.getVerificationRequests(0);
                if (r.getRuntimeDataCase() != IndividualAttestationRequest.RuntimeDataCase.RAW_RUNTIME_DATA) {
                    throw new IllegalArgumentException("raw runtime data expected");
                }
                token = new String(answer(r.getTee(), r.getEvidence(), r.getRawRuntimeData(),
                        req.getPolicyIds(0)), StandardCharsets.UTF_8);
            } catch (Exception e) {
                out.onError(io.grpc.Status.ABORTED.withDescription("Attestation evaluation failed: " + e.getMessage())
                        .asRuntimeException());
                return;
            }
            if (mode == Mode.SLOW) {
                try {
                    Thread.sleep(3_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            out.onNext(AttestationResponse.newBuilder().setAttestationToken(token).build());
            out.onCompleted();
        }
    }

    public String address() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** The gRPC API's address, as a policy's {@code asAddr} names it. */
    public String grpcAddress() {
        return "grpc://127.0.0.1:" + grpc.getPort();
    }

    /** The token key as a PEM public key file. */
    public Path writeKey(Path dir) throws Exception {
        String b64 = Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(key.toECPublicKey().getEncoded());
        return Files.writeString(dir.resolve("as-token.pem"), "-----BEGIN PUBLIC KEY-----\n" + b64
                + "\n-----END PUBLIC KEY-----\n");
    }

    private byte[] answer(JsonNode req) throws Exception {
        JsonNode r = req.get("verification_requests").get(0);
        return answer(r.get("tee").asText(), r.get("evidence").asText(), r.get("runtime_data").get("raw").asText(),
                req.get("policy_ids").get(0).asText());
    }

    private byte[] answer(String tee, String evidenceB64, String runtimeB64, String policyId) throws Exception {
        if (!tee.equals("sample")) {
            throw new IllegalArgumentException("tee not supported here");
        }
        byte[] evidence = Base64.getUrlDecoder().decode(evidenceB64);
        byte[] runtime = Base64.getUrlDecoder().decode(runtimeB64);
        SimulatedEvidence ev = SimulatedEvidence.parse(evidence);
        if (!MessageDigest.isEqual(ev.reportData(), runtime)) {
            throw new IllegalArgumentException("REPORT_DATA is different from that in Sample Quote");
        }
        if (mode == Mode.OVERSIZED) {
            return new byte[2 << 20];
        }
        byte[] echoed = ev.reportData();
        if (mode == Mode.WRONG_REPORT_DATA) {
            echoed[0] ^= 1;
        }
        Instant iat = mode == Mode.EXPIRED ? Instant.now().minusSeconds(3600) : Instant.now();
        Map<String, Object> annotated = new LinkedHashMap<>();
        annotated.put("report_data", HexFormat.of().formatHex(echoed));
        annotated.put("sample", Map.of("svn", "1", "launch_digest", "abcde", "debug", false));
        Map<String, Object> sub = new LinkedHashMap<>();
        sub.put("ear.status", mode == Mode.CONTRAINDICATED ? "contraindicated" : "affirming");
        sub.put("ear.trustworthiness-vector", Map.of("executables", 3, "hardware", 2));
        sub.put("ear.appraisal-policy-id", policyId);
        sub.put("ear.veraison.annotated-evidence", annotated);
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("eat_profile", "tag:github.com,2024:confidential-containers/Trustee");
        c.put("iat", iat.getEpochSecond());
        c.put("exp", iat.plusSeconds(300).getEpochSecond());
        c.put("ear.verifier-id", Map.of("build", "test-as 1", "developer", "https://confidentialcontainers.org"));
        c.put("submods", Map.of("cpu0", sub));
        if (mode == Mode.UNKNOWN_CLAIMS) {
            c.put("submods", Map.of("cpu0", Map.of("ear.status", 7, "weird", java.util.List.of(1, 2))));
        }
        ECKey signer = mode == Mode.FOREIGN_KEY ? foreign : key;
        JWSObject jws = new JWSObject(new JWSHeader.Builder(JWSAlgorithm.ES256).jwk(signer.toPublicJWK()).build(),
                new Payload(c));
        jws.sign(new ECDSASigner(signer));
        return jws.serialize().getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        server.stop(0);
        grpc.shutdownNow();
    }
}
