package dev.attestmesh.quote.device;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.quote.TeeType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.OptionalInt;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigfsTsmCollectorTest {
    @TempDir
    Path root;

    private static byte[] reportData() {
        byte[] d = new byte[64];
        Arrays.fill(d, (byte) 0x42);
        return d;
    }

    private long entriesLeft() throws Exception {
        try (Stream<Path> s = Files.list(root)) {
            return s.count();
        }
    }

    @Test
    void collectsATdxQuoteAndRemovesTheEntry() throws Exception {
        FakeConfigfsTsmKernel kernel = new FakeConfigfsTsmKernel("tdx_guest", 0);
        ConfigfsTsmCollector c = ConfigfsTsmCollector.open(root, OptionalInt.empty(), kernel);
        assertEquals(TeeType.TDX, c.tee());
        assertEquals("tdx_guest", c.provider());
        assertArrayEquals(FakeConfigfsTsmKernel.evidenceFor("tdx_guest", reportData()), c.collect(reportData()));
        assertEquals(0, entriesLeft(), "probe and report entries are removed");
        assertEquals(1, kernel.outblobReads);
    }

    @Test
    void retriesWhenAnotherProcessWritesBetweenInblobAndOutblob() throws Exception {
        FakeConfigfsTsmKernel kernel = new FakeConfigfsTsmKernel("sev_guest", 0);
        ConfigfsTsmCollector c = ConfigfsTsmCollector.open(root, OptionalInt.empty(), kernel);
        kernel.interferingWrites = 2;
        byte[] evidence = c.collect(reportData());
        assertArrayEquals(FakeConfigfsTsmKernel.evidenceFor("sev_guest", reportData()), evidence,
                "the evidence returned covers our report data, not the racing writer's");
        assertEquals(3, kernel.outblobReads, "two raced attempts, one clean");
        assertEquals(TeeType.SNP, c.tee());
        assertEquals(0, entriesLeft());
    }

    @Test
    void givesUpWhenTheGenerationChangesOnEveryAttempt() throws Exception {
        FakeConfigfsTsmKernel kernel = new FakeConfigfsTsmKernel("tdx_guest", 0);
        ConfigfsTsmCollector c = ConfigfsTsmCollector.open(root, OptionalInt.empty(), kernel);
        kernel.interferingWrites = 100;
        EvidenceCollectionException e = assertThrows(EvidenceCollectionException.class, () -> c.collect(reportData()));
        assertTrue(e.getMessage().contains("generation"), e.getMessage());
        assertEquals(ConfigfsTsmCollector.MAX_ATTEMPTS, kernel.outblobReads);
        assertEquals(0, entriesLeft(), "the entry is removed after a failure too");
    }

    @Test
    void writesThePrivilegeLevelBeforeTheReportData() throws Exception {
        FakeConfigfsTsmKernel kernel = new FakeConfigfsTsmKernel("sev_guest", 0);
        ConfigfsTsmCollector c = ConfigfsTsmCollector.open(root, OptionalInt.of(2), kernel);
        assertArrayEquals(FakeConfigfsTsmKernel.evidenceFor("sev_guest", reportData()), c.collect(reportData()));
    }

    @Test
    void refusesAProviderAttestMeshDoesNotVerify() {
        FakeConfigfsTsmKernel kernel = new FakeConfigfsTsmKernel("arm_cca_guest", 0);
        EvidenceCollectionException e = assertThrows(EvidenceCollectionException.class,
                () -> ConfigfsTsmCollector.open(root, OptionalInt.empty(), kernel));
        assertTrue(e.getMessage().contains("arm_cca_guest"), e.getMessage());
    }

    @Test
    void explainsAMissingConfigfs() {
        EvidenceCollectionException e = assertThrows(EvidenceCollectionException.class,
                () -> ConfigfsTsmCollector.open(root.resolve("absent"), OptionalInt.empty(), new FakeConfigfsTsmKernel("tdx_guest", 0)));
        assertTrue(e.getMessage().contains("configfs"), e.getMessage());
    }
}
