package dev.attestmesh.quote.device;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.quote.TeeType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GramineAttestationCollectorTest {
    @TempDir
    Path root;

    private static byte[] reportData() {
        byte[] d = new byte[64];
        Arrays.fill(d, (byte) 7);
        return d;
    }

    private byte[] fakeGramine(String type, byte[] reportDataInQuote) throws Exception {
        Files.writeString(root.resolve("attestation_type"), type + "\n");
        Files.write(root.resolve("user_report_data"), new byte[64]);
        byte[] quote = new byte[1000];
        quote[0] = 3;
        System.arraycopy(reportDataInQuote, 0, quote, 368, 64);
        Files.write(root.resolve("quote"), quote);
        return quote;
    }

    @Test
    void writesUserReportDataAndReturnsTheQuote() throws Exception {
        byte[] quote = fakeGramine("dcap", reportData());
        GramineAttestationCollector c = GramineAttestationCollector.create(root);
        assertEquals(TeeType.SGX, c.tee());
        assertArrayEquals(quote, c.collect(reportData()));
        assertArrayEquals(reportData(), Files.readAllBytes(root.resolve("user_report_data")));
    }

    @Test
    void refusesANonDcapAttestationType() throws Exception {
        fakeGramine("none", reportData());
        EvidenceCollectionException e = assertThrows(EvidenceCollectionException.class,
                () -> GramineAttestationCollector.create(root).collect(reportData()));
        assertTrue(e.getMessage().contains("sgx.remote_attestation"), e.getMessage());
    }

    @Test
    void refusesAQuoteOverOtherReportData() throws Exception {
        fakeGramine("dcap", new byte[64]);
        assertThrows(EvidenceCollectionException.class, () -> GramineAttestationCollector.create(root).collect(reportData()));
    }

    @Test
    void explainsWhenNotRunningInsideGramine() {
        EvidenceCollectionException e = assertThrows(EvidenceCollectionException.class,
                () -> GramineAttestationCollector.create(root.resolve("missing")).collect(reportData()));
        assertTrue(e.getMessage().contains("inside Gramine"), e.getMessage());
    }
}
