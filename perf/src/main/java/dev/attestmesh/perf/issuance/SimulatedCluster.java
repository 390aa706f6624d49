package dev.attestmesh.perf.issuance;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.attestmesh.identity.kubernetes.KubernetesTokenSettings;
import dev.attestmesh.identity.kubernetes.KubernetesTokenVerifier;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * A stand-in for a Kubernetes cluster's service-account issuer, for the issuance harness's Kubernetes
 * mode: an RSA 2048 key signing RS256 tokens shaped as the kubelet's projected tokens (audience
 * {@value KubernetesTokenSettings#DEFAULT_AUDIENCE}, one hour, bound to a pod), whose public JWK set is
 * written to a file that the control plane's {@link KubernetesTokenVerifier} reads and caches as it
 * would a cluster's {@code /openid/v1/jwks}.
 *
 * <p>Tokens are minted before a timed phase, never inside it: an RSA 2048 signature costs about a
 * millisecond, more than the control plane spends verifying one, so minting inside the load would
 * measure the client.
 */
public final class SimulatedCluster {
    /** The issuer ({@code iss}) of every token; the verifier is configured with the same value. */
    public static final String ISSUER = "https://kubernetes.default.svc.cluster.local";

    /** A pre-minted projected token and the pod UID it is bound to (the node id its pod attests under). */
    public record PodToken(String podUid, String token) {}

    private final RSAKey key;
    private final Path jwksFile;
    private final List<String> serviceAccounts;
    private final String namespace;

    private SimulatedCluster(RSAKey key, Path jwksFile, String namespace, List<String> serviceAccounts) {
        this.key = key;
        this.jwksFile = jwksFile;
        this.namespace = namespace;
        this.serviceAccounts = List.copyOf(serviceAccounts);
    }

    /**
     * A new issuer key, its public JWK set written to {@code dir/jwks.json}.
     *
     * @param serviceAccounts the service accounts of {@code namespace} whose pods attest; tokens go to
     *     them in turn
     */
    public static SimulatedCluster create(Path dir, String namespace, List<String> serviceAccounts)
            throws IOException {
        RSAKey key;
        try {
            key = new RSAKeyGenerator(2048).keyID("perf-" + UUID.randomUUID()).generate();
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
        Path file = dir.resolve("jwks.json");
        Files.writeString(file, new JWKSet(key).toPublicJWKSet().toString());
        return new SimulatedCluster(key, file, namespace, serviceAccounts);
    }

    /** A verifier reading this cluster's JWK set file, with every default (keys cached five minutes). */
    public KubernetesTokenVerifier verifier() {
        return KubernetesTokenVerifier.create(KubernetesTokenSettings.of(ISSUER,
                new KubernetesTokenSettings.KeySource.JwksFile(jwksFile)));
    }

    public String namespace() {
        return namespace;
    }

    public List<String> serviceAccounts() {
        return serviceAccounts;
    }

    /**
     * Mints {@code count} tokens, each for a new pod (its own random UID), on {@code threads} threads.
     * Bounded by {@code count}.
     */
    public List<PodToken> mint(int count, int threads) throws Exception {
        RSASSASigner signer = new RSASSASigner(key);
        Instant now = Instant.now();
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, threads));
        try {
            List<Future<List<PodToken>>> parts = new ArrayList<>();
            int per = (count + threads - 1) / Math.max(1, threads);
            for (int from = 0; from < count; from += per) {
                int start = from;
                int end = Math.min(count, from + per);
                parts.add(pool.submit(() -> {
                    List<PodToken> out = new ArrayList<>(end - start);
                    for (int i = start; i < end; i++) {
                        out.add(token(signer, serviceAccounts.get(i % serviceAccounts.size()), now));
                    }
                    return out;
                }));
            }
            List<PodToken> all = new ArrayList<>(count);
            for (Future<List<PodToken>> f : parts) {
                all.addAll(f.get());
            }
            return all;
        } finally {
            pool.shutdownNow();
        }
    }

    private PodToken token(RSASSASigner signer, String serviceAccount, Instant now) throws JOSEException {
        String podUid = UUID.randomUUID().toString();
        String podName = serviceAccount + "-" + podUid.substring(0, 8);
        Map<String, Object> k8s = new LinkedHashMap<>();
        k8s.put("namespace", namespace);
        k8s.put("node", Map.of("name", "worker-1", "uid", "0d6a1c2e-1111-4222-8333-944455556666"));
        k8s.put("pod", Map.of("name", podName, "uid", podUid));
        k8s.put("serviceaccount", Map.of("name", serviceAccount, "uid", "9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a"));
        JWTClaimsSet claims = new JWTClaimsSet.Builder()
                .issuer(ISSUER)
                .audience(List.of(KubernetesTokenSettings.DEFAULT_AUDIENCE))
                .subject("system:serviceaccount:" + namespace + ":" + serviceAccount)
                .issueTime(Date.from(now))
                .notBeforeTime(Date.from(now))
                .expirationTime(Date.from(now.plusSeconds(3600)))
                .jwtID(UUID.randomUUID().toString())
                .claim("kubernetes.io", k8s)
                .build();
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID()).build(), claims);
        jwt.sign(signer);
        return new PodToken(podUid, jwt.serialize());
    }
}
