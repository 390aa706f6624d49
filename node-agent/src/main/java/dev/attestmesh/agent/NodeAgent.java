package dev.attestmesh.agent;

import dev.attestmesh.ca.Pem;
import dev.attestmesh.quote.device.EvidenceCollector;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node agent: holds the node key, attests, writes the credential files, and renews at the time
 * the control plane names (half the certificate lifetime) with a fresh nonce and fresh evidence.
 *
 * <p>Transient failures (control plane unreachable) are retried with exponential backoff while the
 * current certificate keeps being served; a refusal (policy no longer satisfied, revoked) withdraws
 * the identity: the files are kept for diagnosis but the state becomes {@link AgentState#REFUSED}.
 */
public final class NodeAgent implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(NodeAgent.class);
    private static final Duration MIN_BACKOFF = Duration.ofSeconds(1);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(60);

    /**
     * Agent settings.
     *
     * @param nodeId this node's id; may be empty only with a token file: the control plane then binds
     *     the node to the token's pod UID
     * @param controlPlane the control plane's gRPC address
     * @param caBundle roots that authenticate the control plane before the first attestation
     * @param outputDir where the key, certificate chain and trust bundle are written
     * @param serviceAccountTokenFile the pod's projected service-account token (audience attestmesh),
     *     re-read for every attestation
     * @param requestedSpiffeId the SPIFFE ID to ask for; empty = the one registration the claims satisfy
     */
    public record Settings(Optional<String> nodeId, String controlPlane, List<X509Certificate> caBundle,
            Path outputDir, Optional<Path> serviceAccountTokenFile, Optional<String> requestedSpiffeId) {
        public Settings {
            Objects.requireNonNull(nodeId, "nodeId");
            Objects.requireNonNull(controlPlane, "controlPlane");
            caBundle = List.copyOf(caBundle);
            Objects.requireNonNull(outputDir, "outputDir");
            Objects.requireNonNull(serviceAccountTokenFile, "serviceAccountTokenFile");
            Objects.requireNonNull(requestedSpiffeId, "requestedSpiffeId");
            if (nodeId.isEmpty() && serviceAccountTokenFile.isEmpty()) {
                throw new IllegalArgumentException("a node id is required unless a service-account token file is "
                        + "given (the node id is then the pod UID)");
            }
        }

        /** Settings for a node with a fixed id. */
        public Settings(String nodeId, String controlPlane, List<X509Certificate> caBundle, Path outputDir,
                Optional<Path> serviceAccountTokenFile, Optional<String> requestedSpiffeId) {
            this(Optional.of(nodeId), controlPlane, caBundle, outputDir, serviceAccountTokenFile, requestedSpiffeId);
        }
    }

    private final Settings settings;
    private final NodeKeyPair key;
    private final Attestor attestor;
    private final CredentialFiles files;
    private final SecretFiles secretFiles;
    private final Clock clock;
    private final AtomicReference<AgentState> state = new AtomicReference<>(AgentState.STARTING);
    private final AtomicReference<AgentCredentials> current = new AtomicReference<>();
    private final List<Consumer<AgentCredentials>> listeners = new CopyOnWriteArrayList<>();
    private volatile boolean stopped;

    public NodeAgent(Settings settings, EvidenceCollector collector, Clock clock) {
        this(settings, EvidenceSource.of(collector), clock);
    }

    /** As above, with evidence from any {@link EvidenceSource} (e.g. {@code --tee coco}). */
    public NodeAgent(Settings settings, EvidenceSource evidence, Clock clock) {
        this.settings = settings;
        this.key = NodeKeyPair.generate();
        this.attestor = new Attestor(settings.nodeId(), evidence, key, settings.serviceAccountTokenFile(),
                settings.requestedSpiffeId());
        this.files = new CredentialFiles(settings.outputDir());
        this.secretFiles = new SecretFiles(settings.outputDir());
        this.clock = clock;
    }

    public AgentState state() {
        return state.get();
    }

    public Optional<AgentCredentials> credentials() {
        return Optional.ofNullable(current.get());
    }

    public CredentialFiles files() {
        return files;
    }

    /** The operator secrets released to this node, in {@code <output-dir>/secrets/}. */
    public SecretFiles secretFiles() {
        return secretFiles;
    }

    /** Called after every successful (re)attestation, once the files are written. */
    public void onCredentials(Consumer<AgentCredentials> listener) {
        listeners.add(listener);
    }

    /**
     * Serves this node's identity over {@code sds} (Istio's workload socket) from now on: the current
     * credentials at once, and every renewal as a new version.
     */
    public void attachSds(AgentSdsServer sds) {
        onCredentials(c -> sds.update(c, key.privateKeyPem()));
        credentials().ifPresent(c -> sds.update(c, key.privateKeyPem()));
    }

    /** The client identity for ADS/SDS connections, once attested. */
    public Optional<ControlPlaneChannels.ClientIdentity> clientIdentity() {
        return credentials().map(c -> new ControlPlaneChannels.ClientIdentity(key.privateKey(), c.chain()));
    }

    /**
     * Attests once and writes the files.
     *
     * @throws AttestationRefusedException with the control plane's reason
     */
    public AgentCredentials attestOnce() throws AttestationRefusedException {
        AgentCredentials creds;
        ManagedChannel channel = ControlPlaneChannels.open(settings.controlPlane(),
                trustForControlPlane(), clientIdentity());
        try {
            creds = attestor.attest(channel);
        } catch (AttestationRefusedException e) {
            if (!e.retryable()) {
                state.set(AgentState.REFUSED);
                clearSecrets(); // a refused node holds no secret
            }
            throw e;
        } finally {
            channel.shutdownNow();
            awaitQuietly(channel);
        }
        try {
            files.write(key.privateKeyPem(), Pem.certificates(creds.chain()), Pem.certificates(creds.trustBundle()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write credentials to " + files.directory(), e);
        }
        current.set(creds);
        state.set(AgentState.ATTESTED);
        refreshSecrets();
        LOG.info("node {} attested: {} valid until {}, renewal at {}, policies {}", creds.claims().getNodeId(),
                creds.claims().getSpiffeId(), creds.expiresAt(), creds.renewAfter(), creds.claims().getPoliciesList()
                        .stream().map(p -> p.getId() + "@v" + p.getVersion()).toList());
        listeners.forEach(l -> l.accept(creds));
        return creds;
    }

    /**
     * Fetches the secrets released to this node (with its new certificate) and makes {@code secrets/} hold exactly
     * them. A refusal deletes them all; an unreachable control plane leaves them as they are until the next
     * renewal, when the node proves itself again.
     */
    public void refreshSecrets() {
        Optional<ControlPlaneChannels.ClientIdentity> identity = clientIdentity();
        AgentCredentials creds = current.get();
        if (identity.isEmpty() || creds == null) {
            return;
        }
        ManagedChannel channel = ControlPlaneChannels.open(settings.controlPlane(), creds.trustBundle(), identity);
        try {
            java.util.Map<String, byte[]> released = new java.util.TreeMap<>();
            for (var s : dev.attestmesh.api.v1.SecretServiceGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(30, TimeUnit.SECONDS)
                    .fetchSecrets(dev.attestmesh.api.v1.FetchSecretsRequest.newBuilder()
                            .setNodeId(creds.claims().getNodeId()).build()).getSecretsList()) {
                released.put(s.getName(), s.getValue().toByteArray());
            }
            secretFiles.replaceAll(released);
            LOG.info("secrets released to this node: {}", released.keySet());
        } catch (io.grpc.StatusRuntimeException e) {
            io.grpc.Status.Code code = e.getStatus().getCode();
            if (code == io.grpc.Status.Code.PERMISSION_DENIED || code == io.grpc.Status.Code.UNAUTHENTICATED) {
                LOG.warn("secrets refused ({}): deleting every secret file: {}", code, e.getStatus().getDescription());
                clearSecrets();
            } else {
                LOG.warn("cannot fetch secrets now ({}); keeping the current files until the next renewal", code);
            }
        } catch (IOException e) {
            LOG.error("cannot write secrets to {}: {}", secretFiles.directory(), e.getMessage());
        } finally {
            channel.shutdownNow();
            awaitQuietly(channel);
        }
    }

    private void clearSecrets() {
        try {
            secretFiles.clear();
        } catch (IOException e) {
            LOG.error("cannot delete the secret files in {}: {}", secretFiles.directory(), e.getMessage());
        }
    }

    /**
     * Runs until {@link #close()}: attest, sleep until renewal, renew; back off on transient errors.
     * Returns when stopped, or when the control plane refuses the node.
     */
    public void run() throws InterruptedException {
        Duration backoff = MIN_BACKOFF;
        while (!stopped) {
            AgentCredentials creds = current.get();
            if (creds != null) {
                Duration wait = Duration.between(clock.instant(), creds.renewAfter());
                if (!wait.isNegative()) {
                    sleep(wait);
                    if (stopped) {
                        break;
                    }
                }
            }
            try {
                attestOnce();
                backoff = MIN_BACKOFF;
            } catch (AttestationRefusedException e) {
                if (!e.retryable()) {
                    LOG.error("attestation refused, identity withdrawn: {}", e.getMessage());
                    return;
                }
                AgentCredentials held = current.get();
                Instant now = clock.instant();
                if (held != null && now.isAfter(held.expiresAt())) {
                    state.set(AgentState.EXPIRED);
                } else if (held != null) {
                    state.set(AgentState.RETRYING);
                }
                LOG.warn("attestation failed ({}), retrying in {}: {}", e.code(), backoff, e.getMessage());
                sleep(backoff);
                backoff = backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff.multipliedBy(2);
            }
        }
        state.set(AgentState.STOPPED);
    }

    private void sleep(Duration d) throws InterruptedException {
        long until = System.nanoTime() + d.toNanos();
        synchronized (this) {
            while (!stopped) {
                long left = until - System.nanoTime();
                if (left <= 0) {
                    return;
                }
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
        }
    }

    @Override
    public void close() {
        synchronized (this) {
            stopped = true;
            notifyAll();
        }
    }

    private List<X509Certificate> trustForControlPlane() {
        AgentCredentials creds = current.get();
        return creds == null ? settings.caBundle() : creds.trustBundle();
    }

    private static void awaitQuietly(ManagedChannel ch) {
        try {
            ch.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
