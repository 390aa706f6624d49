package dev.attestmesh.server.ca;

import dev.attestmesh.ca.CaVault;
import dev.attestmesh.ca.CaVaultException;
import dev.attestmesh.ca.MeshCa;
import dev.attestmesh.ca.TeeSealingKey;
import dev.attestmesh.server.secrets.SecretStoreException;
import dev.attestmesh.server.secrets.SecretVault;
import dev.attestmesh.server.store.Database;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * Re-seals everything the operator's CA encryption key protects under a new key, offline (docs/operations/ca.md,
 * "Change the CA encryption key"): the mesh CA ({@code ca_material}), every stored secret version
 * ({@code secret_versions}), every policy sealing key ({@code sealing_keys}) and the EAR signing key
 * ({@code ear_signing_keys}), all in one transaction. Every
 * item is opened with the old key before anything is written; a wrong old key, an item that does not open, or a
 * storage error at any row rolls the whole transaction back, so the store is either entirely under the old key or
 * entirely under the new one. A CA sealed to a TEE is refused: its key is the TEE's, not the operator's.
 *
 * <p>It must run with every control plane on the store stopped: a running one keeps the old key in memory and
 * would seal new secrets and rotated intermediates under it. The caller checks that (H2's file lock;
 * {@link dev.attestmesh.server.store.ReplicaSessions} on PostgreSQL); the transaction also takes the store locks
 * {@code ca} and {@code secrets}, which every writer of these tables takes.
 */
public final class CaRekey {
    /** What was re-sealed. Holds no key material. */
    public record Result(String trustDomain, String rootSha256, int secretVersions, int sealingKeys, int earSigningKeys) {}

    /** The rekey was refused or failed; nothing was changed. The message names the item, never a key. */
    public static final class RekeyException extends RuntimeException {
        public RekeyException(String message) {
            super(message);
        }

        public RekeyException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private CaRekey() {}

    /**
     * Re-seals the store's CA, secret versions and sealing keys from {@code oldKey} to {@code newKey} in one
     * transaction. The keys are not wiped here.
     *
     * @throws RekeyException when the store holds no CA, the CA is sealed to a TEE, the old key does not open it or
     *     any item, or the new key equals the old one; nothing was changed
     * @throws dev.attestmesh.server.store.StoreException when the store fails; nothing was changed
     */
    public static Result rekey(Database db, char[] oldKey, char[] newKey, Clock clock) {
        CaEncryptionKey.requireStrongEnoughToSealUnder(newKey, "the new CA encryption key");
        if (Arrays.equals(oldKey, newKey)) {
            throw new RekeyException("the new CA encryption key is the old one: nothing to do");
        }
        SecretVault oldVault = SecretVault.fromCaKey(oldKey);
        SecretVault newVault = SecretVault.fromCaKey(newKey);
        return db.inTransaction(c -> {
            lock(c, Database.LOCK_CA);
            lock(c, Database.LOCK_SECRETS);
            MeshCa ca = openCa(c, oldKey, clock);
            byte[] resealed = CaVault.seal(ca, newKey);
            try {
                CaVault.unseal(resealed, newKey, clock); // the new file opens before it replaces the old one
            } catch (CaVaultException e) {
                throw new RekeyException("the CA re-sealed under the new key does not open: " + e.getMessage(), e);
            }
            try (PreparedStatement ps = c.prepareStatement(
                    "UPDATE ca_material SET sealed = ?, updated_at = ? WHERE id = 'mesh'")) {
                ps.setBytes(1, resealed);
                ps.setTimestamp(2, Timestamp.from(clock.instant()));
                requireOneRow(ps.executeUpdate(), "ca_material 'mesh'");
            }
            int versions = resealSecretVersions(c, oldVault, newVault);
            int sealingKeys = resealSealingKeys(c, oldVault, newVault);
            int earKeys = resealEarSigningKeys(c, oldVault, newVault);
            return new Result(ca.trustDomain(), sha256(ca), versions, sealingKeys, earKeys);
        });
    }

    private static MeshCa openCa(Connection c, char[] oldKey, Clock clock) throws SQLException {
        byte[] sealed;
        try (PreparedStatement ps = c.prepareStatement("SELECT sealed FROM ca_material WHERE id = 'mesh' FOR UPDATE");
                ResultSet rs = ps.executeQuery()) {
            if (!rs.next()) {
                throw new RekeyException("this store holds no mesh CA (table ca_material is empty): nothing is sealed "
                        + "under a CA encryption key yet; start the control plane once with the key you want instead");
            }
            sealed = rs.getBytes(1);
        }
        Optional<TeeSealingKey.Source> tee;
        try {
            tee = CaVault.teeSource(sealed);
        } catch (CaVaultException e) {
            throw new RekeyException("the stored mesh CA is unreadable: " + e.getMessage(), e);
        }
        if (tee.isPresent()) {
            throw new RekeyException("the stored mesh CA is sealed to the TEE's " + tee.get().wireName()
                    + " (attestmesh.ca-sealing=auto), not under an operator CA encryption key: there is no operator "
                    + "key to change. ca rekey applies only to a CA whose manifest says caKeySealing: operator-key");
        }
        try {
            return CaVault.unseal(sealed, oldKey, clock);
        } catch (CaVaultException e) {
            throw new RekeyException("the old CA encryption key does not open the stored mesh CA (" + e.getMessage()
                    + "): give the key the control plane runs with (--old-key-file, ATTESTMESH_CA_KEY, "
                    + "attestmesh.ca-key-file or <data-dir>/ca-encryption.key); nothing was changed", e);
        }
    }

    private record Sealed(String name, long version, byte[] sealed) {}

    private static int resealSecretVersions(Connection c, SecretVault oldVault, SecretVault newVault)
            throws SQLException {
        List<Sealed> rows = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT name, version, sealed FROM secret_versions ORDER BY name, version FOR UPDATE");
                ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                rows.add(new Sealed(rs.getString(1), rs.getLong(2), rs.getBytes(3)));
            }
        }
        try (PreparedStatement ps = c.prepareStatement(
                "UPDATE secret_versions SET sealed = ? WHERE name = ? AND version = ?")) {
            for (Sealed row : rows) {
                ps.setBytes(1, reseal(row.name(), row.version(), row.sealed(), "secret '" + row.name() + "' v"
                        + row.version(), oldVault, newVault));
                ps.setString(2, row.name());
                ps.setLong(3, row.version());
                requireOneRow(ps.executeUpdate(), "secret_versions '" + row.name() + "' v" + row.version());
            }
        }
        return rows.size();
    }

    private static int resealSealingKeys(Connection c, SecretVault oldVault, SecretVault newVault)
            throws SQLException {
        List<Sealed> rows = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT key_id, sealed_private FROM sealing_keys ORDER BY key_id FOR UPDATE");
                ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                rows.add(new Sealed(rs.getString(1), 1, rs.getBytes(2)));
            }
        }
        try (PreparedStatement ps = c.prepareStatement("UPDATE sealing_keys SET sealed_private = ? WHERE key_id = ?")) {
            for (Sealed row : rows) {
                // SealingKeys stores each private key as version 1 of the vault name "sealing:<keyId>".
                ps.setBytes(1, reseal("sealing:" + row.name(), 1, row.sealed(), "sealing key '" + row.name() + "'",
                        oldVault, newVault));
                ps.setString(2, row.name());
                requireOneRow(ps.executeUpdate(), "sealing_keys '" + row.name() + "'");
            }
        }
        return rows.size();
    }

    /** The EAR signing key (docs/trustee.md) is sealed by the same vault, as version 1 of "ear-signing-key:<kid>". */
    private static int resealEarSigningKeys(Connection c, SecretVault oldVault, SecretVault newVault)
            throws SQLException {
        record EarRow(String slot, String kid, byte[] sealed) {}
        List<EarRow> rows = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT slot, kid, sealed FROM ear_signing_keys ORDER BY slot FOR UPDATE");
                ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                rows.add(new EarRow(rs.getString(1), rs.getString(2), rs.getBytes(3)));
            }
        }
        try (PreparedStatement ps = c.prepareStatement("UPDATE ear_signing_keys SET sealed = ? WHERE slot = ?")) {
            for (EarRow row : rows) {
                ps.setBytes(1, reseal("ear-signing-key:" + row.kid(), 1, row.sealed(), "EAR signing key '" + row.kid()
                        + "'", oldVault, newVault));
                ps.setString(2, row.slot());
                requireOneRow(ps.executeUpdate(), "ear_signing_keys '" + row.slot() + "'");
            }
        }
        return rows.size();
    }

    private static byte[] reseal(String name, long version, byte[] sealed, String what, SecretVault oldVault,
            SecretVault newVault) {
        byte[] plain;
        try {
            plain = oldVault.open(name, version, sealed);
        } catch (SecretStoreException e) {
            throw new RekeyException(what + " does not open under the old CA encryption key (" + e.getMessage()
                    + "); nothing was changed. Delete or restore that item first, then run ca rekey again", e);
        }
        try {
            return newVault.seal(name, version, plain);
        } finally {
            Arrays.fill(plain, (byte) 0);
        }
    }

    private static void lock(Connection c, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT name FROM store_locks WHERE name = ? FOR UPDATE")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new SQLException("store lock '" + name + "' is missing from table store_locks");
                }
            }
        }
    }

    private static void requireOneRow(int updated, String what) throws SQLException {
        if (updated != 1) {
            throw new SQLException(what + ": expected to update 1 row, updated " + updated);
        }
    }

    private static String sha256(MeshCa ca) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(ca.root().getEncoded()));
        } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
            throw new IllegalStateException("cannot hash the root certificate", e);
        }
    }
}
