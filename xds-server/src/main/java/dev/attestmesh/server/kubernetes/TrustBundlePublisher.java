package dev.attestmesh.server.kubernetes;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the mesh trust bundle in a ConfigMap ({@link TrustBundleSettings#configMap()}, key
 * {@value TrustBundleSettings#KEY}) in every namespace matching the label selector, so workloads mount it
 * without a manual copy.
 *
 * <p>How: an informer on the selected namespaces (a namespace labelled later is published at once), an informer
 * on the ConfigMaps this publisher manages (an edit or deletion by someone else is undone), {@link #bundleChanged()}
 * on every CA change (intermediate rotation), and a periodic resync. All writes run on one thread, in order.
 *
 * <p>Guarantees: API errors never stop the control plane: each failed namespace is retried with exponential
 * backoff (1 s doubling to 2 min) and logged; an informer that cannot list or watch keeps retrying. Writes are
 * idempotent (the same bundle gives the same ConfigMap), and a replica holding an older CA never overwrites a
 * newer bundle ({@link TrustBundleConfigMap}). A namespace that loses its label keeps its last ConfigMap (nothing
 * is deleted). API access needs only: namespaces get/list/watch, configmaps get/list/watch/create/update.
 */
public final class TrustBundlePublisher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TrustBundlePublisher.class);
    private static final Duration FIRST_RETRY = Duration.ofSeconds(1);
    private static final Duration MAX_RETRY = Duration.ofMinutes(2);

    private final KubernetesClient client;
    private final TrustBundleSettings settings;
    private final Supplier<TrustBundleConfigMap> bundle;
    private final Clock clock;
    private final Duration firstRetry;
    private final ScheduledExecutorService worker = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "attestmesh-trust-bundle");
        t.setDaemon(true);
        return t;
    });
    private final Map<String, Duration> backoff = new ConcurrentHashMap<>();
    private final AtomicLong writes = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private volatile SharedIndexInformer<Namespace> namespaces;
    private volatile SharedIndexInformer<ConfigMap> configMaps;

    /**
     * @param bundle the current bundle (read at every write, so it always publishes what the CA holds now)
     */
    public TrustBundlePublisher(KubernetesClient client, TrustBundleSettings settings,
            Supplier<TrustBundleConfigMap> bundle, Clock clock) {
        this(client, settings, bundle, clock, FIRST_RETRY);
    }

    /** With a shorter first retry, for tests. */
    TrustBundlePublisher(KubernetesClient client, TrustBundleSettings settings, Supplier<TrustBundleConfigMap> bundle,
            Clock clock, Duration firstRetry) {
        this.client = Objects.requireNonNull(client);
        this.settings = Objects.requireNonNull(settings);
        this.bundle = Objects.requireNonNull(bundle);
        this.clock = Objects.requireNonNull(clock);
        this.firstRetry = firstRetry;
    }

    /** Starts the informers and the resync; returns at once (a cluster that does not answer is retried). */
    public TrustBundlePublisher start() {
        long resyncMillis = settings.resync().toMillis();
        namespaces = client.namespaces().withLabelSelector(settings.namespaceSelector()).runnableInformer(resyncMillis);
        namespaces.exceptionHandler((started, t) -> {
            LOG.warn("trust bundle: cannot list or watch namespaces matching '{}' ({}); retrying",
                    settings.namespaceSelector(), t.toString());
            return true;
        });
        namespaces.addEventHandler(new ResourceEventHandler<>() {
            @Override
            public void onAdd(Namespace ns) {
                submit(ns.getMetadata().getName());
            }

            @Override
            public void onUpdate(Namespace before, Namespace after) {
                submit(after.getMetadata().getName()); // also the periodic resync
            }

            @Override
            public void onDelete(Namespace ns, boolean unknownFinalState) {
                backoff.remove(ns.getMetadata().getName());
            }
        });
        configMaps = client.configMaps().inAnyNamespace()
                .withLabel(TrustBundleConfigMap.MANAGED_BY, TrustBundleConfigMap.MANAGED_BY_VALUE)
                .runnableInformer(0);
        configMaps.exceptionHandler((started, t) -> {
            LOG.warn("trust bundle: cannot list or watch the published ConfigMaps ({}); retrying", t.toString());
            return true;
        });
        configMaps.addEventHandler(new ResourceEventHandler<>() {
            @Override
            public void onAdd(ConfigMap cm) {
                // our own creations; nothing to do
            }

            @Override
            public void onUpdate(ConfigMap before, ConfigMap after) {
                if (settings.configMap().equals(after.getMetadata().getName())) {
                    submit(after.getMetadata().getNamespace());
                }
            }

            @Override
            public void onDelete(ConfigMap cm, boolean unknownFinalState) {
                if (settings.configMap().equals(cm.getMetadata().getName())) {
                    submit(cm.getMetadata().getNamespace());
                }
            }
        });
        namespaces.start();
        configMaps.start();
        LOG.info("trust bundle: publishing ConfigMap {} (key {}) into namespaces matching '{}'", settings.configMap(),
                TrustBundleSettings.KEY, settings.namespaceSelector());
        return this;
    }

    /** The CA's trust bundle changed (rotation): rewrites every selected namespace. */
    public void bundleChanged() {
        SharedIndexInformer<Namespace> ns = namespaces;
        if (ns == null) {
            return;
        }
        for (Namespace n : ns.getStore().list()) {
            submit(n.getMetadata().getName());
        }
    }

    /** ConfigMaps created or rewritten since start. */
    public long writes() {
        return writes.get();
    }

    /** Failed API calls since start (each retried). */
    public long failures() {
        return failures.get();
    }

    private void submit(String namespace) {
        try {
            worker.execute(() -> reconcile(namespace));
        } catch (RejectedExecutionException e) {
            // closing
        }
    }

    private boolean selected(String namespace) {
        SharedIndexInformer<Namespace> ns = namespaces;
        return ns != null && ns.getStore().getByKey(namespace) != null;
    }

    private void reconcile(String namespace) {
        if (!selected(namespace)) {
            backoff.remove(namespace);
            return;
        }
        TrustBundleConfigMap desired = bundle.get();
        String name = settings.configMap();
        try {
            ConfigMap existing = client.configMaps().inNamespace(namespace).withName(name).get();
            if (existing == null) {
                client.configMaps().inNamespace(namespace).resource(desired.desired(namespace, name)).create();
                writes.incrementAndGet();
                LOG.info("trust bundle: created ConfigMap {}/{} (generation {})", namespace, name, desired.generation());
            } else {
                switch (desired.compare(existing, clock.instant())) {
                    case NONE -> { }
                    case NEWER_ELSEWHERE -> LOG.debug("trust bundle: ConfigMap {}/{} holds a newer bundle than this "
                            + "replica's CA; left as is", namespace, name);
                    case WRITE -> {
                        client.configMaps().inNamespace(namespace).resource(desired.rewrite(existing)).update();
                        writes.incrementAndGet();
                        LOG.info("trust bundle: rewrote ConfigMap {}/{} (generation {})", namespace, name,
                                desired.generation());
                    }
                }
            }
            backoff.remove(namespace);
        } catch (KubernetesClientException e) {
            failures.incrementAndGet();
            // 409: another replica wrote in between; look again soon. Anything else: back off.
            Duration delay = e.getCode() == 409 ? firstRetry
                    : backoff.merge(namespace, firstRetry, (old, first) -> min(old.multipliedBy(2), MAX_RETRY));
            LOG.warn("trust bundle: cannot write ConfigMap {}/{} (HTTP {}: {}); retrying in {} ms", namespace, name,
                    e.getCode(), e.getMessage() == null ? e.toString() : e.getMessage().lines().findFirst().orElse(""),
                    delay.toMillis());
            try {
                worker.schedule(() -> reconcile(namespace), delay.toMillis(), TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException closing) {
                // closing
            }
        } catch (RuntimeException e) {
            failures.incrementAndGet();
            LOG.error("trust bundle: unexpected failure publishing into {}: {}", namespace, e.toString(), e);
        }
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    @Override
    public void close() {
        worker.shutdownNow();
        if (namespaces != null) {
            namespaces.close();
        }
        if (configMaps != null) {
            configMaps.close();
        }
    }
}
