package dev.attestmesh.quote.tdx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.attestmesh.quote.EvidenceParseException;
import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.TcbStatus;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationCheck;
import dev.attestmesh.quote.VerifiedEvidence;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * CCEL replay with go-tdx-guest's GCE vector (MANIFEST.md: "the CCEL replays against the quote's
 * RTMRs"), and each way a log can be wrong.
 */
class CcelVerifierTest {
    private static final HexFormat HEX = HexFormat.of();

    private static Path dir() {
        Path p = Path.of(System.getProperty("attestmesh.vectors", "../../shared/vectors")).resolve("tdx/go-tdx-guest/ccel");
        assumeTrue(Files.isDirectory(p), "CCEL vectors not found at " + p.toAbsolutePath() + "; skipping");
        return p;
    }

    private static byte[] read(String name) throws Exception {
        return Files.readAllBytes(dir().resolve(name));
    }

    /**
     * The quote's claims as the verifier reports them, from the real parser. (Verifying this GCE quote's
     * signature chain needs collateral for its time that the vectors do not carry; the replay only
     * consumes the RTMR claims.)
     */
    private static VerifiedEvidence quoteClaims() throws Exception {
        TdxQuote q = TdxQuoteParser.parse(read("cos-113-tdx-quote.dat"));
        TdReport b = q.body();
        Map<String, String> m = Map.of("rtmr0", HEX.formatHex(b.rtmr0()), "rtmr1", HEX.formatHex(b.rtmr1()),
                "rtmr2", HEX.formatHex(b.rtmr2()), "rtmr3", HEX.formatHex(b.rtmr3()), "mrtd", HEX.formatHex(b.mrTd()));
        return new VerifiedEvidence(TeeType.TDX, TcbStatus.UP_TO_DATE, List.of(), false, false, q.reportData(), m, Map.of(),
                new byte[32], Optional.empty(), Optional.empty());
    }

    @Test
    void gceLogReplaysToTheQuotesRtmrsAndYieldsTheKernelCommandLine() throws Exception {
        CcelTable t = CcelTable.parse(read("ccel_table.dat"));
        assertEquals(CcelTable.CC_TYPE_TDX, t.ccType());
        assertEquals(0x40000, t.logAreaMinimumLength());
        VerifiedEvidence v = CcelVerifier.withEventLog(quoteClaims(), Optional.of(read("ccel_table.dat")), read("ccel_data.dat"));
        assertEquals(43L, v.numbers().get("ccel.events"));
        String cmdline = CcEventLog.parse(read("ccel_data.dat")).kernelCommandLine().orElseThrow();
        assertTrue(cmdline.startsWith("/syslinux/vmlinuz.A init=/usr/lib/systemd/systemd"), cmdline);
        assertEquals(HEX.formatHex(MessageDigest.getInstance("SHA-384").digest(cmdline.getBytes(StandardCharsets.UTF_8))),
                v.measurements().get("kernel_cmdline_sha384"));
    }

    @Test
    void anAlteredEventDigestIsRefusedNamingTheRtmr() throws Exception {
        byte[] log = read("ccel_data.dat");
        CcEventLog parsed = CcEventLog.parse(log);
        // Flip a byte of the digest of the first RTMR2 event (MR index 3).
        CcEventLog.Event e = parsed.events().stream().filter(x -> x.mrIndex() == 3).findFirst().orElseThrow();
        log[e.offset() + 12 + 2] ^= 1;
        EvidenceVerificationException x = assertThrows(EvidenceVerificationException.class,
                () -> CcelVerifier.withEventLog(quoteClaims(), Optional.empty(), log));
        assertEquals(VerificationCheck.EVENT_LOG, x.check());
        assertTrue(x.getMessage().contains("RTMR2"), x.getMessage());
    }

    @Test
    void aLogMissingItsLastEventIsRefusedNamingTheRtmr() throws Exception {
        byte[] log = read("ccel_data.dat");
        CcEventLog.Event last = CcEventLog.parse(log).events().getLast();
        byte[] cut = Arrays.copyOf(log, last.offset());
        EvidenceVerificationException x = assertThrows(EvidenceVerificationException.class,
                () -> CcelVerifier.withEventLog(quoteClaims(), Optional.empty(), cut));
        assertTrue(x.getMessage().contains("RTMR" + (last.mrIndex() - 1)), x.getMessage());
    }

    @Test
    void alteredCommandLineTextIsNotClaimedEvenThoughTheDigestsReplay() throws Exception {
        byte[] log = read("ccel_data.dat");
        CcEventLog.Event k = CcEventLog.parse(log).events().stream()
                .filter(x -> new String(x.data(), StandardCharsets.US_ASCII).startsWith("kernel_cmdline: ")).findFirst()
                .orElseThrow();
        int dataAt = k.offset() + 8 + 4 + 2 + 48 + 4;
        log[dataAt + "kernel_cmdline: ".length()] ^= 1; // the data, not the digest: the replay still matches
        VerifiedEvidence v = CcelVerifier.withEventLog(quoteClaims(), Optional.empty(), log);
        assertTrue(!v.measurements().containsKey("kernel_cmdline_sha384"), "unauthenticated text must not become a claim");
    }

    @Test
    void malformedLogsAndTablesGetTypedErrors() throws Exception {
        byte[] log = read("ccel_data.dat");
        assertThrows(EvidenceParseException.class, () -> CcEventLog.parse(Arrays.copyOf(log, 20)));
        byte[] notAgile = log.clone();
        notAgile[32] = 'X';
        assertTrue(assertThrows(EvidenceParseException.class, () -> CcEventLog.parse(notAgile)).getMessage()
                .contains("Spec ID Event03"));
        // An event whose data size runs past the end.
        CcEventLog.Event first = CcEventLog.parse(log).events().getFirst();
        byte[] huge = Arrays.copyOf(log, first.offset() + 8 + 4 + 2 + 48 + 4);
        ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putInt(huge.length - 4, 1000);
        EvidenceParseException p = assertThrows(EvidenceParseException.class, () -> CcEventLog.parse(huge));
        assertTrue(p.getMessage().contains("truncated"), p.getMessage());
        ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putInt(huge.length - 4, Integer.MAX_VALUE);
        assertTrue(assertThrows(EvidenceParseException.class, () -> CcEventLog.parse(huge)).getMessage().contains("exceeds"));
        byte[] table = read("ccel_table.dat");
        table[9] ^= 1;
        assertThrows(EvidenceParseException.class, () -> CcelTable.parse(table));
        EvidenceVerificationException x = assertThrows(EvidenceVerificationException.class,
                () -> CcelVerifier.withEventLog(quoteClaims(), Optional.of(table), log));
        assertEquals(VerificationCheck.EVENT_LOG, x.check());
        assertTrue(x.getMessage().contains("CCEL table"), x.getMessage());
        byte[] tooLong = Arrays.copyOf(log, 0x40001);
        assertTrue(assertThrows(EvidenceVerificationException.class, () -> CcelVerifier.withEventLog(quoteClaims(),
                Optional.of(read("ccel_table.dat")), tooLong)).getMessage().contains("log area"));
    }
}
