package dev.attestmesh.server.ca;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.ca.CaVault;
import dev.attestmesh.ca.TeeSealingKey;
import dev.attestmesh.quote.device.IoctlArgument;
import dev.attestmesh.quote.device.IoctlDevice;
import dev.attestmesh.quote.device.SevGuestDerivedKey;
import dev.attestmesh.relying.MeshManifest;
import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.ControlPlaneSettings;
import dev.attestmesh.server.EvidenceVerifierSet;
import dev.attestmesh.server.seed.DocumentFileModes;
import dev.attestmesh.server.store.CaMaterialStore;
import dev.attestmesh.server.watch.RegistryWatchSettings;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The mesh CA sealed to the TEE, against the fake device layer: a fake {@code /dev/sev-guest} whose
 * SNP_GET_DERIVED_KEY answers a key fixed by the "launch measurement", and a fake Gramine keys directory.
 */
class CaTeeSealingTest {
    @TempDir
    Path tmp;

    /** A guest root with /dev/sev-guest whose firmware derives its key from {@code measurement}. */
    static CaKeySource snpGuest(Path root, String measurement) throws Exception {
        Files.createDirectories(root.resolve("dev"));
        if (!Files.exists(root.resolve("dev/sev-guest"))) {
            Files.createFile(root.resolve("dev/sev-guest"));
        }
        byte[] key = MessageDigest.getInstance("SHA-256").digest(("vcek|policy|" + measurement).getBytes(StandardCharsets.UTF_8));
        IoctlDevice device = path -> new IoctlDevice.Handle() {
            @Override
            public void ioctl(long request, IoctlArgument argument) throws IoctlDevice.IoctlException {
                if (request != SevGuestDerivedKey.SNP_GET_DERIVED_KEY) {
                    throw new IoctlDevice.IoctlException("unexpected ioctl " + Long.toHexString(request), 25);
                }
                System.arraycopy(key, 0, argument.pointees().get(16), 0x20, 32);
            }

            @Override
            public void close() {}
        };
        return CaKeySource.under(root, device, 0);
    }

    ControlPlane start(Path data, CaKeySource keys) throws Exception {
        return ControlPlane.start(ControlPlaneSettings.forTests(data, Optional.empty()), Clock.systemUTC(),
                EvidenceVerifierSet.defaults(), Optional.empty(), RegistryWatchSettings.refuseAll(),
                RotationSettings.DEFAULTS, DocumentFileModes.SEED, keys);
    }

    static byte[] stored(ControlPlane cp) {
        return new CaMaterialStore(cp.database()).load().orElseThrow();
    }

    @Test
    void aNewCaIsWrappedWithTheSnpDerivedKeyAndAnotherMeasurementCannotOpenIt() throws Exception {
        Path data = tmp.resolve("cp");
        Path guest = tmp.resolve("guest");
        X509Certificate root;
        try (ControlPlane cp = start(data, snpGuest(guest, "measurement-A"))) {
            assertEquals(MeshManifest.SEALING_SNP, cp.caKeySealing());
            byte[] sealed = stored(cp);
            assertEquals(Optional.of(TeeSealingKey.Source.SEV_SNP_DERIVED), CaVault.teeSource(sealed));
            // wrapped with the derived key, not the operator key the settings also hold
            byte[] derived = snpGuest(guest, "measurement-A").find().orElseThrow().material();
            assertEquals(cp.meshCa().root(), CaVault.unsealFromTee(sealed,
                    new TeeSealingKey(TeeSealingKey.Source.SEV_SNP_DERIVED, derived), Clock.systemUTC()).root());
            assertThrows(dev.attestmesh.ca.CaVaultException.class, () -> CaVault.unseal(sealed,
                    "test-ca-key-do-not-use-in-production".toCharArray(), Clock.systemUTC()));
            // a rotation re-seals with the same TEE key
            cp.rotateIntermediate(Duration.ofMinutes(5));
            assertEquals(Optional.of(TeeSealingKey.Source.SEV_SNP_DERIVED), CaVault.teeSource(stored(cp)));
            root = cp.meshCa().root();
        }
        try (ControlPlane again = start(data, snpGuest(guest, "measurement-A"))) {
            assertEquals(root, again.meshCa().root(), "the same image opens its own CA");
            assertEquals(3, again.trustBundle().size(), "with the rotation");
        }
        IllegalStateException other = assertThrows(IllegalStateException.class,
                () -> start(data, snpGuest(guest, "measurement-B")).close());
        assertTrue(other.getMessage().contains("does not open the CA file") && other.getMessage().contains("another measurement"),
                other.getMessage());
        IllegalStateException none = assertThrows(IllegalStateException.class, () -> start(data, CaKeySource.none()).close());
        assertTrue(none.getMessage().contains("sealed to a sev-snp-derived-key") && none.getMessage().contains("no TEE sealing key"),
                none.getMessage());
    }

    @Test
    void aDataDirectorySealedUnderTheOperatorKeyKeepsWorkingInATee() throws Exception {
        Path data = tmp.resolve("cp");
        X509Certificate root;
        try (ControlPlane before = start(data, CaKeySource.none())) {
            assertEquals(MeshManifest.SEALING_OPERATOR, before.caKeySealing());
            root = before.meshCa().root();
        }
        try (ControlPlane inTee = start(data, snpGuest(tmp.resolve("guest"), "measurement-A"))) {
            assertEquals(root, inTee.meshCa().root());
            assertEquals(MeshManifest.SEALING_OPERATOR, inTee.caKeySealing(), "the manifest says the operator key");
            assertEquals(Optional.empty(), CaVault.teeSource(stored(inTee)));
            inTee.rotateIntermediate(Duration.ofMinutes(5));
            assertEquals(Optional.empty(), CaVault.teeSource(stored(inTee)), "rotation keeps the operator key");
        }
    }

    @Test
    void underGramineTheCaIsSealedToTheMrenclaveKey() throws Exception {
        Path guest = tmp.resolve("gramine");
        Path keyFile = guest.resolve("dev/attestation/keys/_sgx_mrenclave");
        Files.createDirectories(keyFile.getParent());
        Files.write(keyFile, "mrenclave-key-01".getBytes(StandardCharsets.US_ASCII));
        Path data = tmp.resolve("cp");
        CaKeySource gramine = CaKeySource.under(guest, path -> {
            throw new java.io.IOException("no ioctl device under Gramine");
        }, 0);
        try (ControlPlane cp = start(data, gramine)) {
            assertEquals(MeshManifest.SEALING_SGX, cp.caKeySealing());
            assertEquals(Optional.of(TeeSealingKey.Source.SGX_MRENCLAVE), CaVault.teeSource(stored(cp)));
        }
        Files.write(keyFile, "another-enclave!".getBytes(StandardCharsets.US_ASCII)); // another MRENCLAVE
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> start(data, gramine).close());
        assertTrue(e.getMessage().contains("sgx-mrenclave-key of this TEE does not open"), e.getMessage());
    }

    @Test
    void aTeeThatRefusesItsKeyStopsTheStartInsteadOfSealingWeaker() throws Exception {
        Path guest = tmp.resolve("guest");
        Files.createDirectories(guest.resolve("dev"));
        Files.createFile(guest.resolve("dev/sev-guest"));
        CaKeySource refusing = CaKeySource.under(guest, path -> new IoctlDevice.Handle() {
            @Override
            public void ioctl(long request, IoctlArgument argument) throws IoctlDevice.IoctlException {
                throw new IoctlDevice.IoctlException("ioctl", 1);
            }

            @Override
            public void close() {}
        }, 0);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> start(tmp.resolve("cp"), refusing).close());
        assertTrue(e.getMessage().contains("refused it") && e.getMessage().contains("attestmesh.ca-sealing=operator"),
                e.getMessage());
    }
}
