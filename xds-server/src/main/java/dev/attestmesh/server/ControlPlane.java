package dev.attestmesh.server;

import dev.attestmesh.authz.AttestationAuthzService;
import dev.attestmesh.authz.AuthzDecider;
import dev.attestmesh.authz.CheckCallerAuthenticator;
import dev.attestmesh.ca.MeshCa;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.issuance.IssuanceLog;
import dev.attestmesh.policy.Policy;
import dev.attestmesh.quote.EvidenceVerifiers;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.server.admin.metrics.MeshMetrics;
import dev.attestmesh.server.attest.AttestationGrpcService;
import dev.attestmesh.server.attest.AttestationMetrics;
import dev.attestmesh.server.attest.MalformedRequests;
import dev.attestmesh.admission.AttestationAdmission;
import dev.attestmesh.admission.EvidenceBinding;
import dev.attestmesh.admission.NonceStore;
import dev.attestmesh.admission.challenge.ChallengeGate;
import dev.attestmesh.admission.challenge.ChallengeRateLimiter;
import dev.attestmesh.server.registration.RegistrationRegistry;
import dev.attestmesh.server.store.RegistrationStore;
import dev.attestmesh.server.ca.CaBootstrap;
import dev.attestmesh.server.ca.CaKeySource;
import dev.attestmesh.server.ca.CaSealer;
import dev.attestmesh.server.ca.CaRotation;
import dev.attestmesh.server.ca.MeshCaHolder;
import dev.attestmesh.server.ca.RotationSchedule;
import dev.attestmesh.server.ca.RotationSettings;
import dev.attestmesh.server.ca.ServingCertificate;
import dev.attestmesh.server.ca.TrustBundleTrustManager;
import dev.attestmesh.server.lifecycle.CallDrain;
import dev.attestmesh.server.mesh.AttestedNodeDirectory;
import dev.attestmesh.server.mesh.AttestedNodeIdentity;
import dev.attestmesh.server.mesh.EnvoyNodeDirectory;
import dev.attestmesh.server.mesh.MeshConfigRegistry;
import dev.attestmesh.server.mesh.MeshConfigStore;
import dev.attestmesh.server.policy.PolicyRegistry;
import dev.attestmesh.server.registry.NodeRegistry;
import dev.attestmesh.server.registry.StalenessBoundView;
import dev.attestmesh.server.revocation.RevocationStore;
import dev.attestmesh.server.revocation.Revocations;
import dev.attestmesh.server.secrets.SealingKeys;
import dev.attestmesh.server.secrets.SecretGrpcService;
import dev.attestmesh.server.secrets.SecretReleases;
import dev.attestmesh.server.secrets.SecretStore;
import dev.attestmesh.server.secrets.SecretVault;
import dev.attestmesh.server.ear.EarSigningKey;
import dev.attestmesh.server.store.EarKeyStore;
import dev.attestmesh.server.secrets.Secrets;
import dev.attestmesh.server.seed.DocumentFileModes;
import dev.attestmesh.server.seed.DocumentFiles;
import dev.attestmesh.server.store.CaMaterialStore;
import dev.attestmesh.server.store.Change;
import dev.attestmesh.server.store.ChangeNotifier;
import dev.attestmesh.server.store.Database;
import dev.attestmesh.server.store.JdbcIssuanceLogStore;
import dev.attestmesh.server.store.JdbcNonceStore;
import dev.attestmesh.server.store.NodeStore;
import dev.attestmesh.server.store.PolicyStore;
import dev.attestmesh.server.watch.RegistryWatchService;
import dev.attestmesh.server.watch.RegistryWatchSettings;
import dev.attestmesh.server.xds.AttestedStreamCallbacks;
import dev.attestmesh.server.xds.EnvoyNodeObserver;
import dev.attestmesh.server.xds.MeshResourceGenerator;
import dev.attestmesh.server.xds.PeerCertificateInterceptor;
import dev.attestmesh.server.xds.XdsStreamGuard;
import dev.attestmesh.server.xds.SnapshotPublisher;
import dev.attestmesh.server.xds.XdsStreamStats;
import dev.attestmesh.server.xds.XdsSyncTracker;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The AttestMesh control plane, assembled: store, mesh CA, policies, node registry, attestation
 * service, xDS (ADS/SDS) and ext_authz, all on one mTLS gRPC port. The Micronaut application creates
 * one as a bean; tests and the demo may create it directly.
 */
public final class ControlPlane implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ControlPlane.class);
    /** The file, in the data directory, holding the trust bundle that agents need to reach this control plane. */
    public static final String CA_BUNDLE_FILE = "ca-bundle.pem";
    /** How long {@link #close()} lets in-flight calls (attestations, Check) finish before ending them. */
    public static final Duration DEFAULT_SHUTDOWN_GRACE = Duration.ofSeconds(5);
    /** After the grace, how long gRPC gets to finish closing its transports before they are cut. */
    private static final Duration TRANSPORT_CLOSE_TIMEOUT = Duration.ofSeconds(1);

    private final ControlPlaneSettings settings;
    private final Database db;
    private final ChangeNotifier changes;
    private final MeshCaHolder ca;
    private final PolicyRegistry policies;
    private final RegistrationRegistry registrations;
    private final NodeRegistry registry;
    private final IssuanceLog issuanceLog;
    private final AttestationMetrics metrics = new AttestationMetrics();
    /**
     * How often the collateral caches fetch what they hold again ahead of its nextUpdate, so a TCB
     * recovery re-appraises nodes within this bound (docs/evidence.md, "Re-appraisal on new collateral").
     */
    public static final Duration COLLATERAL_REFRESH_INTERVAL = Duration.ofHours(1);
    private final java.util.concurrent.ScheduledExecutorService collateralRefresh =
            java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "attestmesh-collateral-refresh");
                t.setDaemon(true);
                return t;
            });
    private final dev.attestmesh.server.attest.RecentRefusals refusals =
            new dev.attestmesh.server.attest.RecentRefusals(Clock.systemUTC());
    private final XdsStreamStats streamStats = new XdsStreamStats();
    private final AuthzDecider decider;
    private final SimpleCache<String> xdsCache;
    private final XdsSyncTracker syncTracker;
    private final Server server;
    private final MeshMetrics meshMetrics;
    private final Revocations revocations;
    private final NonceStore nonces;
    private final SnapshotPublisher publisher;
    private final CaMaterialStore caStore;
    private final Clock clock;
    private final MeshConfigRegistry mesh;
    private final RegistryWatchService registryWatch;
    private final XdsStreamGuard streamGuard;
    private final CallDrain calls = new CallDrain();
    private final ServingCertificate serving;
    private final CaRotation caRotation;
    private final RotationSchedule rotationSchedule;
    private final CaSealer caSealer;
    private final io.grpc.util.MutableHandlerRegistry laterServices = new io.grpc.util.MutableHandlerRegistry();
    private final Secrets secrets;
    private final SecretReleases secretReleases;
    private final SealingKeys sealingKeys;
    private final EarSigningKey earSigningKey;
    private final EvidenceBinding binding;
    private boolean closed; // guarded by this
    /** The verifiers in use, for the collateral refresh. */
    private final EvidenceVerifiers activeVerifiers;

    private ControlPlane(ControlPlaneSettings settings, Clock clock, EvidenceVerifiers verifiers,
            Optional<Path> meshFile, RegistryWatchSettings watchSettings, RotationSettings rotation,
            DocumentFileModes fileModes, CaKeySource teeKeys, EvidenceBinding binding)
            throws IOException {
        this.settings = settings;
        this.binding = java.util.Objects.requireNonNull(binding, "binding");
        this.clock = clock;
        rotation.checkOverlapCovers(settings.maxCertificateTtl());
        Files.createDirectories(settings.dataDir());
        this.db = Database.open(settings.database(), settings.dataDir());
        this.changes = ChangeNotifier.forDatabase(db);
        this.caStore = new CaMaterialStore(db);
        // Under the store's CA lock, so replicas starting together on an empty database share one CA.
        CaBootstrap.Opened opened = db.underLock(Database.LOCK_CA, () -> loadOrCreateCa(caStore, clock, teeKeys));
        this.caSealer = opened.sealer();
        this.ca = new MeshCaHolder(opened.ca(), clock);
        this.policies = new PolicyRegistry(new PolicyStore(db), clock, changes, settings.policyRules());
        if (settings.devMode()) {
            LOG.warn(DEV_MODE_BANNER);
        } else {
            verifiers = verifiers.without(TeeType.SIM);
        }
        this.registrations = new RegistrationRegistry(new RegistrationStore(db), policies, settings.trustDomain(), clock,
                changes);
        EnvoyNodeDirectory envoyNodes = new EnvoyNodeDirectory();
        AttestedNodeDirectory attestedNodes = new AttestedNodeDirectory();
        this.mesh = new MeshConfigRegistry(new MeshConfigStore(db), policies, envoyNodes, attestedNodes, clock,
                changes);
        try {
            // Seed an empty store or apply, as each file's mode says; every file validated before any is written.
            new DocumentFiles(policies, registrations, mesh).load(new DocumentFiles.Sources(settings.policyFile(),
                    settings.registrationFile(), meshFile, fileModes));
        } catch (RuntimeException e) {
            db.close(); // release the database (and the H2 file lock): the start failed
            throw e;
        }
        warnAboutSimulator();
        if (registrations.all().isEmpty()) {
            LOG.warn("no registrations are configured: no node can earn an identity, so every attestation is refused "
                    + "(--registration-file or PUT /api/v1/registrations; see docs/identity.md)");
        }
        this.registry = new NodeRegistry(new NodeStore(db), policies, registrations, ca::trustBundle, clock, changes,
                mesh);
        // New collateral (a TCB recovery, a new CRL) re-judges the affected nodes through the same
        // re-appraisal a policy change uses; the caches look for it every COLLATERAL_REFRESH_INTERVAL.
        EvidenceVerifiers active = verifiers;
        this.activeVerifiers = verifiers;
        verifiers.collateralChanges().subscribe(change -> {
            synchronized (this) {
                if (closed) {
                    return;
                }
            }
            registry.reappraiseOnCollateral(change, ev -> active.reappraise(ev, clock.instant()));
        });
        collateralRefresh.scheduleWithFixedDelay(this::refreshCollateral, COLLATERAL_REFRESH_INTERVAL.toSeconds(), COLLATERAL_REFRESH_INTERVAL.toSeconds(),
                java.util.concurrent.TimeUnit.SECONDS);
        // Membership by SPIFFE ID or registration reads what the registry proved; kept current before any
        // other node listener (the snapshot publisher) runs.
        registry.entries().forEach(e -> attestedNodes.record(e.nodeId(),
                new AttestedNodeIdentity(e.spiffeId(), e.registration())));
        registry.addNodeChangeListener(node -> {
            if (node.isPresent()) {
                registry.entry(node.get()).ifPresent(e -> attestedNodes.record(e.nodeId(),
                        new AttestedNodeIdentity(e.spiffeId(), e.registration())));
            } else {
                registry.entries().forEach(e -> attestedNodes.record(e.nodeId(),
                        new AttestedNodeIdentity(e.spiffeId(), e.registration())));
            }
        });
        this.issuanceLog = new IssuanceLog(new JdbcIssuanceLogStore(db));
        Files.writeString(caBundleFile(), Pem.certificates(ca.trustBundle()), StandardCharsets.US_ASCII);

        // Secrets at rest under the key that seals the CA (docs/secrets.md): the operator key, or the TEE's key.
        SecretVault vault = switch (caSealer) {
            case CaSealer.OperatorKey operator -> {
                char[] caKey = CaBootstrap.sealingSecret(operator.dataDir(), operator.configured());
                try {
                    yield SecretVault.fromCaKey(caKey);
                } finally {
                    java.util.Arrays.fill(caKey, '\0');
                }
            }
            case CaSealer.TeeKey tee -> SecretVault.fromTeeKey(tee.key());
        };
        try {
            // One EAR signing key for every replica and restart, sealed like the secrets (docs/trustee.md, "EAR out").
            this.earSigningKey = EarSigningKey.loadOrCreate(new EarKeyStore(db), vault, clock);
        } catch (RuntimeException e) {
            collateralRefresh.shutdownNow();
            changes.close();
            db.close(); // the start failed: release the store (and the H2 file lock)
            throw e;
        }
        this.secrets = new Secrets(new SecretStore(db), vault, policies, registrations, changes, clock);
        this.sealingKeys = new SealingKeys(db, vault, policies, changes, clock);
        sealingKeys.ensureKeys(); // every sealing: true policy has an active key
        policies.addChangeListener(sealingKeys::ensureKeys);
        this.secretReleases = new SecretReleases(secrets, sealingKeys, policies, issuanceLog, clock);
        SimpleCache<String> cache = new SimpleCache<>(node -> node.getId());
        MeshResourceGenerator meshResources = new MeshResourceGenerator(mesh, registry, policies);
        SnapshotPublisher publisher = new SnapshotPublisher(cache, registry, policies, ca, settings.nodeKeyFile(),
                meshResources, e -> secretReleases
                        .releaseTo(e, SecretReleases.Channel.SDS).stream()
                        .map(r -> dev.attestmesh.sds.SdsSecretFactory.generic(r.name(), r.value())).toList());
        // With services configured, one node's change can alter other nodes' endpoints and RBAC: it rebuilds the node
        // and the nodes whose resources name it, under the services it was in before the change and is in after it
        // (MeshResourceGenerator.affectedBy; unchanged snapshots keep their content-hash versions, so nothing is
        // re-sent to them). A change of everything rebuilds all. Without services, only that node.
        XdsStreamGuard streamGuard = new XdsStreamGuard(registry::byNodeId, publisher);
        this.streamGuard = streamGuard;
        if (settings.database().isPostgres()) {
            // Replicas share the store and split the fleet: each builds snapshots for the proxies streaming to it.
            publisher.onlyForStreamsHere(streamGuard::openStreams);
        }
        registry.addNodeChangeListener(node -> {
            // A revoked or withdrawn node loses its open streams now, not at its next request.
            node.ifPresentOrElse(streamGuard::nodeChanged, streamGuard::allChanged);
            if (node.isEmpty()) {
                publisher.publishAll();
            }
        });
        registry.addNodeTransitionListener(t -> {
            if (mesh.current().config().services().isEmpty()) {
                publisher.publishNode(t.nodeId());
                return;
            }
            java.util.Set<AttestedNodeIdentity> identities = new java.util.HashSet<>();
            t.before().ifPresent(e -> identities.add(new AttestedNodeIdentity(e.spiffeId(), e.registration())));
            t.after().ifPresent(e -> identities.add(new AttestedNodeIdentity(e.spiffeId(), e.registration())));
            publisher.publishNodes(meshResources.affectedBy(t.nodeId(), identities));
        });
        this.publisher = publisher;
        secrets.addChangeListener(publisher::publishAll); // a new version, rule or deletion reaches Envoys at once
        sealingKeys.addChangeListener(publisher::publishAll);
        this.revocations = new Revocations(new RevocationStore(db), registry, clock, changes);
        publisher.publishAll();
        this.xdsCache = cache;
        this.syncTracker = new XdsSyncTracker(clock);
        this.meshMetrics = new MeshMetrics(metrics, streamStats);
        V3DiscoveryServer xds = new V3DiscoveryServer(List.of(new AttestedStreamCallbacks(registry, streamStats),
                new EnvoyNodeObserver(envoyNodes), syncTracker, meshMetrics.pushLatency()), cache);

        // On PostgreSQL, decisions stop once this replica has missed other replicas' changes for too long.
        StalenessBoundView boundedView = new StalenessBoundView(registry, changes, settings.database().maxStaleness());
        this.decider = new AuthzDecider(boundedView,
                clock, AuthzDecider.Settings.defaults()
                .withAllowInsecure(settings.devMode()));
        // Only the mesh's own Envoys (attested node certificates) and listed operator clients may ask
        CheckCallerAuthenticator authzCallers = CheckCallerAuthenticator.mutualTls(registry, clock,
                settings.authzClientIdentities(), settings.devMode());
        // Certificates kept current while running (docs/operator-guide.md, "Certificate rotation").
        this.serving = new ServingCertificate(ca::ca, settings.trustDomain(), settings.serverNames(),
                rotation.serverCertTtl(), rotation.serverCertRenewBefore(), clock);
        this.caRotation = new CaRotation(db, caStore, ca, caSealer, rotation.intermediateRotation(),
                rotation.intermediateOverlap(), changes, clock);
        caRotation.listen(this::caChanged);
        meshMetrics.bindDecisions(decider);
        serving.registerMetrics(meshMetrics.registry());
        caRotation.registerMetrics(meshMetrics.registry());
        changes.subscribe((change, origin) -> {
            if (change == Change.Topic.SECRETS && origin == ChangeNotifier.Origin.OTHER_REPLICA) {
                secrets.changedElsewhere();
                sealingKeys.changedElsewhere();
            }
            if (change == Change.Topic.CA && origin == ChangeNotifier.Origin.OTHER_REPLICA) {
                try {
                    caRotation.reloadIfChanged(); // another replica rotated the CA
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot reload the mesh CA: " + e.getMessage(), e);
                }
            }
        });
        changes.start();
        // In memory for H2 (one process); in the shared table for PostgreSQL, so replicas accept each other's nonces.
        NonceStore nonces = JdbcNonceStore.forDatabase(db, clock, settings.nonceTtl(), settings.challengeLimits());
        this.nonces = nonces;
        this.registryWatch = new RegistryWatchService(registry, policies, ca::trustBundle, watchSettings, clock,
                boundedView::unavailableReason); // a stale replica feeds no standalone ext_authz either
        meshMetrics.bind(registry::entries, syncTracker, registryWatch, clock);
        AttestationAdmission admission = new AttestationAdmission(nonces, verifiers, policies::all, registrations::all,
                ca::issuer, issuanceLog, registry, revocations.gate(), clock, settings.trustee(), binding);
        ChallengeGate challenges = new ChallengeGate(nonces, registry,
                new ChallengeRateLimiter(settings.challengeLimits()));
        AttestationGrpcService attestation = new AttestationGrpcService(challenges, admission,
                settings.serviceAccountTokens(), ca::trustBundle, metrics, Optional.of(registryWatch), db, refusals);

        PeerCertificateInterceptor peer = new PeerCertificateInterceptor();
        this.server = NettyServerBuilder.forAddress(new InetSocketAddress(settings.grpcBind(), settings.grpcPort()))
                .sslContext(serverTls())
                .maxInboundMessageSize(2 * 1024 * 1024)
                .addTransportFilter(authzCallers.transportFilter())
                .intercept(calls) // outermost: sees every call, for the ordered shutdown
                // a request that does not decode is the caller's error (INVALID_ARGUMENT)
                .addService(MalformedRequests.asInvalidArgument(
                        ServerInterceptors.intercept(xds.getAggregatedDiscoveryServiceImpl(), peer, streamGuard)))
                .addService(MalformedRequests.asInvalidArgument(
                        ServerInterceptors.intercept(xds.getSecretDiscoveryServiceImpl(), peer, streamGuard)))
                .addService(MalformedRequests.asInvalidArgument(
                        ServerInterceptors.intercept(attestation, meshMetrics.attestationInterceptor(), peer)))
                .addService(MalformedRequests.asInvalidArgument(
                        ServerInterceptors.intercept(new SecretGrpcService(registry, secretReleases), peer)))
                .addService(ServerInterceptors.intercept(new AttestationAuthzService(decider).bind(authzCallers),
                        meshMetrics.authzInterceptor()))
                .fallbackHandlerRegistry(laterServices) // services whose beans are built after this one
                .build()
                .start();
        LOG.info("AttestMesh control plane listening on {}:{} (gRPC: ADS/SDS, attestation, ext_authz); data in {}; "
                + "store {}", settings.grpcBind(), server.getPort(), settings.dataDir().toAbsolutePath(), db.description());
        this.rotationSchedule = new RotationSchedule(caRotation, serving, rotation.checkInterval());
        LOG.info("certificate rotation: {}; next intermediate rotation at {}", rotation.describe(),
                caRotation.nextRotation().map(Object::toString).orElse("none (schedule off)"));
    }

    /** Refreshes what derives from the CA after its intermediate or trust bundle changed. */
    private void caChanged(CaRotation.Reason reason) {
        publisher.publishAll(); // ROOTCA and policy:<id> carry the new bundle; Envoys get a new secret version
        registry.trustBundleChanged(); // ext_authz decides again on the new bundle (its cache keeps other nodes' changes)
        serving.renewIfNotIssuedBy(ca.ca().issuingIntermediate()); // must chain to a trusted intermediate
        RegistryWatchService watch = this.registryWatch; // null only while the constructor runs
        if (watch != null) {
            watch.trustBundleChanged();
        }
        try {
            writeCaBundle();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot rewrite " + caBundleFile() + " after the CA changed ("
                    + reason + "): " + e.getMessage(), e);
        }
    }

    /** Replaces ca-bundle.pem in one step, so an agent reading it never sees half a bundle. */
    private void writeCaBundle() throws IOException {
        Path tmp = caBundleFile().resolveSibling(CA_BUNDLE_FILE + ".tmp");
        Files.writeString(tmp, Pem.certificates(ca.trustBundle()), StandardCharsets.US_ASCII);
        Files.move(tmp, caBundleFile(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private CaBootstrap.Opened loadOrCreateCa(CaMaterialStore store, Clock clock, CaKeySource teeKeys) {
        try {
            return CaBootstrap.open(store, settings.dataDir(), settings.caKey(), settings.trustDomain(), clock, teeKeys);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the CA encryption key: " + e.getMessage(), e);
        }
    }

    /** Starts a control plane with the given evidence verifiers. */
    public static ControlPlane start(ControlPlaneSettings settings, Clock clock, EvidenceVerifiers verifiers)
            throws IOException {
        return new ControlPlane(settings, clock, verifiers, Optional.empty(), RegistryWatchSettings.refuseAll(),
                RotationSettings.DEFAULTS, DocumentFileModes.SEED, CaKeySource.none(), EvidenceBinding.reportData());
    }

    /**
     * Starts a control plane that offers the mesh config in {@code meshFile} (when given) to the store, as every
     * file is offered by default: it seeds a store that never held a mesh config and is otherwise not applied
     * ({@link DocumentFiles}).
     *
     * @throws IllegalArgumentException when the mesh file is unreadable or invalid (every problem listed)
     */
    public static ControlPlane start(ControlPlaneSettings settings, Clock clock, EvidenceVerifiers verifiers,
            Optional<Path> meshFile) throws IOException {
        return new ControlPlane(settings, clock, verifiers, meshFile, RegistryWatchSettings.refuseAll(),
                RotationSettings.DEFAULTS, DocumentFileModes.SEED, CaKeySource.none(), EvidenceBinding.reportData());
    }

    /** Starts a control plane that lets the given authz replicas watch the registry. */
    public static ControlPlane start(ControlPlaneSettings settings, Clock clock, EvidenceVerifiers verifiers,
            RegistryWatchSettings watchSettings) throws IOException {
        return new ControlPlane(settings, clock, verifiers, Optional.empty(), watchSettings, RotationSettings.DEFAULTS,
                DocumentFileModes.SEED, CaKeySource.none(), EvidenceBinding.reportData());
    }

    /** Starts with a mesh file and the authz replicas allowed to watch the registry. */
    public static ControlPlane start(ControlPlaneSettings settings, Clock clock, EvidenceVerifiers verifiers,
            Optional<Path> meshFile, RegistryWatchSettings watchSettings) throws IOException {
        return new ControlPlane(settings, clock, verifiers, meshFile, watchSettings, RotationSettings.DEFAULTS,
                DocumentFileModes.SEED, CaKeySource.none(), EvidenceBinding.reportData());
    }

    /**
     * Starts with a mesh file, the authz replicas allowed to watch the registry, and how certificates are
     * renewed and rotated while running.
     */
    public static ControlPlane start(ControlPlaneSettings settings, Clock clock, EvidenceVerifiers verifiers,
            Optional<Path> meshFile, RegistryWatchSettings watchSettings, RotationSettings rotation)
            throws IOException {
        return new ControlPlane(settings, clock, verifiers, meshFile, watchSettings, rotation, DocumentFileModes.SEED,
                CaKeySource.none(), EvidenceBinding.reportData());
    }

    /**
     * Starts as {@link #start(ControlPlaneSettings, Clock, EvidenceVerifiers, Optional, RegistryWatchSettings,
     * RotationSettings)}, with what each file given at start does: seed an empty store (the default of the other
     * overloads) or apply at every start ({@link DocumentFiles}).
     *
     * @throws IllegalArgumentException when a file is unreadable or invalid (every problem of every file listed),
     *     or a mode is apply for a file that is not given
     */
    public static ControlPlane start(ControlPlaneSettings settings, Clock clock, EvidenceVerifiers verifiers,
            Optional<Path> meshFile, RegistryWatchSettings watchSettings, RotationSettings rotation,
            DocumentFileModes fileModes) throws IOException {
        return new ControlPlane(settings, clock, verifiers, meshFile, watchSettings, rotation, fileModes,
                CaKeySource.none(), EvidenceBinding.reportData());
    }

    /**
     * Starts as the overload above, sealing a new CA to the sealing key {@code teeKeys} finds in the TEE (the
     * operator key when it finds none); a stored CA stays sealed as it is ({@link CaBootstrap#open}).
     */
    public static ControlPlane start(ControlPlaneSettings settings, Clock clock, EvidenceVerifiers verifiers,
            Optional<Path> meshFile, RegistryWatchSettings watchSettings, RotationSettings rotation,
            DocumentFileModes fileModes, CaKeySource teeKeys) throws IOException {
        return new ControlPlane(settings, clock, verifiers, meshFile, watchSettings, rotation, fileModes, teeKeys,
                EvidenceBinding.reportData());
    }

    /**
     * The test seam of docs/evidence.md ("Real evidence through the whole plane"): a control plane whose
     * admission applies {@code binding} instead of the report-data binding check, so tests can carry recorded
     * hardware evidence (which cannot bind a fresh nonce) through appraisal, identity, issuance, SDS and
     * ext_authz. Package-private and called only from tests: the public {@code start} overloads, which the
     * Micronaut factory uses, always apply {@link EvidenceBinding#reportData()}, and no setting reaches this.
     */
    static ControlPlane startWithEvidenceBinding(ControlPlaneSettings settings, Clock clock,
            EvidenceVerifiers verifiers, EvidenceBinding binding) throws IOException {
        return new ControlPlane(settings, clock, verifiers, Optional.empty(), RegistryWatchSettings.refuseAll(),
                RotationSettings.DEFAULTS, DocumentFileModes.SEED, CaKeySource.none(), binding);
    }

    /** The binding check this control plane's admission applies (tests assert production wiring with it). */
    EvidenceBinding evidenceBinding() {
        return binding;
    }

    /**
     * The TLS server context, built once: the key manager presents the current serving certificate and the
     * trust manager follows the current trust bundle, so renewals and rotations need no new context.
     */
    private SslContext serverTls() throws IOException {
        return GrpcSslContexts.configure(SslContextBuilder.forServer(serving.keyManager()))
                .trustManager(new TrustBundleTrustManager(ca::trustBundle))
                .clientAuth(ClientAuth.OPTIONAL) // the attestation service serves nodes that have no certificate yet
                .build();
    }

    /** Logged at start in dev mode. */
    static final String DEV_MODE_BANNER = """

            ************************************************************************
            *  DEV MODE: the simulated TEE is accepted and ext_authz admits its    *
            *  nodes. Its signing key is public, so a 'sim' policy proves nothing. *
            *  Never run production with --dev.                                    *
            ************************************************************************""";

    private void warnAboutSimulator() {
        for (Policy p : policies.all()) {
            if (p.tees().contains(TeeType.SIM)) {
                LOG.warn("policy '{}' accepts the SIMULATED TEE: nodes satisfying it prove nothing. "
                        + "Never use it outside development.", p.id());
            }
        }
    }

    public int grpcPort() {
        return server.getPort();
    }

    public Path caBundleFile() {
        return settings.dataDir().resolve(CA_BUNDLE_FILE);
    }

    /**
     * Asks the collateral caches (Intel TCB Info, QE Identity, CRLs; AMD CRLs; the SNP current TCB file)
     * to fetch what they hold again; changed items re-judge the affected nodes asynchronously. Run every
     * {@link #COLLATERAL_REFRESH_INTERVAL}; public for operators' tooling and tests.
     */
    public void refreshCollateral() {
        try {
            activeVerifiers.collateralChanges().refresh();
        } catch (RuntimeException e) {
            LOG.warn("refreshing collateral failed: {}", e.toString());
        }
    }

    public NodeRegistry registry() {
        return registry;
    }

    public PolicyRegistry policies() {
        return policies;
    }

    /** The versioned registrations: which SPIFFE IDs attested nodes may earn. */
    public RegistrationRegistry registrations() {
        return registrations;
    }

    /** The versioned mesh config (services, ingress and egress ports). */
    public MeshConfigRegistry mesh() {
        return mesh;
    }

    public IssuanceLog issuanceLog() {
        return issuanceLog;
    }

    public AttestationMetrics metrics() {
        return metrics;
    }

    /** The last attestations refused, with their reasons (web console overview). */
    public dev.attestmesh.server.attest.RecentRefusals recentRefusals() {
        return refusals;
    }

    public XdsStreamStats xdsStreams() {
        return streamStats;
    }

    /** xDS sync state per node and type URL. */
    public XdsSyncTracker xdsSync() {
        return syncTracker;
    }

    /** What builds the nodes' xDS snapshots (for how many it built: tests and the xDS harness). */
    public SnapshotPublisher snapshotPublisher() {
        return publisher;
    }

    /** The xDS cache holding every node's current snapshot (for config dumps). */
    public SimpleCache<String> xdsCache() {
        return xdsCache;
    }

    /** Change notification between replicas sharing the store (in-process for the embedded store). */
    public ChangeNotifier changes() {
        return changes;
    }

    /** The registry watch serving standalone ext_authz replicas. */
    public RegistryWatchService registryWatch() {
        return registryWatch;
    }

    /** The attestation nonces outstanding (shared by the replicas on PostgreSQL). */
    public NonceStore nonces() {
        return nonces;
    }

    public AuthzDecider authzDecider() {
        return decider;
    }

    public List<X509Certificate> trustBundle() {
        return ca.trustBundle();
    }

    /** The current mesh CA (root and issuing intermediate; private keys stay inside it). */
    public MeshCa meshCa() {
        return ca.ca();
    }

    /** The settings this control plane was started with. */
    public ControlPlaneSettings settings() {
        return settings;
    }

    /** The relational store (for the admin API's own tables). */
    /** The key that signs EAR tokens, the same on every replica of this store. */
    public EarSigningKey earSigningKey() {
        return earSigningKey;
    }

    public Database database() {
        return db;
    }

    /** Revocation rules in force; also consulted by every attestation. */
    public Revocations revocations() {
        return revocations;
    }

    /** The operator secrets (write-only values; metadata readable). */
    public Secrets secrets() {
        return secrets;
    }

    /** The HPKE sealing keys of policies with {@code sealing: true}. */
    public SealingKeys sealingKeys() {
        return sealingKeys;
    }

    /** Prometheus metrics of this control plane. */
    public MeshMetrics meshMetrics() {
        return meshMetrics;
    }

    /**
     * Rotates the issuing intermediate: generates a new one under the same root, keeps the current one
     * in the trust bundle for {@code overlap} (so certificates it issued keep verifying until nodes
     * renew), seals and stores the CA, switches issuance to it, renews the serving certificate, rewrites
     * {@code ca-bundle.pem} and republishes every node's snapshot with the new trust bundle. Runs under the
     * store's CA lock from the CA as stored ({@link CaRotation}), so it never races another replica's rotation.
     *
     * @return the new CA
     */
    public synchronized MeshCa rotateIntermediate(Duration overlap) throws IOException {
        return caRotation.rotateNow(overlap); // under the store's CA lock; renews the serving certificate too
    }

    /** The control plane's gRPC serving certificate, renewed while running. */
    public ServingCertificate servingCertificate() {
        return serving;
    }

    /** Scheduled and requested rotation of the issuing intermediate, shared with the other replicas. */
    public CaRotation caRotation() {
        return caRotation;
    }

    /**
     * Serves {@code service} on the gRPC port from now on (for services built after the control plane, such as the
     * relying parties' MeshStatementService).
     */
    public void addGrpcService(io.grpc.ServerServiceDefinition service) {
        laterServices.addService(MalformedRequests.asInvalidArgument(service));
    }

    /** What seals the mesh CA at rest: the manifest's {@code caKeySealing} (docs/relying-party.md). */
    public String caKeySealing() {
        return caSealer.description();
    }

    /** Closes as {@link #shutdown(Duration)} does, with {@link #DEFAULT_SHUTDOWN_GRACE}. */
    @Override
    public void close() {
        shutdown(DEFAULT_SHUTDOWN_GRACE);
    }

    /**
     * Stops the control plane in the one order that loses nothing; a second call does nothing.
     * <ol>
     *   <li>stop accepting: the gRPC port closes and existing connections take no new calls (clients get
     *       {@code UNAVAILABLE} and retry elsewhere);</li>
     *   <li>let in-flight calls finish (attestations, renewals, {@code Check}) for at most {@code grace}; any still
     *       running then are answered {@code UNAVAILABLE}, which agents retry;</li>
     *   <li>end the registry-watch streams and every ADS/SDS stream with {@code UNAVAILABLE}, so Envoys and
     *       authz replicas reconnect to another replica; then cut whatever gRPC still holds;</li>
     *   <li>stop the background work (registry-watch thread, change listener);</li>
     *   <li>close the store: the embedded H2 file is closed cleanly, the PostgreSQL pool is closed.</li>
     * </ol>
     * The Micronaut bean's {@code preDestroy} and {@code attestmesh server}'s shutdown both come here.
     *
     * @param grace how long in-flight calls may take; zero ends them at once
     */
    public synchronized void shutdown(Duration grace) {
        if (closed) {
            return;
        }
        closed = true;
        collateralRefresh.shutdownNow();
        long started = System.nanoTime();
        boolean interrupted = false;
        server.shutdown();
        boolean drained;
        try {
            drained = calls.awaitInFlight(grace);
        } catch (InterruptedException e) {
            interrupted = true;
            drained = false;
        }
        try {
            int cut = drained ? 0 : calls.endInFlight(Status.UNAVAILABLE.withDescription(
                    "control plane is shutting down; retry with another replica"));
            registryWatch.close();
            int ended = calls.closeStreams(Status.UNAVAILABLE.withDescription(
                    "control plane is shutting down; reconnect to another replica"));
            interrupted |= awaitTransports();
            LOG.info("gRPC stopped: {}; {} stream(s) ended with UNAVAILABLE", drained ? "every in-flight call finished"
                    : cut + " in-flight call(s) ended with UNAVAILABLE after the " + grace.toMillis() + " ms grace",
                    ended);
        } finally {
            try {
                meshMetrics.close();
                rotationSchedule.close();
                settings.trustee().close(); // the AS gRPC channels: calls have ended above
                nonces.close();
                changes.close();
            } finally {
                db.close();
                LOG.info("store closed ({}); control plane stopped in {} ms", db.description(),
                        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Waits for gRPC to close its transports, cutting them if they take too long; true if interrupted. */
    private boolean awaitTransports() {
        try {
            if (!server.awaitTermination(TRANSPORT_CLOSE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                server.shutdownNow();
                server.awaitTermination(TRANSPORT_CLOSE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            }
            return false;
        } catch (InterruptedException e) {
            server.shutdownNow();
            return true;
        }
    }
}
