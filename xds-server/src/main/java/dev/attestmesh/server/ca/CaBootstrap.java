package dev.attestmesh.server.ca;

import dev.attestmesh.ca.CaVault;
import dev.attestmesh.ca.CaVaultException;
import dev.attestmesh.ca.MeshCa;
import dev.attestmesh.server.store.CaMaterialStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Base64;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads the mesh CA from the store, or generates it on first start. The CA is stored only sealed with
 * the CA encryption key, which comes from configuration ({@code attestmesh.ca-key} /
 * {@code ATTESTMESH_CA_KEY}) or, when none is given, is generated into {@code <data-dir>/ca-encryption.key}
 * (mode 0600) with a loud warning: a key next to the data it protects only guards against copies of
 * the database alone. A CA sealed before issuance log checkpoints existed gets its checkpoint signing
 * key here, stored with it.
 */
public final class CaBootstrap {
    private static final Logger LOG = LoggerFactory.getLogger(CaBootstrap.class);
    static final String GENERATED_KEY_FILE = "ca-encryption.key";

    private CaBootstrap() {}

    public static MeshCa loadOrCreate(CaMaterialStore store, Path dataDir, Optional<String> configuredKey,
            String trustDomain, Clock clock) throws IOException {
        char[] secret = resolveSecret(dataDir, configuredKey);
        Optional<byte[]> sealed = store.load();
        if (sealed.isPresent()) {
            try {
                MeshCa ca = CaVault.unseal(sealed.get(), secret, clock);
                if (!ca.trustDomain().equals(trustDomain)) {
                    throw new IllegalStateException("the stored CA is for trust domain '" + ca.trustDomain()
                            + "' but the control plane is configured for '" + trustDomain + "'");
                }
                if (ca.checkpointKey().isEmpty()) {
                    // sealed before issuance log checkpoints existed: add their key and store it with the CA
                    ca = ca.withCheckpointKey();
                    store.save(CaVault.seal(ca, secret), clock.instant());
                    LOG.info("added an issuance log checkpoint signing key to the stored mesh CA");
                }
                return ca;
            } catch (CaVaultException e) {
                throw new IllegalStateException("cannot open the stored mesh CA: " + e.getMessage()
                        + " (check ATTESTMESH_CA_KEY / attestmesh.ca-key)", e);
            }
        }
        MeshCa ca = MeshCa.generate(trustDomain, clock);
        store.save(CaVault.seal(ca, secret), clock.instant());
        LOG.info("generated a new mesh CA for trust domain '{}' (root expires {})", trustDomain,
                ca.root().getNotAfter().toInstant());
        return ca;
    }

    /**
     * The secret that seals the CA: the configured one, or the one generated into the data directory at
     * first start (read, never created, here).
     */
    public static char[] sealingSecret(Path dataDir, Optional<String> configured) throws IOException {
        if (configured.isPresent() && !configured.get().isBlank()) {
            return configured.get().toCharArray();
        }
        return Files.readString(dataDir.resolve(GENERATED_KEY_FILE), StandardCharsets.US_ASCII).trim().toCharArray();
    }

    private static char[] resolveSecret(Path dataDir, Optional<String> configured) throws IOException {
        if (configured.isPresent() && !configured.get().isBlank()) {
            return configured.get().toCharArray();
        }
        Path file = dataDir.resolve(GENERATED_KEY_FILE);
        if (!Files.exists(file)) {
            byte[] key = new byte[32];
            new SecureRandom().nextBytes(key);
            try {
                Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            } catch (FileAlreadyExistsException e) {
                // created concurrently; read it below
            }
            Files.writeString(file, Base64.getEncoder().encodeToString(key), StandardCharsets.US_ASCII);
        }
        LOG.warn("""
                
                ************************************************************************
                * WARNING: no CA encryption key was configured (ATTESTMESH_CA_KEY).     *
                * The mesh CA is encrypted with a key stored next to it in             *
                *   {}
                * Anyone who can read the data directory can read the CA. Set          *
                * ATTESTMESH_CA_KEY from a secret store for any real deployment.       *
                ************************************************************************""", file);
        return Files.readString(file, StandardCharsets.US_ASCII).trim().toCharArray();
    }
}
