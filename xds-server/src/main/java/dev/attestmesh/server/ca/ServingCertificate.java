package dev.attestmesh.server.ca;

import dev.attestmesh.ca.MeshCa;
import dev.attestmesh.ca.ServerCertificateIssuer;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control plane's own gRPC serving certificate (reserved SPIFFE ID {@code .../attestmesh/control-plane},
 * see {@link ServerCertificateIssuer}), renewed while the process runs.
 *
 * <p>Why: the certificate is short-lived compared with a control plane's uptime, and must always chain to
 * an intermediate the mesh trusts. The TLS server is built once over {@link #keyManager()}, which reads
 * the current key and chain atomically at every handshake: a renewal is seen by the next handshake, and
 * connections already open keep the session they negotiated (nothing is dropped, nothing restarts).
 *
 * <p>Guarantees:
 * <ul>
 *   <li>A new key pair (ECDSA P-256) is generated for every certificate; the private key leaves this
 *       object only towards the in-process listeners of {@link #onChange} (the admin API's TLS server,
 *       {@code attestmesh.admin.tls=on}), never to disk or the network.</li>
 *   <li>{@link #renewIfDue()} renews once the certificate is past its renewal point: {@code renewBefore}
 *       before expiry, or the same fraction of its life when the intermediate's expiry cut it short.</li>
 *   <li>{@link #renewIfNotIssuedBy} renews when the issuing intermediate changed (rotation), so the
 *       certificate presented always comes from the current intermediate.</li>
 *   <li>A handshake that chose the previous credential just before a renewal still completes with it.</li>
 *   <li>Each renewal is logged with the subject, serial and notAfter.</li>
 * </ul>
 * Thread-safe. Replicas sharing a store each hold and renew their own certificate.
 */
public final class ServingCertificate {
    private static final Logger LOG = LoggerFactory.getLogger(ServingCertificate.class);
    /** Shortest time a certificate is kept before its renewal. */
    private static final Duration MIN_KEEP = Duration.ofMinutes(1);

    /** One issued certificate with its key; {@code alias} names it to the TLS stack. */
    private record Credential(String alias, PrivateKey key, X509Certificate[] chain, Instant renewAt) {}

    /** The current credential and the one before it (for handshakes in flight across a renewal). */
    private record Credentials(Credential current, Credential previous) {}

    private final Supplier<MeshCa> ca;
    private final String trustDomain;
    private final List<String> names;
    private final Duration ttl;
    private final Duration renewBefore;
    private final Clock clock;
    private final AtomicReference<Credentials> credentials = new AtomicReference<>();
    private final AtomicLong renewals = new AtomicLong();
    private final AtomicLong generation = new AtomicLong();
    private final CurrentKeyManager keyManager = new CurrentKeyManager();
    private final List<BiConsumer<PrivateKey, X509Certificate[]>> listeners = new CopyOnWriteArrayList<>();

    /**
     * Issues the first certificate from the current CA.
     *
     * @param names DNS names and IPs the control plane is reached by (at least one)
     * @throws IllegalArgumentException when the trust domain is not the CA's or {@code names} is empty
     */
    public ServingCertificate(Supplier<MeshCa> ca, String trustDomain, List<String> names, Duration ttl,
            Duration renewBefore, Clock clock) {
        this.ca = Objects.requireNonNull(ca);
        this.trustDomain = Objects.requireNonNull(trustDomain);
        this.names = List.copyOf(names);
        this.ttl = Objects.requireNonNull(ttl);
        this.renewBefore = Objects.requireNonNull(renewBefore);
        this.clock = Objects.requireNonNull(clock);
        if (ttl.toSeconds() <= 0 || renewBefore.isNegative() || renewBefore.compareTo(ttl) >= 0) {
            throw new IllegalArgumentException("serving certificate TTL " + ttl + " must be positive and longer than "
                    + "its renew-before " + renewBefore);
        }
        Credential first = issue();
        credentials.set(new Credentials(first, first));
        log("issued", first);
    }

    /** The key manager the TLS server is built over: it always presents the current certificate. */
    public X509ExtendedKeyManager keyManager() {
        return keyManager;
    }

    /**
     * Calls {@code listener} now with the current key and chain (leaf first), then after every renewal, on
     * the renewing thread. For TLS servers that cannot read a key manager at each handshake and instead
     * rebuild their context (Micronaut's admin listener). A listener that throws is logged and kept.
     */
    public synchronized void onChange(BiConsumer<PrivateKey, X509Certificate[]> listener) {
        Objects.requireNonNull(listener);
        listeners.add(listener);
        Credential c = credentials.get().current();
        listener.accept(c.key(), c.chain().clone());
    }

    /** The certificate presented to new connections. */
    public X509Certificate certificate() {
        return credentials.get().current().chain()[0];
    }

    /** When the current certificate will be renewed (if the process runs until then). */
    public Instant renewAt() {
        return credentials.get().current().renewAt();
    }

    /** Renewals since start (the certificate issued at start not counted). */
    public long renewals() {
        return renewals.get();
    }

    /** Renews when the current certificate is past its renewal point; true when it renewed. */
    public synchronized boolean renewIfDue() {
        Credential c = credentials.get().current();
        if (clock.instant().isBefore(c.renewAt())) {
            return false;
        }
        renew("renewal time " + c.renewAt() + " reached");
        return true;
    }

    /**
     * Renews when the current certificate was not issued by {@code intermediate} (the CA's issuing
     * intermediate changed); true when it renewed.
     */
    public synchronized boolean renewIfNotIssuedBy(X509Certificate intermediate) {
        X509Certificate[] chain = credentials.get().current().chain();
        if (chain.length > 1 && chain[1].equals(intermediate)) {
            return false;
        }
        renew("the issuing intermediate changed to serial " + intermediate.getSerialNumber().toString(16));
        return true;
    }

    /**
     * Registers {@code attestmesh_server_certificate_not_after_seconds} (Unix time at which the presented
     * certificate expires: alert when it comes close, which means renewals fail) and
     * {@code attestmesh_server_certificate_renewals_total}.
     */
    public void registerMetrics(MeterRegistry registry) {
        Gauge.builder("attestmesh.server.certificate.not.after", this,
                        s -> s.certificate().getNotAfter().toInstant().getEpochSecond())
                .baseUnit("seconds")
                .description("Expiry (Unix time) of the control plane's gRPC serving certificate").register(registry);
        FunctionCounter.builder("attestmesh.server.certificate.renewals", renewals, AtomicLong::get)
                .description("Renewals of the control plane's gRPC serving certificate since start").register(registry);
    }

    private void renew(String why) {
        Credential next = issue();
        Credentials before = credentials.get();
        credentials.set(new Credentials(next, before.current()));
        renewals.incrementAndGet();
        log("renewed (" + why + ")", next);
        for (BiConsumer<PrivateKey, X509Certificate[]> l : listeners) {
            try {
                l.accept(next.key(), next.chain().clone());
            } catch (RuntimeException e) {
                LOG.error("a listener of the renewed serving certificate failed: {}", e.toString(), e);
            }
        }
    }

    private Credential issue() {
        KeyPair kp = newKeyPair();
        Instant now = clock.instant();
        MeshCa current = ca.get();
        List<X509Certificate> chain = ServerCertificateIssuer.issue(current, trustDomain, kp.getPublic(), names, ttl,
                clock);
        Instant notAfter = chain.get(0).getNotAfter().toInstant();
        // Renew at the same fraction of the actual life: (ttl - renewBefore) / ttl; a certificate cut short by
        // its intermediate's expiry is renewed early rather than never.
        // Never sooner than a minute from now, so an intermediate about to expire (rotation off) costs at most
        // one renewal a minute.
        long lifeSeconds = Math.max(0, Duration.between(now, notAfter).toSeconds());
        Duration keep = Duration.ofSeconds(Math.max(MIN_KEEP.toSeconds(),
                Math.multiplyExact(lifeSeconds, ttl.minus(renewBefore).toSeconds()) / ttl.toSeconds()));
        return new Credential("attestmesh-serving-" + generation.incrementAndGet(), kp.getPrivate(),
                chain.toArray(X509Certificate[]::new), now.plus(keep));
    }

    private static void log(String what, Credential c) {
        X509Certificate leaf = c.chain()[0];
        LOG.info("control plane serving certificate {}: subject '{}', serial {}, notAfter {}, issued by '{}'; "
                + "next renewal at {}", what, leaf.getSubjectX500Principal().getName(),
                leaf.getSerialNumber().toString(16), leaf.getNotAfter().toInstant(),
                leaf.getIssuerX500Principal().getName(), c.renewAt());
    }

    private static KeyPair newKeyPair() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("P-256 key generation is not available in this JVM", e);
        }
    }

    /**
     * Presents the current credential. Each certificate has its own alias, so a TLS stack that caches key
     * material by alias never serves a stale one; the previous alias stays resolvable for a handshake that
     * picked it just before a renewal.
     */
    private final class CurrentKeyManager extends X509ExtendedKeyManager {
        @Override
        public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
            return alias(keyType);
        }

        @Override
        public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
            return alias(keyType);
        }

        private String alias(String keyType) {
            // The key is EC: offer it for EC key types only ("EC", "EC_EC"), never for RSA ones.
            return keyType == null || keyType.startsWith("EC") ? credentials.get().current().alias() : null;
        }

        @Override
        public X509Certificate[] getCertificateChain(String alias) {
            Credential c = find(alias);
            return c == null ? null : c.chain().clone();
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            Credential c = find(alias);
            return c == null ? null : c.key();
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] issuers) {
            String a = alias(keyType);
            return a == null ? null : new String[] {a};
        }

        @Override
        public String[] getClientAliases(String keyType, Principal[] issuers) {
            return null; // a server identity only: never offered as a client certificate
        }

        @Override
        public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
            return null;
        }

        @Override
        public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
            return null;
        }

        private Credential find(String alias) {
            Credentials c = credentials.get();
            if (c.current().alias().equals(alias)) {
                return c.current();
            }
            return c.previous().alias().equals(alias) ? c.previous() : null;
        }
    }
}
