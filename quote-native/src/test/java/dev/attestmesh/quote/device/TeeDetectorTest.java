package dev.attestmesh.quote.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.attestmesh.quote.TeeType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TeeDetectorTest {
    @TempDir
    Path fs;

    private final FakeIoctlDevice noIoctl = new FakeIoctlDevice((request, arg) -> {
        throw new IoctlDevice.IoctlException("unexpected ioctl", 25);
    });

    @Test
    void listsEveryPathWhenNoTeeIsPresent() {
        EvidenceCollectionException e = assertThrows(EvidenceCollectionException.class,
                () -> TeeDetector.under(fs, noIoctl, 0).detect());
        for (String p : new String[] {"sys/kernel/config/tsm/report", "dev/attestation", "dev/sev-guest", "dev/tpmrm0", "dev/tdx_guest"}) {
            assertTrue(e.getMessage().contains(fs.resolve(p).toString()), p + " missing from: " + e.getMessage());
        }
    }

    @Test
    void prefersConfigfsTsmAndTakesTheTeeFromItsProvider() throws Exception {
        Files.createDirectories(fs.resolve("sys/kernel/config/tsm/report"));
        Files.createDirectories(fs.resolve("dev"));
        Files.createFile(fs.resolve("dev/tdx_guest"));
        EvidenceCollector c = TeeDetector.under(fs, noIoctl, new FakeConfigfsTsmKernel("tdx_guest", 0), 0).detect();
        assertInstanceOf(ConfigfsTsmCollector.class, c);
        assertEquals(TeeType.TDX, c.tee());
    }

    @Test
    void findsGramine() throws Exception {
        Files.createDirectories(fs.resolve("dev/attestation"));
        Files.write(fs.resolve("dev/attestation/quote"), new byte[0]);
        EvidenceCollector c = TeeDetector.under(fs, noIoctl, 0).detect();
        assertInstanceOf(GramineAttestationCollector.class, c);
        assertEquals(TeeType.SGX, c.tee());
    }

    @Test
    void aVtpmWithoutSevGuestIsTheAzureConfidentialVmCollector() throws Exception {
        Files.createDirectories(fs.resolve("dev"));
        Files.createFile(fs.resolve("dev/tpmrm0"));
        EvidenceCollector c = TeeDetector.under(fs, noIoctl, 0).withTpm(new FakeTpm(new byte[16])).detect();
        assertInstanceOf(AzureVtpmCollector.class, c);
        assertEquals(TeeType.AZ_SNP_VTPM, c.tee());
    }

    @Test
    void findsTheSevGuestDevice() throws Exception {
        Files.createDirectories(fs.resolve("dev"));
        Files.createFile(fs.resolve("dev/sev-guest"));
        EvidenceCollector c = TeeDetector.under(fs, noIoctl, 1).detect();
        assertInstanceOf(SevGuestIoctlCollector.class, c);
        assertEquals(TeeType.SNP, c.tee());
    }

    @Test
    void explainsThatTdxGuestAloneCannotProduceAVerifiableQuote() throws Exception {
        Files.createDirectories(fs.resolve("dev"));
        Files.createFile(fs.resolve("dev/tdx_guest"));
        EvidenceCollectionException e = assertThrows(EvidenceCollectionException.class,
                () -> TeeDetector.under(fs, noIoctl, 0).detect());
        assertTrue(e.getMessage().contains("TDREPORT") && e.getMessage().contains("configfs-tsm"), e.getMessage());
    }

    @Test
    void reportsAConfigfsTsmWhoseProviderIsUnsupportedAndKeepsLooking() throws Exception {
        Files.createDirectories(fs.resolve("sys/kernel/config/tsm/report"));
        EvidenceCollectionException e = assertThrows(EvidenceCollectionException.class,
                () -> TeeDetector.under(fs, noIoctl, new FakeConfigfsTsmKernel("arm_cca_guest", 0), 0).detect());
        assertTrue(e.getMessage().contains("arm_cca_guest"), e.getMessage());
    }

    @Test
    void failsCleanlyOnAMachineWithoutATee() {
        boolean anyTee = Stream.of("/sys/kernel/config/tsm/report", "/dev/attestation", "/dev/sev-guest", "/dev/tdx_guest")
                .anyMatch(p -> Files.exists(Path.of(p)));
        assumeTrue(!anyTee, "this machine has a TEE interface; the no-TEE case cannot be observed here");
        EvidenceCollectionException e = assertThrows(EvidenceCollectionException.class, () -> TeeDetector.system().detect());
        assertTrue(e.getMessage().contains("/dev/sev-guest") && e.getMessage().contains("simulated TEE"), e.getMessage());
    }
}
