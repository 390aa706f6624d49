package dev.attestmesh.quote.device;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * Finds the TEE this process runs in and returns the collector for it, looking, in order, for:
 * configfs-tsm ({@code /sys/kernel/config/tsm/report}, whose provider names TDX or SEV-SNP), Gramine's
 * {@code /dev/attestation} (SGX), {@code /dev/sev-guest} (SEV-SNP ioctl), {@code /dev/tpmrm0} (an Azure
 * confidential VM, whose paravisor hides the SEV-SNP device: the vTPM collector). {@code /dev/tdx_guest} alone
 * is reported as an error, because it yields only a TDREPORT, which no remote verifier accepts.
 * When nothing is found, the exception lists every path looked at.
 */
public final class TeeDetector {
    private final Path fsRoot;
    private final IoctlDevice ioctl;
    private final TsmReportFiles tsmFiles;
    private final int snpVmpl;
    private final TpmDevice tpm;

    private TeeDetector(Path fsRoot, IoctlDevice ioctl, TsmReportFiles tsmFiles, int snpVmpl) {
        this(fsRoot, ioctl, tsmFiles, snpVmpl, new LibcTpmDevice());
    }

    private TeeDetector(Path fsRoot, IoctlDevice ioctl, TsmReportFiles tsmFiles, int snpVmpl, TpmDevice tpm) {
        this.fsRoot = Objects.requireNonNull(fsRoot, "fsRoot");
        this.ioctl = Objects.requireNonNull(ioctl, "ioctl");
        this.tsmFiles = Objects.requireNonNull(tsmFiles, "tsmFiles");
        this.snpVmpl = snpVmpl;
        this.tpm = Objects.requireNonNull(tpm, "tpm");
    }

    /** This detector, talking to {@code /dev/tpmrm0} through {@code device} (tests). */
    TeeDetector withTpm(TpmDevice device) {
        return new TeeDetector(fsRoot, ioctl, tsmFiles, snpVmpl, device);
    }

    Path tpmrm() {
        return fsRoot.resolve("dev/tpmrm0");
    }

    /** A detector for this machine: paths under {@code /}, libc ioctls, SEV reports at VMPL 0. */
    public static TeeDetector system() {
        return new TeeDetector(Path.of("/"), new LibcIoctlDevice(), TsmReportFiles.system(), 0);
    }

    /**
     * A detector whose well-known paths are resolved under {@code fsRoot} (for tests and chroots).
     *
     * @param snpVmpl the VMPL SEV-SNP reports are requested at
     */
    public static TeeDetector under(Path fsRoot, IoctlDevice ioctl, int snpVmpl) {
        return new TeeDetector(fsRoot, ioctl, TsmReportFiles.system(), snpVmpl);
    }

    static TeeDetector under(Path fsRoot, IoctlDevice ioctl, TsmReportFiles tsmFiles, int snpVmpl) {
        return new TeeDetector(fsRoot, ioctl, tsmFiles, snpVmpl);
    }

    Path configfsTsm() {
        return fsRoot.resolve("sys/kernel/config/tsm/report");
    }

    Path gramine() {
        return fsRoot.resolve("dev/attestation");
    }

    Path sevGuest() {
        return fsRoot.resolve("dev/sev-guest");
    }

    Path tdxGuest() {
        return fsRoot.resolve("dev/tdx_guest");
    }

    /**
     * @throws EvidenceCollectionException naming every path examined and what was found, when no
     *     usable TEE interface is present
     */
    public EvidenceCollector detect() throws EvidenceCollectionException {
        List<String> findings = new ArrayList<>();
        if (Files.isDirectory(configfsTsm())) {
            try {
                return ConfigfsTsmCollector.open(configfsTsm(), snpVmpl == 0 ? OptionalInt.empty() : OptionalInt.of(snpVmpl),
                        tsmFiles);
            } catch (EvidenceCollectionException e) {
                findings.add(configfsTsm() + ": present but unusable (" + e.getMessage() + ")");
            }
        } else {
            findings.add(configfsTsm() + ": absent");
        }
        if (Files.isDirectory(gramine()) && Files.exists(gramine().resolve("quote"))) {
            return GramineAttestationCollector.create(gramine());
        }
        findings.add(gramine() + (Files.isDirectory(gramine()) ? ": present without a quote file" : ": absent"));
        if (Files.exists(sevGuest())) {
            return SevGuestIoctlCollector.create(ioctl, sevGuest(), snpVmpl);
        }
        findings.add(sevGuest() + ": absent");
        if (Files.exists(tpmrm())) {
            // Azure SEV-SNP CVMs expose only the vTPM; on another machine the collector's first NV read
            // fails saying the HCL report index is missing.
            return AzureVtpmCollector.create(tpm, tpmrm());
        }
        findings.add(tpmrm() + ": absent");
        if (Files.exists(tdxGuest())) {
            findings.add(tdxGuest() + ": present, but it only yields a TDREPORT that cannot be verified remotely; enable"
                    + " configfs-tsm (Linux 6.7+, configfs mounted) with a TDX quote generation service");
        } else {
            findings.add(tdxGuest() + ": absent");
        }
        throw new EvidenceCollectionException("no usable TEE interface found; looked for: " + String.join("; ", findings)
                + ". Run inside a TDX, SEV-SNP or Gramine-SGX guest, or use the simulated TEE for development");
    }
}
