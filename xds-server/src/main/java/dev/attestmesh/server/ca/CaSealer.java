package dev.attestmesh.server.ca;

import dev.attestmesh.ca.CaVault;
import dev.attestmesh.ca.CaVaultException;
import dev.attestmesh.ca.MeshCa;
import dev.attestmesh.ca.TeeSealingKey;
import dev.attestmesh.relying.MeshManifest;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Arrays;
import java.util.Optional;

/**
 * What the mesh CA is sealed with at rest: the operator key ({@code ATTESTMESH_CA_KEY}, or the key
 * generated into the data directory), or a key only this TEE can obtain. Each kind seals and opens only
 * its own format (docs/relying-party.md, "Sealing").
 */
public sealed interface CaSealer {
    /** The manifest's {@code caKeySealing} value. */
    String description();

    byte[] seal(MeshCa ca) throws IOException;

    /**
     * @throws CaVaultException when the file is not sealed with this kind of key, or the key does not open it
     */
    MeshCa unseal(byte[] sealed, Clock clock) throws CaVaultException, IOException;

    /** Sealed under the operator secret, read from configuration or the data directory each time it is needed. */
    record OperatorKey(Path dataDir, Optional<String> configured) implements CaSealer {
        @Override
        public String description() {
            return MeshManifest.SEALING_OPERATOR;
        }

        @Override
        public byte[] seal(MeshCa ca) throws IOException {
            char[] secret = CaBootstrap.sealingSecret(dataDir, configured);
            try {
                return CaVault.seal(ca, secret);
            } finally {
                Arrays.fill(secret, '\0');
            }
        }

        @Override
        public MeshCa unseal(byte[] sealed, Clock clock) throws CaVaultException, IOException {
            char[] secret = CaBootstrap.sealingSecret(dataDir, configured);
            try {
                return CaVault.unseal(sealed, secret, clock);
            } finally {
                Arrays.fill(secret, '\0');
            }
        }
    }

    /** Sealed to a key the TEE derives from its measurement: another image cannot open it. */
    record TeeKey(TeeSealingKey key) implements CaSealer {
        @Override
        public String description() {
            return key.source() == TeeSealingKey.Source.SEV_SNP_DERIVED ? MeshManifest.SEALING_SNP : MeshManifest.SEALING_SGX;
        }

        @Override
        public byte[] seal(MeshCa ca) {
            return CaVault.sealToTee(ca, key);
        }

        @Override
        public MeshCa unseal(byte[] sealed, Clock clock) throws CaVaultException {
            return CaVault.unsealFromTee(sealed, key, clock);
        }
    }
}
