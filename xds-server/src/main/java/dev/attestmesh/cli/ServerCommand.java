package dev.attestmesh.cli;

import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.seed.FileMode;
import io.micronaut.context.ApplicationContext;
import io.micronaut.http.server.netty.NettyEmbeddedServer;
import io.micronaut.runtime.server.EmbeddedServer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code attestmesh server}: runs the control plane until SIGTERM (or SIGINT), then stops it in order through
 * {@link ProcessShutdown}. The Micronaut context is started with {@link ApplicationContext#builder()} rather than
 * {@code Micronaut.run}, which would register Micronaut's own shutdown hook: that hook and any other stop of the
 * context race for the same locks (docs/operator-guide.md, "Shutdown").
 */
@Command(name = "server", mixinStandardHelpOptions = true,
        description = "Run the control plane (embedded H2 store, mesh CA, ADS/SDS, attestation, ext_authz).")
final class ServerCommand implements Callable<Integer> {
    @Option(names = "--data-dir", description = "Data directory (default ./attestmesh-data).")
    Path dataDir;

    @Option(names = "--grpc-port", description = "gRPC port for ADS/SDS, attestation and ext_authz (default 15010).")
    Integer grpcPort;

    @Option(names = "--grpc-bind", description = "Address for the gRPC port (default 0.0.0.0).")
    String grpcBind;

    @Option(names = "--admin-port", description = "Admin HTTP port (default 15014).")
    Integer adminPort;

    @Option(names = "--admin-bind", description = "Address for the admin port (default 127.0.0.1).")
    String adminBind;

    @Option(names = "--admin-tls", description = "on: serve the admin API over HTTPS with the control plane's mesh CA "
            + "certificate (renewed while running); off: plain HTTP, only on loopback unless --admin-allow-plaintext "
            + "(default off).")
    String adminTls;

    @Option(names = "--admin-allow-plaintext", description = "Accept plain HTTP on a non-loopback --admin-bind "
            + "(logged as a warning).")
    Boolean adminAllowPlaintext;

    @Option(names = "--policy-file", description = "Policies (YAML or JSON): seed an empty store at start; "
            + "ignored (difference logged) once the store holds policies, unless --apply-policy-file.")
    Path policyFile;

    @Option(names = "--apply-policy-file", description = "Apply --policy-file at every start, replacing the stored "
            + "policies (admin API changes included); the difference is logged. Default: seed only.")
    Boolean applyPolicyFile;

    @Option(names = "--registration-file",
            description = "Registrations (YAML or JSON): which SPIFFE IDs attested nodes may earn (docs/identity.md). "
                    + "Seeds an empty store, like --policy-file.")
    Path registrationFile;

    @Option(names = "--apply-registration-file", description = "Apply --registration-file at every start, "
            + "replacing the stored registrations; the difference is logged. Default: seed only.")
    Boolean applyRegistrationFile;

    @Option(names = "--k8s-issuer", description = "Kubernetes service-account token issuer; turns on Kubernetes "
            + "mode (tokens verified with Challenge, docs/identity.md).")
    String k8sIssuer;

    @Option(names = "--k8s-jwks-file", description = "JWKS file of the cluster's service-account signing keys.")
    Path k8sJwksFile;

    @Option(names = "--k8s-jwks-url", description = "JWKS URL of the cluster's service-account signing keys.")
    String k8sJwksUrl;

    @Option(names = "--k8s-oidc-discovery", description = "Find the keys through <issuer>/.well-known/openid-configuration.")
    Boolean k8sOidcDiscovery;

    @Option(names = "--k8s-public-key-file", description = "PEM public key(s) of the service-account signer.")
    Path k8sPublicKeyFile;

    @Option(names = "--k8s-token-review-url", description = "API server URL: also check every token with TokenReview.")
    String k8sTokenReviewUrl;

    @Option(names = "--k8s-ca-file", description = "CA bundle for the API server.")
    Path k8sCaFile;

    @Option(names = "--k8s-bearer-token-file", description = "The control plane's own token for the API server.")
    Path k8sBearerTokenFile;

    @Option(names = "--challenge-rate", description = "Unauthenticated Challenges per second from all peers "
            + "(default 2000; renewals over mTLS are not counted). Other limits: attestmesh.challenge.*, docs/protocol.md.")
    Double challengeRate;

    @Option(names = "--challenge-peer-rate", description = "Unauthenticated Challenges per second per peer address "
            + "(default 50).")
    Double challengePeerRate;

    @Option(names = "--challenge-max-per-peer", description = "Unused challenges one peer address may hold (default 256).")
    Integer challengeMaxPerPeer;

    @Option(names = "--trust-domain", description = "SPIFFE trust domain (default attestmesh.local).")
    String trustDomain;

    @Option(names = "--mesh-file", description = "Mesh config (services, ingress/egress ports): seeds a store that "
            + "never held one, like --policy-file.")
    Path meshFile;

    @Option(names = "--apply-mesh-file", description = "Apply --mesh-file at every start, as the next mesh config "
            + "version when it differs; the difference is logged. Default: seed only.")
    Boolean applyMeshFile;

    @Option(names = "--authz-replicas",
            description = "Comma-separated SPIFFE IDs of standalone ext_authz replicas allowed to watch the registry.")
    String authzReplicas;

    @Option(names = "--authz-client-identity", paramLabel = "SPIFFE_ID",
            description = "Reserved SPIFFE ID (spiffe://<td>/attestmesh/...) of an operator-issued client certificate "
                    + "that may call ext_authz Check besides attested nodes; repeatable.")
    java.util.List<String> authzClientIdentities;

    @Option(names = "--dev", description = "Development mode: accept the simulated TEE (public signing key, proves "
            + "nothing) in policies, attestation and ext_authz. Logs a banner. Never in production.")
    Boolean dev;

    @Option(names = "--max-certificate-ttl", description = "Longest certificateTtl a policy may ask for "
            + "(default 24h, at most 7d).")
    String maxCertificateTtl;

    @Option(names = "--server-names", description = "Comma-separated DNS names/IPs for the control plane certificate.")
    String serverNames;

    @Option(names = "--server-cert-ttl", description = "Lifetime of the control plane's gRPC serving certificate, "
            + "renewed while running (default 30d; 1h to 365d).")
    String serverCertTtl;

    @Option(names = "--server-cert-renew-before", description = "Renew the serving certificate this long before it "
            + "expires (default a third of its TTL; between a tenth and a half of it).")
    String serverCertRenewBefore;

    @Option(names = "--intermediate-rotation", description = "Rotate the CA's issuing intermediate: auto (when a "
            + "third of its lifetime is left; default), off, or a period such as 90d (1h to 364d).")
    String intermediateRotation;

    @Option(names = "--intermediate-overlap", description = "How long a rotated-out intermediate stays trusted "
            + "(default 7d; 1h to 90d; at least --max-certificate-ttl).")
    String intermediateOverlap;

    @Option(names = "--min-tcb-evaluation-data-number", description = "Refuse Intel TCB Info and QE Identity with a "
            + "lower tcbEvaluationDataNumber, supplied or fetched (default 17; docs/evidence.md).")
    Integer minTcbEvaluationDataNumber;
    @Option(names = "--log-checkpoint-interval", description = "Sign an issuance log checkpoint this often when the "
            + "log grew (default 5m; 0s: on demand only).")
    String logCheckpointInterval;
    @Option(names = "--log-format", paramLabel = "text|json", description = "Log line format: text (default) or "
            + "json (one JSON object per line); both carry an ISO-8601 date and time with offset on every line.")
    String logFormat;

    @Option(names = "--shutdown-grace", defaultValue = "5s", description = "On SIGTERM, how long in-flight "
            + "attestations and Check calls may take to finish: 500ms, 5s, PT5S; at most 60s (default ${DEFAULT-VALUE}). "
            + "The process exits within this plus " + STOP_OVERHEAD_SECONDS + " s.")
    String shutdownGrace;

    /** What the steps after the grace may take at most: streams, transports, the HTTP server, the store. */
    static final int STOP_OVERHEAD_SECONDS = 4;
    private static final Duration MAX_GRACE = Duration.ofSeconds(60);
    private static final Logger LOG = LoggerFactory.getLogger(ServerCommand.class);

    @Override
    public Integer call() throws InterruptedException {
        if (logFormat != null) {
            LogFormat.parse(logFormat).apply(); // first: every later line in the chosen format
        }
        Duration grace = grace();
        ProcessShutdown shutdown = ProcessShutdown.install("server", grace.plusSeconds(STOP_OVERHEAD_SECONDS));
        ApplicationContext ctx = ApplicationContext.builder().properties(properties()).banner(false).start();
        try {
            Optional<EmbeddedServer> http = ctx.findBean(EmbeddedServer.class);
            http.ifPresent(server -> {
                server.start();
                LOG.info("admin API on {}", server.getURI());
            });
            shutdown.awaitStop();
            // 1. the admin port closes first: /health stops answering, so readiness fails and no admin write starts
            http.ifPresent(ServerCommand::stopHttp);
            // 2-5. gRPC: stop accepting, drain, end streams with UNAVAILABLE; background work; the store
            ctx.getBean(ControlPlane.class).shutdown(grace);
        } finally {
            // the rest of the context (event loops, executors); the control plane's preDestroy finds it closed
            ctx.close();
        }
        LOG.info("server stopped cleanly after {}", shutdown.cause());
        shutdown.stopped();
        return 0;
    }

    private static void stopHttp(EmbeddedServer server) {
        if (server instanceof NettyEmbeddedServer netty) {
            netty.stopServerOnly(); // stop() would also stop the context, before the control plane has drained
        } else {
            server.stop();
        }
    }

    /** {@code --shutdown-grace}, bounded so the process still stops within a pod's termination grace. */
    Duration grace() {
        Duration d = AuthzCommand.parseDuration(shutdownGrace);
        if (d.compareTo(MAX_GRACE) > 0) {
            throw new IllegalArgumentException("--shutdown-grace must be at most " + MAX_GRACE.toSeconds() + "s, not '"
                    + shutdownGrace + "'");
        }
        return d;
    }

    Map<String, Object> properties() {
        Map<String, Object> p = new LinkedHashMap<>();
        if (dataDir != null) {
            p.put("attestmesh.data-dir", dataDir.toString());
        }
        if (grpcPort != null) {
            p.put("attestmesh.grpc-port", grpcPort);
        }
        if (grpcBind != null) {
            p.put("attestmesh.grpc-bind", grpcBind);
        }
        if (adminPort != null) {
            p.put("attestmesh.admin-port", adminPort);
        }
        if (adminBind != null) {
            p.put("attestmesh.admin-bind", adminBind);
        }
        if (adminTls != null) {
            p.put("attestmesh.admin.tls", adminTls);
        }
        if (adminAllowPlaintext != null) {
            p.put("attestmesh.admin.allow-plaintext", adminAllowPlaintext.toString());
        }
        if (policyFile != null) {
            p.put("attestmesh.policy-file", policyFile.toString());
        }
        if (registrationFile != null) {
            p.put("attestmesh.registration-file", registrationFile.toString());
        }
        putIfSet(p, "attestmesh.kubernetes.issuer", k8sIssuer);
        putIfSet(p, "attestmesh.kubernetes.jwks-file", k8sJwksFile);
        putIfSet(p, "attestmesh.kubernetes.jwks-url", k8sJwksUrl);
        putIfSet(p, "attestmesh.kubernetes.oidc-discovery", k8sOidcDiscovery);
        putIfSet(p, "attestmesh.kubernetes.public-key-file", k8sPublicKeyFile);
        putIfSet(p, "attestmesh.kubernetes.token-review-url", k8sTokenReviewUrl);
        putIfSet(p, "attestmesh.kubernetes.ca-file", k8sCaFile);
        putIfSet(p, "attestmesh.kubernetes.bearer-token-file", k8sBearerTokenFile);
        putIfSet(p, "attestmesh.challenge.rate", challengeRate);
        putIfSet(p, "attestmesh.challenge.peer-rate", challengePeerRate);
        putIfSet(p, "attestmesh.challenge.max-per-peer", challengeMaxPerPeer);
        if (trustDomain != null) {
            p.put("attestmesh.trust-domain", trustDomain);
        }
        if (serverNames != null) {
            p.put("attestmesh.server-names", serverNames);
        }
        if (meshFile != null) {
            p.put("attestmesh.mesh-file", meshFile.toString());
        }
        if (authzReplicas != null) {
            p.put("attestmesh.authz.replica-identities", authzReplicas);
        }
        putIfSet(p, "attestmesh.policy-file-mode", mode(applyPolicyFile));
        putIfSet(p, "attestmesh.registration-file-mode", mode(applyRegistrationFile));
        putIfSet(p, "attestmesh.mesh-file-mode", mode(applyMeshFile));
        putIfSet(p, "attestmesh.collateral.min-tcb-evaluation-data-number", minTcbEvaluationDataNumber);
        putIfSet(p, "attestmesh.log.checkpoint-interval", logCheckpointInterval);
        putIfSet(p, "attestmesh.dev-mode", dev);
        putIfSet(p, "attestmesh.max-certificate-ttl", maxCertificateTtl);
        putIfSet(p, "attestmesh.server-cert.ttl", serverCertTtl);
        putIfSet(p, "attestmesh.server-cert.renew-before", serverCertRenewBefore);
        putIfSet(p, "attestmesh.ca.intermediate-rotation", intermediateRotation);
        putIfSet(p, "attestmesh.ca.intermediate-overlap", intermediateOverlap);
        if (authzClientIdentities != null) {
            p.put("attestmesh.authz.client-identities", String.join(",", authzClientIdentities));
        }
        return p;
    }

    /** An --apply-*-file flag as a file mode property; unset leaves the configuration's (default seed). */
    private static String mode(Boolean apply) {
        return apply == null ? null : apply ? FileMode.APPLY.value() : FileMode.SEED.value();
    }

    private static void putIfSet(Map<String, Object> p, String key, Object value) {
        if (value != null) {
            p.put(key, value.toString());
        }
    }
}
