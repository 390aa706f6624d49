package dev.attestmesh.server.secrets;

import dev.attestmesh.policy.Policy;
import dev.attestmesh.sealing.SealedFile;
import dev.attestmesh.server.policy.PolicyRegistry;
import dev.attestmesh.server.store.Change;
import dev.attestmesh.server.store.ChangeNotifier;
import dev.attestmesh.server.store.Database;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The HPKE sealing key pairs of policies with {@code sealing: true} (docs/secrets.md, "Sealing to a policy"). Each
 * such policy has one {@code ACTIVE} key (what {@code attestmesh seal} uses), and after rotations {@code PREVIOUS}
 * keys that are still released so older files stay readable, until an operator retires them ({@code RETIRED}: never
 * released again). Private keys are stored sealed by the {@link SecretVault} (name {@code sealing:<keyId>}).
 */
public final class SealingKeys {
    /** Released file names: {@code sealing-<keyId>}; reserved, so no operator secret can take one. */
    public static final String RELEASE_PREFIX = "sealing-";

    /** A key's lifecycle state. */
    public enum State { ACTIVE, PREVIOUS, RETIRED }

    /** One public sealing key, as served at {@code /.well-known/attestmesh/sealing-keys}. */
    public record PublicKey(String policyId, String keyId, String algorithm, byte[] publicKey, State state) {}

    private final Database db;
    private final SecretVault vault;
    private final PolicyRegistry policies;
    private final ChangeNotifier changes;
    private final Clock clock;
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    /** The rows, read once per change (snapshots are rebuilt per node); null until read or after a change. */
    private volatile List<Row> cache;
    /** Bumped by every change, so a read that overlapped a change is never cached. */
    private final java.util.concurrent.atomic.AtomicLong generation = new java.util.concurrent.atomic.AtomicLong();

    public SealingKeys(Database db, SecretVault vault, PolicyRegistry policies, ChangeNotifier changes, Clock clock) {
        this.db = db;
        this.vault = vault;
        this.policies = policies;
        this.changes = changes;
        this.clock = clock;
    }

    /** Runs {@code r} after a key was created, rotated or retired. */
    public void addChangeListener(Runnable r) {
        listeners.add(r);
    }

    /** Gives every sealing policy without an active key one (at start and after each policy change). */
    public void ensureKeys() {
        boolean created = false;
        for (Policy p : policies.all()) {
            if (p.sealing()) {
                created |= db.lockInTransaction(Database.LOCK_SECRETS, c -> {
                    if (active(c, p.id()).isPresent()) {
                        return false;
                    }
                    insert(c, p.id());
                    return true;
                });
            }
        }
        if (created) {
            changed();
        }
    }

    /**
     * Makes a new active key for {@code policyId}; the active one becomes {@code PREVIOUS} and stays released.
     *
     * @return the new key's id
     * @throws IllegalArgumentException when the policy does not exist or has no {@code sealing: true}
     */
    public String rotate(String policyId) {
        Policy p = policies.get(policyId).orElseThrow(() -> new IllegalArgumentException("no policy '"
                + SecretLimits.printable(policyId) + "'"));
        if (!p.sealing()) {
            throw new IllegalArgumentException("policy '" + policyId + "' has no sealing key (set sealing: true)");
        }
        String id = db.lockInTransaction(Database.LOCK_SECRETS, c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "UPDATE sealing_keys SET state = 'PREVIOUS' WHERE policy_id = ? AND state = 'ACTIVE'")) {
                ps.setString(1, policyId);
                ps.executeUpdate();
            }
            return insert(c, policyId);
        });
        changed();
        return id;
    }

    /**
     * Retires a {@code PREVIOUS} key: it is no longer released, so files sealed to it no longer open on nodes.
     *
     * @throws IllegalArgumentException when the key is unknown, of another policy, or the active key
     */
    public void retire(String policyId, String keyId) {
        boolean done = db.lockInTransaction(Database.LOCK_SECRETS, c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE sealing_keys SET state = 'RETIRED' "
                    + "WHERE policy_id = ? AND key_id = ? AND state = 'PREVIOUS'")) {
                ps.setString(1, policyId);
                ps.setString(2, keyId);
                return ps.executeUpdate() == 1;
            }
        });
        if (!done) {
            throw new IllegalArgumentException("policy '" + SecretLimits.printable(policyId) + "' has no previous key '"
                    + SecretLimits.printable(keyId) + "' (the active key cannot be retired: rotate first)");
        }
        changed();
    }

    /** Every unretired public key of every policy that has {@code sealing: true} now. */
    public List<PublicKey> publicKeys() {
        List<PublicKey> out = new ArrayList<>();
        for (Row r : rows()) {
            if (r.state() != State.RETIRED && sealingPolicy(r.policyId())) {
                out.add(new PublicKey(r.policyId(), r.keyId(), SealedFile.SUITE, r.publicKey(), r.state()));
            }
        }
        return out;
    }

    /** The unretired key pairs ({@code private || public}) of {@code policyId}, for {@link SecretReleases} only. */
    List<SecretReleases.Released> releasableKeys(String policyId) {
        if (!sealingPolicy(policyId)) {
            return List.of();
        }
        List<SecretReleases.Released> out = new ArrayList<>();
        for (Row r : rows()) {
            if (r.policyId().equals(policyId) && r.state() != State.RETIRED) {
                out.add(new SecretReleases.Released(RELEASE_PREFIX + r.keyId(), 1,
                        vault.open("sealing:" + r.keyId(), 1, r.sealedPrivate())));
            }
        }
        return out;
    }

    private boolean sealingPolicy(String id) {
        return policies.get(id).map(Policy::sealing).orElse(false);
    }

    private record Row(String keyId, String policyId, byte[] publicKey, byte[] sealedPrivate, State state) {}

    /** Forgets the cached keys after another replica changed them. */
    public void changedElsewhere() {
        invalidate();
        listeners.forEach(Runnable::run);
    }

    private List<Row> rows() {
        List<Row> cached = cache;
        if (cached != null) {
            return cached;
        }
        long g = generation.get();
        List<Row> read = readRows();
        synchronized (this) {
            if (generation.get() == g) {
                cache = read;
            }
        }
        return read;
    }

    private List<Row> readRows() {
        return db.inTransaction(c -> {
            List<Row> out = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT key_id, policy_id, public_key, sealed_private, state "
                    + "FROM sealing_keys ORDER BY policy_id, created_at, key_id");
                    ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new Row(rs.getString(1), rs.getString(2), rs.getBytes(3), rs.getBytes(4),
                            State.valueOf(rs.getString(5))));
                }
            }
            return out;
        });
    }

    private static Optional<String> active(Connection c, String policyId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT key_id FROM sealing_keys WHERE policy_id = ? AND state = 'ACTIVE'")) {
            ps.setString(1, policyId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(rs.getString(1)) : Optional.empty();
            }
        }
    }

    private String insert(Connection c, String policyId) throws SQLException {
        byte[] pair = SealedFile.generateKeyPair();
        try {
            byte[] pub = SealedFile.publicKeyOf(pair);
            String keyId = SealedFile.keyId(pub);
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO sealing_keys (key_id, policy_id, public_key, "
                    + "sealed_private, state, created_at) VALUES (?, ?, ?, ?, 'ACTIVE', ?)")) {
                ps.setString(1, keyId);
                ps.setString(2, policyId);
                ps.setBytes(3, pub);
                ps.setBytes(4, vault.seal("sealing:" + keyId, 1, pair));
                ps.setTimestamp(5, Timestamp.from(clock.instant()));
                ps.executeUpdate();
            }
            return keyId;
        } finally {
            Arrays.fill(pair, (byte) 0);
        }
    }

    private synchronized void invalidate() {
        generation.incrementAndGet();
        cache = null;
    }

    private void changed() {
        invalidate();
        changes.publish(Change.Topic.SECRETS);
        listeners.forEach(Runnable::run);
    }
}
