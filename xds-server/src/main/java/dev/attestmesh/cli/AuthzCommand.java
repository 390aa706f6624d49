package dev.attestmesh.cli;

import dev.attestmesh.authz.AuthzDecider;
import dev.attestmesh.authz.standalone.StandaloneAuthzServer;
import dev.attestmesh.server.admin.metrics.ReplicaMetricsEndpoint;
import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code attestmesh authz}: a standalone ext_authz replica fed by the control plane's registry watch. */
@Command(name = "authz", mixinStandardHelpOptions = true,
        description = {"Run ext_authz (envoy.service.auth.v3.Authorization) as a standalone replica.",
            "It watches the control plane's registry over mTLS with --cert/--key: a replica certificate from",
            "'attestmesh ca issue-client --replica NAME' whose SPIFFE ID is listed in the control plane's",
            "attestmesh.authz.replica-identities. The control plane must present spiffe://<td>/attestmesh/control-plane.",
            "Check is served over TLS with --serve-cert/--serve-key (serverAuth, e.g. the node agent's files) and",
            "answers only callers presenting an attested node's current certificate or a listed",
            "--authz-client-identity; --plaintext (loopback only, for development and load tests) answers any",
            "process on this host. It keeps deciding from its last view for up to --max-staleness while the",
            "control plane is unreachable, then denies every Check."})
final class AuthzCommand implements Callable<Integer> {
    private static final Pattern SHORT_DURATION = Pattern.compile("(\\d+)(ms|s|m|h)");
    /** From SIGTERM to exit at most: Check calls are short, and close() cuts what is left after 5 s. */
    private static final Duration STOP_DEADLINE = Duration.ofSeconds(9);

    @Option(names = "--control-plane", required = true, description = "Control plane gRPC address HOST:PORT.")
    String controlPlane;

    @Option(names = "--ca-bundle", required = true, description = "PEM mesh trust bundle (the control plane's ca-bundle.pem).")
    Path caBundle;

    @Option(names = "--port", required = true, description = "Port for Check (0 picks a free one).")
    int port;

    @Option(names = "--cert", required = true,
            description = "PEM replica certificate chain (cert-chain.pem from 'attestmesh ca issue-client --replica NAME').")
    Path cert;

    @Option(names = "--key", required = true, description = "PEM PKCS#8 key of that certificate (its key.pem).")
    Path key;

    @Option(names = "--serve-cert", description = "PEM chain the Check port serves TLS with (serverAuth; e.g. the node agent's cert-chain.pem).")
    Path serveCert;

    @Option(names = "--serve-key", description = "PEM PKCS#8 key of --serve-cert (e.g. the node agent's key.pem).")
    Path serveKey;

    @Option(names = "--bind", defaultValue = "127.0.0.1", description = "Address for the Check port (default ${DEFAULT-VALUE}).")
    String bind;

    @Option(names = "--max-staleness", defaultValue = "30s",
            description = "How long to keep deciding without hearing from the control plane: 500ms, 30s, 2m, PT30S (default ${DEFAULT-VALUE}).")
    String maxStaleness;

    @Option(names = "--plaintext", description = "Serve Check without TLS, for development and load tests: only on a "
            + "loopback --bind, and then every process on this host may ask.")
    boolean plaintext;

    @Option(names = "--client-auth", defaultValue = "require",
            description = "require | optional: whether the TLS handshake requires a client certificate (default "
                    + "${DEFAULT-VALUE}). Check answers authenticated callers only either way; optional lets the others "
                    + "get a clear UNAUTHENTICATED instead of a TLS alert.")
    String clientAuth;

    @Option(names = "--authz-client-identity", paramLabel = "SPIFFE_ID",
            description = "Reserved SPIFFE ID (spiffe://<td>/attestmesh/...) of an operator-issued client certificate "
                    + "that may call Check besides attested nodes; repeatable.")
    List<String> clientIdentities = new ArrayList<>();

    @Option(names = "--dev", description = "Development mode: allow nodes attested with the simulated TEE, whose "
            + "evidence proves nothing. Never in production.")
    boolean devMode;

    @Option(names = "--metrics-port", description = "Serve Prometheus metrics (GET /metrics, plain HTTP) on this port: "
            + "Check decisions and latency, registry view age, JVM. Off by default; 0 picks a free port.")
    Integer metricsPort;

    @Option(names = "--metrics-bind", defaultValue = "127.0.0.1",
            description = "Address for --metrics-port (default ${DEFAULT-VALUE}).")
    String metricsBind;

    @Option(names = "--log-format", paramLabel = "text|json", description = "Log line format: text (default) or "
            + "json (one JSON object per line); both carry an ISO-8601 date and time with offset on every line.")
    String logFormat;

    @Option(names = "--check-executor", defaultValue = "direct",
            description = "direct | pool: decide each Check on the network thread that read it (default ${DEFAULT-VALUE};"
                    + " nothing on the Check path blocks) or hand it to a thread pool.")
    String checkExecutor;

    @Option(names = "--replica-id", description = "Name of this replica in the control plane's log (default: the host name).")
    String replicaId;

    @Override
    public Integer call() throws Exception {
        if (logFormat != null) {
            LogFormat.parse(logFormat).apply(); // first: every later line in the chosen format
        }
        if (!clientAuth.equals("require") && !clientAuth.equals("optional")) {
            throw new IllegalArgumentException("--client-auth must be require or optional, not '" + clientAuth + "'");
        }
        if (!checkExecutor.equals("direct") && !checkExecutor.equals("pool")) {
            throw new IllegalArgumentException("--check-executor must be direct or pool, not '" + checkExecutor + "'");
        }
        if ((serveCert == null) != (serveKey == null)) {
            throw new IllegalArgumentException("--serve-cert and --serve-key go together");
        }
        ProcessShutdown shutdown = ProcessShutdown.install("authz", STOP_DEADLINE);
        String id = replicaId != null ? replicaId : java.net.InetAddress.getLocalHost().getHostName();
        Optional<StandaloneAuthzServer.ServingIdentity> serving = serveCert == null ? Optional.empty()
                : Optional.of(new StandaloneAuthzServer.ServingIdentity(serveCert, serveKey));
        ReplicaMetricsEndpoint metrics = new ReplicaMetricsEndpoint();
        StandaloneAuthzServer server = StandaloneAuthzServer.start(new StandaloneAuthzServer.Settings(controlPlane,
                caBundle, cert, key, serving, bind, port, plaintext, clientAuth.equals("require"),
                parseDuration(maxStaleness), id, AuthzDecider.Settings.DEFAULT_CACHE_SIZE,
                Set.copyOf(clientIdentities), devMode, checkExecutor.equals("direct")), List.of(metrics.checkInterceptor()));
        System.out.println("attestmesh authz: serving Check on " + bind + ":" + server.port()
                + (plaintext ? " (plaintext)" : " (TLS)") + ", watching " + controlPlane);
        try {
            if (metricsPort != null) {
                int served = metrics.start(server, metricsBind, metricsPort);
                System.out.println("attestmesh authz: metrics on http://" + metricsBind + ":" + served + "/metrics");
            }
            shutdown.awaitStop();
        } finally {
            metrics.close();
            server.close(); // stop accepting Check, let running ones finish, then drop the registry watch
        }
        // Counted by the service itself: a load generator that sees only HTTP/2 status checks its answers against it
        var answered = server.answered();
        System.out.println("attestmesh authz: Checks answered: " + answered.allowed() + " allowed, " + answered.denied()
                + " denied");
        System.out.println("attestmesh authz: stopped after " + shutdown.cause());
        shutdown.stopped();
        return 0;
    }

    /** {@code 500ms}, {@code 30s}, {@code 2m}, {@code 1h}, or ISO-8601 ({@code PT30S}). */
    static Duration parseDuration(String s) {
        Matcher m = SHORT_DURATION.matcher(s.strip());
        Duration d;
        if (m.matches()) {
            long n = Long.parseLong(m.group(1));
            d = switch (m.group(2)) {
                case "ms" -> Duration.ofMillis(n);
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                default -> Duration.ofHours(n);
            };
        } else {
            try {
                d = Duration.parse(s.strip());
            } catch (DateTimeParseException e) {
                throw new IllegalArgumentException("duration '" + s + "' is not like 500ms, 30s, 2m, 1h or PT30S");
            }
        }
        if (d.isZero() || d.isNegative()) {
            throw new IllegalArgumentException("duration '" + s + "' must be positive");
        }
        return d;
    }
}
