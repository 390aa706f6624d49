package dev.attestmesh.server.store;

import dev.attestmesh.admission.NonceStore;
import dev.attestmesh.admission.challenge.ChallengeLimits;
import dev.attestmesh.admission.challenge.InMemoryNonceStore;
import dev.attestmesh.identity.KubernetesIdentity;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Nonces in the shared PostgreSQL store (table {@code attestation_nonces}, migration V8), so that replicas
 * behind a load balancer agree: a Challenge answered by one replica is good for an Attest served by
 * another, and a nonce consumed anywhere is gone everywhere. Only the SHA-256 of a nonce is stored.
 *
 * <ul>
 *   <li><b>Single use across replicas</b>: a nonce is consumed by one {@code DELETE ... RETURNING}; of
 *       concurrent consumers on any replicas, exactly one gets the row.</li>
 *   <li><b>Per node id and per peer address caps hold across replicas</b>: issuing takes a transaction-scoped
 *       advisory lock on the node id (and, for anonymous callers, on the peer address), counts, evicts the
 *       node id's oldest beyond {@link ChallengeLimits#perNode()} and inserts. Locks are always taken node
 *       first, then peer, in separate key spaces, so two issues never deadlock.</li>
 *   <li><b>Lane capacities</b> ({@link ChallengeLimits#maxOutstanding()}, {@link ChallengeLimits#renewalReserve()})
 *       are checked against the table's count, refreshed every second, plus what this replica issued and
 *       consumed since: across replicas they may be exceeded by what the others issued within that second.</li>
 *   <li>Expired rows are deleted every {@link #PURGE_EVERY} by every replica (idempotent).</li>
 * </ul>
 * Rate limits stay per replica ({@code ChallengeRateLimiter}). For the embedded H2 store (one process)
 * {@link #forDatabase} returns an {@link InMemoryNonceStore} instead.
 */
public final class JdbcNonceStore implements NonceStore {
    private static final Logger LOG = LoggerFactory.getLogger(JdbcNonceStore.class);
    /** How often expired rows are deleted. */
    static final Duration PURGE_EVERY = Duration.ofSeconds(10);
    /** How often the lane counts are read back from the table. */
    static final Duration COUNT_EVERY = Duration.ofSeconds(1);
    private static final int LOCK_NODE = 0x4e4f4e31; // advisory lock key spaces: node ids, peer addresses
    private static final int LOCK_PEER = 0x4e4f4e32;
    private static final String COLUMNS = "node_id, lane, k8s_namespace, k8s_service_account, k8s_pod_name, "
            + "k8s_pod_uid, expires_at";

    private final SecureRandom random = new SecureRandom();
    private final Database db;
    private final Clock clock;
    private final Duration ttl;
    private final ChallengeLimits limits;
    private final Map<Lane, AtomicLong> counted = new EnumMap<>(Lane.class);
    private final Map<Lane, AtomicLong> sinceCount = new EnumMap<>(Lane.class);
    private final ScheduledExecutorService maintenance;
    private volatile Instant lastPurge = Instant.EPOCH;
    private volatile boolean failing;

    /**
     * The nonce store for {@code db}: this database-backed one for PostgreSQL (several replicas may share
     * it), an {@link InMemoryNonceStore} for H2 (one process).
     */
    public static NonceStore forDatabase(Database db, Clock clock, Duration ttl, ChallengeLimits limits) {
        if (db.vendor() == Database.Vendor.POSTGRESQL) {
            return new JdbcNonceStore(db, clock, ttl, limits, true);
        }
        return new InMemoryNonceStore(clock, ttl, limits);
    }

    /**
     * @param background purge and recount on a daemon thread; tests that drive {@link #maintain()} themselves
     *     pass false
     */
    JdbcNonceStore(Database db, Clock clock, Duration ttl, ChallengeLimits limits, boolean background) {
        if (db.vendor() != Database.Vendor.POSTGRESQL) {
            throw new IllegalArgumentException("the shared nonce store needs PostgreSQL, not " + db.description());
        }
        if (ttl.isNegative() || ttl.isZero()) {
            throw new IllegalArgumentException("nonce TTL must be positive, got " + ttl);
        }
        this.db = db;
        this.clock = clock;
        this.ttl = ttl;
        this.limits = limits;
        for (Lane lane : Lane.values()) {
            counted.put(lane, new AtomicLong());
            sinceCount.put(lane, new AtomicLong());
        }
        refreshCounts();
        if (background) {
            maintenance = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "attestmesh-nonce-maintenance");
                t.setDaemon(true);
                return t;
            });
            maintenance.scheduleWithFixedDelay(this::maintain, COUNT_EVERY.toMillis(), COUNT_EVERY.toMillis(),
                    TimeUnit.MILLISECONDS);
        } else {
            maintenance = null;
        }
    }

    @Override
    public Issued issue(String nodeId, Optional<KubernetesIdentity> kubernetes, Caller caller) {
        Lane lane = caller.lane();
        int capacity = lane == Lane.ANONYMOUS ? limits.maxOutstanding() : limits.renewalReserve();
        byte[] nonce = new byte[32];
        random.nextBytes(nonce);
        String hash = sha256Hex(nonce);
        Instant now = clock.instant();
        Instant expires = now.plus(ttl);
        int evicted = db.inTransaction(c -> {
            lock(c, LOCK_NODE, lane.name() + "/" + nodeId);
            List<String> delete = new ArrayList<>();
            List<NodeRow> live = new ArrayList<>();
            for (NodeRow row : nodeRows(c, nodeId, lane)) {
                if (row.expired()) {
                    delete.add(row.hash()); // goes with this transaction
                } else {
                    live.add(row);
                }
            }
            int evict = Math.max(0, live.size() - limits.perNode() + 1);
            for (int i = 0; i < evict; i++) {
                delete.add(live.get(i).hash());
            }
            if (lane == Lane.ANONYMOUS) {
                lock(c, LOCK_PEER, caller.peer());
                int ofPeer = peerCount(c, caller.peer(), now);
                boolean evictsOwn = false;
                for (int i = 0; i < evict; i++) {
                    evictsOwn |= live.get(i).peer().equals(caller.peer());
                }
                if (ofPeer >= limits.perPeer() && !evictsOwn) {
                    throw InMemoryNonceStore.perPeer(caller.peer(), limits, ttl);
                }
            }
            if (evict == 0 && estimate(lane) >= capacity) {
                throw InMemoryNonceStore.laneFull(lane, limits, ttl);
            }
            insert(c, hash, nodeId, caller, kubernetes, expires, now);
            deleteRows(c, delete);
            return evict;
        });
        sinceCount.get(lane).addAndGet(1 - evicted);
        return new Issued(nonce, expires, nodeId);
    }

    @Override
    public Outcome take(String nodeId, byte[] nonce) {
        if (nonce.length != 32) {
            return Rejection.MALFORMED;
        }
        String hash = sha256Hex(nonce);
        Optional<Taken> taken = db.inTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM attestation_nonces WHERE nonce_sha256 = ? "
                    + "RETURNING " + COLUMNS)) {
                ps.setString(1, hash);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        return Optional.empty();
                    }
                    Optional<KubernetesIdentity> k8s = rs.getString(6).isEmpty() ? Optional.empty()
                            : Optional.of(new KubernetesIdentity(rs.getString(3), rs.getString(4), rs.getString(5),
                                    rs.getString(6)));
                    return Optional.of(new Taken(rs.getString(1), Lane.valueOf(rs.getString(2)), k8s,
                            rs.getObject(7, OffsetDateTime.class).toInstant()));
                }
            }
        });
        if (taken.isEmpty()) {
            return Rejection.UNKNOWN;
        }
        Taken t = taken.get();
        sinceCount.get(t.lane()).decrementAndGet();
        if (clock.instant().isAfter(t.expiresAt())) {
            return Rejection.EXPIRED;
        }
        if (!t.nodeId().equals(nodeId)) {
            return Rejection.OTHER_NODE;
        }
        return new Accepted(t.nodeId(), t.kubernetes());
    }

    private record Taken(String nodeId, Lane lane, Optional<KubernetesIdentity> kubernetes, Instant expiresAt) {}

    /** Exact count of the lane's unexpired rows, across replicas. */
    @Override
    public int outstanding(Lane lane) {
        return (int) countLanes().get(lane).longValue();
    }

    @Override
    public void close() {
        if (maintenance != null) {
            maintenance.shutdownNow();
            try {
                maintenance.awaitTermination(2, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** One maintenance round: recount the lanes; purge expired rows when {@link #PURGE_EVERY} has passed. */
    void maintain() {
        try {
            refreshCounts();
            Instant now = clock.instant();
            if (!now.isBefore(lastPurge.plus(PURGE_EVERY))) {
                int purged = purgeExpired();
                lastPurge = now;
                if (purged > 0) {
                    LOG.debug("purged {} expired attestation nonces", purged);
                }
            }
            if (failing) {
                failing = false;
                LOG.info("nonce store maintenance works again on {}", db.description());
            }
        } catch (RuntimeException e) {
            if (!failing) { // once per outage, not once a second
                failing = true;
                LOG.warn("nonce store maintenance failed on {} (will retry every {} s): {}", db.description(),
                        COUNT_EVERY.toSeconds(), e.getMessage());
            }
        }
    }

    /** Deletes expired rows; returns how many. */
    int purgeExpired() {
        Instant now = clock.instant();
        return db.inTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM attestation_nonces WHERE expires_at < ?")) {
                ps.setObject(1, utc(now));
                return ps.executeUpdate();
            }
        });
    }

    /** Reads the lane counts back; what this replica issued and consumed since then starts again from zero. */
    void refreshCounts() {
        for (Lane lane : Lane.values()) {
            // Reset before counting: an issue racing with the count is then counted twice, never missed.
            sinceCount.get(lane).set(0);
        }
        Map<Lane, Long> now = countLanes();
        now.forEach((lane, n) -> counted.get(lane).set(n));
    }

    private long estimate(Lane lane) {
        return counted.get(lane).get() + sinceCount.get(lane).get();
    }

    private Map<Lane, Long> countLanes() {
        Instant now = clock.instant();
        return db.inTransaction(c -> {
            Map<Lane, Long> n = new EnumMap<>(Lane.class);
            for (Lane lane : Lane.values()) {
                n.put(lane, 0L);
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT lane, count(*) FROM attestation_nonces "
                    + "WHERE expires_at >= ? GROUP BY lane")) {
                ps.setObject(1, utc(now));
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        n.put(Lane.valueOf(rs.getString(1)), rs.getLong(2));
                    }
                }
            }
            return n;
        });
    }

    private record NodeRow(String hash, String peer, boolean expired) {}

    /** The node id's rows in the lane, oldest first. */
    private List<NodeRow> nodeRows(Connection c, String nodeId, Lane lane) throws SQLException {
        Instant now = clock.instant();
        List<NodeRow> rows = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT nonce_sha256, peer, expires_at FROM attestation_nonces "
                + "WHERE node_id = ? AND lane = ? ORDER BY created_at, nonce_sha256")) {
            ps.setString(1, nodeId);
            ps.setString(2, lane.name());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    boolean expired = now.isAfter(rs.getObject(3, OffsetDateTime.class).toInstant());
                    rows.add(new NodeRow(rs.getString(1), rs.getString(2), expired));
                }
            }
        }
        return rows;
    }

    private static int peerCount(Connection c, String peer, Instant now) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM attestation_nonces "
                + "WHERE peer = ? AND lane = ? AND expires_at >= ?")) {
            ps.setString(1, peer);
            ps.setString(2, Lane.ANONYMOUS.name());
            ps.setObject(3, utc(now));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    private static void insert(Connection c, String hash, String nodeId, Caller caller,
            Optional<KubernetesIdentity> k8s, Instant expires, Instant now) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO attestation_nonces (nonce_sha256, node_id, lane, "
                + "peer, k8s_namespace, k8s_service_account, k8s_pod_name, k8s_pod_uid, expires_at, created_at) "
                + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
            ps.setString(1, hash);
            ps.setString(2, nodeId);
            ps.setString(3, caller.lane().name());
            ps.setString(4, caller.peer());
            ps.setString(5, k8s.map(KubernetesIdentity::namespace).orElse(""));
            ps.setString(6, k8s.map(KubernetesIdentity::serviceAccount).orElse(""));
            ps.setString(7, k8s.map(KubernetesIdentity::podName).orElse(""));
            ps.setString(8, k8s.map(KubernetesIdentity::podUid).orElse(""));
            ps.setObject(9, utc(expires));
            ps.setObject(10, utc(now));
            ps.executeUpdate();
        }
    }

    private static void deleteRows(Connection c, List<String> hashes) throws SQLException {
        if (hashes.isEmpty()) {
            return;
        }
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM attestation_nonces WHERE nonce_sha256 = ?")) {
            for (String h : hashes) {
                ps.setString(1, h);
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    /** A transaction-scoped advisory lock: released at commit or rollback, on whichever replica holds it. */
    private static void lock(Connection c, int space, String key) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_advisory_xact_lock(?, hashtext(?))")) {
            ps.setInt(1, space);
            ps.setString(2, key);
            ps.executeQuery().close();
        }
    }

    private static OffsetDateTime utc(Instant i) {
        return OffsetDateTime.ofInstant(i, ZoneOffset.UTC);
    }

    static String sha256Hex(byte[] nonce) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(nonce));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is unavailable", e);
        }
    }
}
