package dev.attestmesh.server.ca;

import dev.attestmesh.ca.TeeSealingKey;
import dev.attestmesh.quote.device.EvidenceCollectionException;
import dev.attestmesh.quote.device.GramineSealingKey;
import dev.attestmesh.quote.device.IoctlDevice;
import dev.attestmesh.quote.device.LibcIoctlDevice;
import dev.attestmesh.quote.device.SevGuestDerivedKey;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Finds a sealing key offered by the TEE the control plane runs in: the SEV-SNP derived key
 * ({@code /dev/sev-guest}, bound to the launch measurement and guest policy), or Gramine's SGX MRENCLAVE
 * key ({@code /dev/attestation/keys/_sgx_mrenclave}). TDX offers none; outside a TEE there is none.
 */
@FunctionalInterface
public interface CaKeySource {
    /**
     * @return the key, or empty when this TEE offers none
     * @throws EvidenceCollectionException when an interface is present but refuses (fail closed: the CA is not
     *     silently sealed under a weaker key)
     */
    Optional<TeeSealingKey> find() throws EvidenceCollectionException;

    /** Never a TEE key: the CA is sealed under the operator key. */
    static CaKeySource none() {
        return Optional::empty;
    }

    /** This machine's TEE interfaces, at VMPL 0. */
    static CaKeySource system() {
        return under(Path.of("/"), new LibcIoctlDevice(), 0);
    }

    /** The TEE interfaces with their well-known paths resolved under {@code fsRoot} (tests, chroots). */
    static CaKeySource under(Path fsRoot, IoctlDevice ioctl, int snpVmpl) {
        return () -> {
            Path sev = fsRoot.resolve("dev/sev-guest");
            if (Files.exists(sev)) {
                return Optional.of(new TeeSealingKey(TeeSealingKey.Source.SEV_SNP_DERIVED, SevGuestDerivedKey.derive(
                        ioctl, sev, snpVmpl, SevGuestDerivedKey.FIELDS_POLICY_AND_MEASUREMENT)));
            }
            Path gramine = fsRoot.resolve("dev/attestation");
            if (Files.exists(GramineSealingKey.file(gramine))) {
                return Optional.of(new TeeSealingKey(TeeSealingKey.Source.SGX_MRENCLAVE, GramineSealingKey.read(gramine)));
            }
            return Optional.empty();
        };
    }
}
