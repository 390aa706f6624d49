package dev.attestmesh.authz.standalone;

import dev.attestmesh.authz.AttestationAuthzService;
import dev.attestmesh.authz.AuthzDecider;
import dev.attestmesh.authz.CheckCallerAuthenticator;
import dev.attestmesh.authz.watch.WatchedRegistryView;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.identity.ControlPlaneTrustManager;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.util.AdvancedTlsX509KeyManager;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * ext_authz as its own process: {@link AttestationAuthzService} on its own gRPC port, deciding from a
 * {@link WatchedRegistryView} that subscribes to the control plane over mutual TLS with this
 * replica's operator-issued replica certificate ({@code spiffe://<td>/attestmesh/replica/<name>}).
 *
 * <p>Guarantees: the control plane is authenticated against {@link Settings#caBundle()} and must
 * present the reserved identity {@code spiffe://<td>/attestmesh/control-plane} (the trust domain is the
 * one the bundle's mesh root names, see {@link ControlPlaneTrustManager}); the
 * replica presents {@link Settings#certChain()} / {@link Settings#key()} (its replica certificate,
 * clientAuth only). The Check port serves TLS with {@link Settings#serving()} (serverAuth) and answers
 * only authenticated callers ({@link CheckCallerAuthenticator#mutualTls}): an attested node's current
 * certificate per the watched registry, or an operator-issued client certificate listed in {@link
 * Settings#clientIdentities()}. {@link Settings#requireClientCertificate()} false only lets the TLS
 * handshake finish without a certificate, so such callers get a clear {@code UNAUTHENTICATED} instead of
 * a TLS alert. Plaintext is refused unless it binds a loopback address, and then answers host-local
 * callers only ({@link CheckCallerAuthenticator#hostLocalPlaintext}). Both identities are re-read every
 * minute, so renewals are picked up by new connections. Decisions fail closed while the view is stale
 * (see {@link WatchedRegistryView}).
 *
 * <p>The same port serves the standard gRPC health service ({@code grpc.health.v1.Health}, for the whole
 * server {@code ""} and for {@value #AUTHORIZATION_SERVICE}): {@code SERVING} while the view is usable,
 * {@code NOT_SERVING} before the first snapshot, while the view is stale and from shutdown on, re-evaluated
 * every {@link #HEALTH_INTERVAL} and on every view change. Envoy's gRPC health checking of the ext_authz
 * cluster then sends Checks to replicas that can decide instead of to one that denies everything. It says
 * nothing else, and answers any caller that reaches the port (TLS callers from the mesh CA, or host-local
 * callers in plaintext).
 */
public final class StandaloneAuthzServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(StandaloneAuthzServer.class);
    private static final Duration KEY_RELOAD = Duration.ofMinutes(1);
    /** Above the decider's own 256 KiB limit, so an oversized Check gets its precise denial, not RESOURCE_EXHAUSTED. */
    private static final int MAX_INBOUND_BYTES = 1024 * 1024;
    /** The service name the health service reports besides the whole server's {@code ""}. */
    public static final String AUTHORIZATION_SERVICE = "envoy.service.auth.v3.Authorization";
    /** How often the health status follows the view's staleness (which changes with time, not only by events). */
    static final Duration HEALTH_INTERVAL = Duration.ofSeconds(1);

    /**
     * @param controlPlane {@code HOST:PORT} of the control plane's gRPC port
     * @param caBundle PEM mesh trust bundle (the control plane's {@code ca-bundle.pem})
     * @param certChain PEM certificate chain of this replica (leaf first): an operator-issued replica certificate
     *     ({@code attestmesh ca issue-client --replica NAME})
     * @param key PEM PKCS#8 private key of that certificate
     * @param serving PEM chain and key the Check port serves TLS with: a certificate with serverAuth, e.g. the
     *     node agent's {@code cert-chain.pem} / {@code key.pem} where the replica runs in an attested TEE. The
     *     replica certificate cannot serve (clientAuth only). Empty only with {@code plaintext}.
     * @param plaintext serve Check without TLS (loopback binds only; every process on the host may then ask)
     * @param clientIdentities reserved SPIFFE IDs of operator-issued client certificates that may call Check
     *     besides attested nodes ({@link CheckCallerAuthenticator#checkedClientIdentities})
     * @param allowInsecure dev mode: admit nodes attested with simulated-TEE evidence (as peers and callers)
     * @param directExecutor decide each Check on the Netty event loop that read it (true, the default) rather than
     *     hand it to a thread pool: nothing on the Check path blocks (the watched view is read from a volatile
     *     snapshot, the decision cache is Caffeine, a miss is CPU only), so the hand-off would only add a thread
     *     switch and its queue to every Check
     */
    public record Settings(String controlPlane, Path caBundle, Path certChain, Path key, Optional<ServingIdentity> serving,
            String bind, int port, boolean plaintext, boolean requireClientCertificate, Duration maxStaleness,
            String replicaId, long decisionCacheSize, Set<String> clientIdentities, boolean allowInsecure,
            boolean directExecutor) {
        public Settings {
            Objects.requireNonNull(controlPlane, "controlPlane");
            Objects.requireNonNull(bind, "bind");
            Objects.requireNonNull(serving, "serving");
            if (!plaintext && serving.isEmpty()) {
                throw new IllegalArgumentException("serving Check over TLS needs a serving certificate and key with"
                        + " serverAuth (--serve-cert/--serve-key, e.g. the node agent's cert-chain.pem and key.pem):"
                        + " the replica certificate is for clients only; or use --plaintext on a loopback --bind");
            }
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port " + port + " is outside 0..65535");
            }
            if (maxStaleness.isNegative() || maxStaleness.isZero()) {
                throw new IllegalArgumentException("max staleness must be positive, was " + maxStaleness);
            }
            clientIdentities = CheckCallerAuthenticator.checkedClientIdentities(
                    Objects.requireNonNull(clientIdentities, "clientIdentities"));
        }

        /** Settings deciding on the event loop ({@code directExecutor} true). */
        public Settings(String controlPlane, Path caBundle, Path certChain, Path key, Optional<ServingIdentity> serving,
                String bind, int port, boolean plaintext, boolean requireClientCertificate, Duration maxStaleness,
                String replicaId, long decisionCacheSize, Set<String> clientIdentities, boolean allowInsecure) {
            this(controlPlane, caBundle, certChain, key, serving, bind, port, plaintext, requireClientCertificate,
                    maxStaleness, replicaId, decisionCacheSize, clientIdentities, allowInsecure, true);
        }

        /** Settings without extra client identities, simulated evidence denied. */
        public Settings(String controlPlane, Path caBundle, Path certChain, Path key, Optional<ServingIdentity> serving,
                String bind, int port, boolean plaintext, boolean requireClientCertificate, Duration maxStaleness,
                String replicaId, long decisionCacheSize) {
            this(controlPlane, caBundle, certChain, key, serving, bind, port, plaintext, requireClientCertificate,
                    maxStaleness, replicaId, decisionCacheSize, Set.of(), false);
        }

        /** These settings in dev mode ({@code true}: simulated-TEE evidence admitted) or not. */
        public Settings withAllowInsecure(boolean allow) {
            return new Settings(controlPlane, caBundle, certChain, key, serving, bind, port, plaintext,
                    requireClientCertificate, maxStaleness, replicaId, decisionCacheSize, clientIdentities, allow,
                    directExecutor);
        }

        /** These settings deciding on the event loop ({@code true}) or on a thread pool. */
        public Settings withDirectExecutor(boolean direct) {
            return new Settings(controlPlane, caBundle, certChain, key, serving, bind, port, plaintext,
                    requireClientCertificate, maxStaleness, replicaId, decisionCacheSize, clientIdentities, allowInsecure,
                    direct);
        }
    }

    /** The certificate chain and key the Check port serves TLS with. */
    public record ServingIdentity(Path certChain, Path key) {
        public ServingIdentity {
            Objects.requireNonNull(certChain, "certChain");
            Objects.requireNonNull(key, "key");
        }
    }

    private final List<AutoCloseable> resources = new ArrayList<>();
    private final ScheduledExecutorService reloader;
    private final ManagedChannel channel;
    private final WatchedRegistryView view;
    private final AuthzDecider decider;
    private final AttestationAuthzService service;
    private final Server server;
    private final HealthStatusManager health = new HealthStatusManager();

    private StandaloneAuthzServer(Settings s, List<io.grpc.ServerInterceptor> checkInterceptors) throws IOException {
        List<Path> files = new ArrayList<>(List.of(s.caBundle(), s.certChain(), s.key()));
        s.serving().ifPresent(v -> files.addAll(List.of(v.certChain(), v.key())));
        for (Path p : files) {
            if (!Files.isReadable(p)) {
                throw new IOException("cannot read " + p + " (need --ca-bundle, --cert, --key and, for TLS, --serve-cert"
                        + " and --serve-key files)");
            }
        }
        InetAddress bindAddress = InetAddress.getByName(s.bind());
        if (s.plaintext() && !bindAddress.isLoopbackAddress()) {
            throw new IllegalArgumentException("--plaintext is allowed on a loopback address only, not " + s.bind()
                    + "; serve TLS with --cert/--key instead");
        }
        // PKIX against the mesh bundle alone would let any attested node's leaf answer as the control plane
        ControlPlaneTrustManager controlPlaneTrust;
        try {
            controlPlaneTrust = ControlPlaneTrustManager.pinning(
                    Pem.parseCertificates(Files.readString(s.caBundle(), StandardCharsets.US_ASCII)));
        } catch (java.security.cert.CertificateException e) {
            throw new IOException("--ca-bundle " + s.caBundle() + " is not a PEM trust bundle: " + e.getMessage(), e);
        }
        this.reloader = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "attestmesh-authz-key-reload");
            t.setDaemon(true);
            return t;
        });
        boolean ok = false;
        try {
            AdvancedTlsX509KeyManager keys = new AdvancedTlsX509KeyManager();
            Closeable reload = keys.updateIdentityCredentials(s.certChain().toFile(), s.key().toFile(),
                    KEY_RELOAD.toSeconds(), TimeUnit.SECONDS, reloader);
            resources.add(reload::close);
            ChannelCredentials client = TlsChannelCredentials.newBuilder().keyManager(keys)
                    .trustManager(controlPlaneTrust).build();
            this.channel = Grpc.newChannelBuilder(s.controlPlane(), client)
                    .maxInboundMessageSize(256 * 1024 * 1024) // a full snapshot of a large registry
                    .keepAliveTime(30, TimeUnit.SECONDS)
                    .build();
            this.view = WatchedRegistryView.start(channel,
                    WatchedRegistryView.Settings.defaults(s.replicaId()).withMaxStaleness(s.maxStaleness()));
            this.decider = new AuthzDecider(view, Clock.systemUTC(),
                    new AuthzDecider.Settings(s.decisionCacheSize(), s.allowInsecure()));
            CheckCallerAuthenticator callers = s.plaintext() ? CheckCallerAuthenticator.hostLocalPlaintext()
                    : CheckCallerAuthenticator.mutualTls(view, Clock.systemUTC(), s.clientIdentities(), s.allowInsecure());
            AdvancedTlsX509KeyManager servingKeys = null;
            if (!s.plaintext()) {
                servingKeys = new AdvancedTlsX509KeyManager();
                Closeable servingReload = servingKeys.updateIdentityCredentials(s.serving().orElseThrow().certChain().toFile(),
                        s.serving().orElseThrow().key().toFile(), KEY_RELOAD.toSeconds(), TimeUnit.SECONDS, reloader);
                resources.add(servingReload::close);
            }
            ServerCredentials serverCreds = s.plaintext() ? InsecureServerCredentials.create()
                    : TlsServerCredentials.newBuilder().keyManager(servingKeys).trustManager(s.caBundle().toFile())
                            .clientAuth(s.requireClientCertificate() ? TlsServerCredentials.ClientAuth.REQUIRE
                                    : TlsServerCredentials.ClientAuth.OPTIONAL)
                            .build();
            this.service = new AttestationAuthzService(decider);
            NettyServerBuilder builder = NettyServerBuilder.forAddress(new InetSocketAddress(bindAddress, s.port()),
                            serverCreds)
                    .maxInboundMessageSize(MAX_INBOUND_BYTES)
                    .addTransportFilter(callers.transportFilter())
                    .addService(io.grpc.ServerInterceptors.intercept(service.bind(callers), checkInterceptors))
                    .addService(health.getHealthService());
            if (s.directExecutor()) {
                builder.directExecutor();
            }
            updateHealth();
            view.addChangeListener(this::updateHealth);
            reloader.scheduleWithFixedDelay(this::updateHealth, HEALTH_INTERVAL.toMillis(), HEALTH_INTERVAL.toMillis(),
                    TimeUnit.MILLISECONDS);
            this.server = builder.build().start();
            ok = true;
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot load the replica's certificate and key: " + e.getMessage(), e);
        } finally {
            if (!ok) {
                closeQuietly();
            }
        }
        LOG.info("AttestMesh ext_authz replica '{}' serving Check on {}:{} ({}), watching {}", s.replicaId(), s.bind(),
                server.getPort(), s.plaintext() ? "PLAINTEXT: host-local callers only, for development" : "TLS, mesh callers only",
                s.controlPlane());
        if (s.allowInsecure()) {
            LOG.warn("ext_authz replica '{}' runs in DEV MODE: nodes attested with the simulated TEE, whose evidence "
                    + "proves nothing, are allowed", s.replicaId());
        }
    }

    /** SERVING while the view can decide, NOT_SERVING otherwise (HealthStatusManager tells watchers only changes). */
    private void updateHealth() {
        HealthCheckResponse.ServingStatus status = view.unavailableReason().isEmpty()
                ? HealthCheckResponse.ServingStatus.SERVING : HealthCheckResponse.ServingStatus.NOT_SERVING;
        health.setStatus(HealthStatusManager.SERVICE_NAME_ALL_SERVICES, status);
        health.setStatus(AUTHORIZATION_SERVICE, status);
    }

    /** Starts the replica; it denies every Check until the first snapshot arrives. */
    public static StandaloneAuthzServer start(Settings settings) throws IOException {
        return new StandaloneAuthzServer(settings, List.of());
    }

    /**
     * Starts the replica with interceptors around its Authorization service (metrics: they observe Checks and must
     * not change them).
     */
    public static StandaloneAuthzServer start(Settings settings, List<io.grpc.ServerInterceptor> checkInterceptors)
            throws IOException {
        return new StandaloneAuthzServer(settings, List.copyOf(checkInterceptors));
    }

    public int port() {
        return server.getPort();
    }

    public WatchedRegistryView view() {
        return view;
    }

    public AuthzDecider decider() {
        return decider;
    }

    /** Checks answered so far, by outcome. */
    public AttestationAuthzService.Answered answered() {
        return service.answered();
    }

    /** Blocks until the server is shut down. */
    public void awaitTermination() throws InterruptedException {
        server.awaitTermination();
    }

    @Override
    public void close() {
        health.enterTerminalState(); // NOT_SERVING from now on: health-checking Envoys move to another replica
        if (server != null) {
            server.shutdown();
            try {
                if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
                    server.shutdownNow();
                }
            } catch (InterruptedException e) {
                server.shutdownNow();
                Thread.currentThread().interrupt();
            }
        }
        closeQuietly();
    }

    private void closeQuietly() {
        if (view != null) {
            view.close();
        }
        if (channel != null) {
            channel.shutdownNow();
        }
        for (AutoCloseable r : resources) {
            try {
                r.close();
            } catch (Exception e) {
                LOG.debug("closing {} failed", r, e);
            }
        }
        reloader.shutdownNow();
    }
}
