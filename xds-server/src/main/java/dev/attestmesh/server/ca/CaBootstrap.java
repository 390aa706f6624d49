package dev.attestmesh.server.ca;

import dev.attestmesh.ca.CaVault;
import dev.attestmesh.ca.CaVaultException;
import dev.attestmesh.ca.MeshCa;
import dev.attestmesh.ca.TeeSealingKey;
import dev.attestmesh.quote.device.EvidenceCollectionException;
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
        return open(store, dataDir, configuredKey, trustDomain, clock, CaKeySource.none()).ca();
    }

    /** The CA and what seals it. */
    public record Opened(MeshCa ca, CaSealer sealer) {}

    /**
     * Loads the CA, or generates it on first start, sealing a new CA to the TEE's sealing key when
     * {@code teeKeys} finds one and under the operator key otherwise. A CA already stored stays sealed as
     * it is: one sealed under the operator key (every data directory from before TEE sealing) keeps
     * opening with it, and one sealed to the TEE opens only with the same TEE key.
     *
     * @throws IllegalStateException when the stored CA cannot be opened, saying which key it needs
     */
    public static Opened open(CaMaterialStore store, Path dataDir, Optional<String> configuredKey,
            String trustDomain, Clock clock, CaKeySource teeKeys) throws IOException {
        Optional<TeeSealingKey> teeKey;
        try {
            teeKey = teeKeys.find();
        } catch (EvidenceCollectionException e) {
            throw new IllegalStateException("the TEE offers a sealing key but refused it: " + e.getMessage()
                    + "; set attestmesh.ca-sealing=operator to seal the CA under the operator key instead", e);
        }
        Optional<byte[]> sealed = store.load();
        if (sealed.isPresent()) {
            CaSealer sealer;
            Optional<TeeSealingKey.Source> needs;
            try {
                needs = CaVault.teeSource(sealed.get());
            } catch (CaVaultException e) {
                throw new IllegalStateException("cannot open the stored mesh CA: " + e.getMessage(), e);
            }
            if (needs.isEmpty()) {
                resolveSecret(dataDir, configuredKey); // warns when the operator key is the generated one
                sealer = new CaSealer.OperatorKey(dataDir, configuredKey);
                teeKey.ifPresent(k -> LOG.info("the stored mesh CA is sealed under the operator key; it stays so "
                        + "although this TEE offers a {} (only a new CA is sealed to the TEE)", k.source().wireName()));
            } else if (teeKey.isEmpty() || teeKey.get().source() != needs.get()) {
                throw new IllegalStateException("the stored mesh CA is sealed to a " + needs.get().wireName()
                        + ", which this control plane does not have (found " + teeKey.map(k -> "a " + k.source()
                        .wireName()).orElse("no TEE sealing key") + "): it opens only inside the TEE that sealed it");
            } else {
                sealer = new CaSealer.TeeKey(teeKey.get());
            }
            try {
                MeshCa ca = sealer.unseal(sealed.get(), clock);
                if (!ca.trustDomain().equals(trustDomain)) {
                    throw new IllegalStateException("the stored CA is for trust domain '" + ca.trustDomain()
                            + "' but the control plane is configured for '" + trustDomain + "'");
                }
                if (ca.checkpointKey().isEmpty()) {
                    // sealed before issuance log checkpoints existed: add their key and store it with the CA
                    ca = ca.withCheckpointKey();
                    store.save(sealer.seal(ca), clock.instant());
                    LOG.info("added an issuance log checkpoint signing key to the stored mesh CA");
                }
                return new Opened(ca, sealer);
            } catch (CaVaultException e) {
                throw new IllegalStateException("cannot open the stored mesh CA: " + e.getMessage()
                        + (sealer instanceof CaSealer.OperatorKey ? " (check ATTESTMESH_CA_KEY / attestmesh.ca-key)" : ""), e);
            }
        }
        CaSealer sealer;
        if (teeKey.isPresent()) {
            sealer = new CaSealer.TeeKey(teeKey.get());
        } else {
            resolveSecret(dataDir, configuredKey);
            sealer = new CaSealer.OperatorKey(dataDir, configuredKey);
        }
        MeshCa ca = MeshCa.generate(trustDomain, clock);
        store.save(sealer.seal(ca), clock.instant());
        LOG.info("generated a new mesh CA for trust domain '{}' (root expires {}), sealed with the {}", trustDomain,
                ca.root().getNotAfter().toInstant(), sealer.description());
        return new Opened(ca, sealer);
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
