package dev.attestmesh.quote.snp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.EvidenceVerifiers;
import dev.attestmesh.quote.ReappraisalInputs;
import dev.attestmesh.quote.TcbStatus;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationCheck;
import dev.attestmesh.quote.VerificationRequest;
import dev.attestmesh.quote.VerifiedEvidence;
import dev.attestmesh.quote.Verifiers;
import dev.attestmesh.quote.collateral.CollateralChange;
import dev.attestmesh.quote.collateral.CollateralChanges;
import dev.attestmesh.quote.limits.FetchLimits;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.security.auth.x500.X500Principal;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SEV-SNP half of re-appraisal on new collateral, on go-sev-guest's real Milan report (reported TCB
 * bootloader 2, tee 0, snp 5, microcode 68): raising the operator's current TCB, or AMD's CRL moving on,
 * is announced on the verifiers' hub and the stored claims are judged again from the stored report and
 * chain, without new evidence.
 */
class SnpReappraisalTest {
    private static final Instant AT = Instant.parse("2025-06-01T00:00:00Z");
    private static final String REPORTED = "{\"Milan\": {\"bootloader\": 2, \"tee\": 0, \"snp\": 5, \"microcode\": 68}}";
    private static final String RAISED = "{\"Milan\": {\"bootloader\": 2, \"tee\": 0, \"snp\": 8, \"microcode\": 68}}";

    @TempDir
    Path dir;

    private static byte[] report() {
        return SnpVectors.read("snp/go-sev-guest-milan/attestation.bin");
    }

    private static byte[] vcek() {
        return SnpVectors.read("snp/go-sev-guest-milan/vcek.testcer");
    }

    private EvidenceVerifiers verifiers(Path currentTcb) {
        return Verifiers.builder().amdRoots(SnpVectors.root().resolve("roots/amd")).vcekFromKds(false)
                .snpCurrentTcb(currentTcb).cacheCollateral(true)
                .collateralLimits(0, 8L << 20, new FetchLimits(50, 50, Duration.ofSeconds(1)))
                .clock(Clock.fixed(AT, ZoneOffset.UTC)).build();
    }

    private static VerifiedEvidence verify(EvidenceVerifiers v) throws EvidenceVerificationException {
        return v.verify(new VerificationRequest(TeeType.SNP, report(), Optional.of(vcek()), AT));
    }

    @Test
    void raisingTheCurrentTcbIsAnnouncedAndTheStoredReportBecomesOutOfDate() throws Exception {
        Path file = dir.resolve("snp-current-tcb.json");
        Files.writeString(file, REPORTED);
        EvidenceVerifiers v = verifiers(file);
        VerifiedEvidence stored = verify(v);
        assertEquals(TcbStatus.UP_TO_DATE, stored.tcbStatus());
        assertEquals(ReappraisalInputs.AMD_SNP, stored.reappraisalInputs().orElseThrow().scheme());
        List<CollateralChange> seen = new CopyOnWriteArrayList<>();
        v.collateralChanges().subscribe(seen::add);

        v.collateralChanges().refresh(); // the file did not change: nothing announced
        assertTrue(v.collateralChanges().awaitDelivered(10, TimeUnit.SECONDS));
        assertEquals(List.of(), seen);
        assertEquals(stored, v.reappraise(stored, AT), "the same statement judges the same");

        Files.writeString(file, RAISED); // an AMD bulletin raised the SNP firmware level
        v.collateralChanges().refresh();
        assertTrue(v.collateralChanges().awaitDelivered(10, TimeUnit.SECONDS));
        assertEquals(1, seen.size(), seen.toString());
        assertTrue(seen.getFirst().affects(stored), "every SNP node is judged again");
        assertTrue(seen.getFirst().item().contains("Milan"), seen.getFirst().item());
        VerifiedEvidence judged = v.reappraise(stored, AT);
        assertEquals(TcbStatus.OUT_OF_DATE, judged.tcbStatus());
        assertEquals(stored.measurements(), judged.measurements(), "only the TCB changes");

        Files.writeString(file, "{\"Milan\": {\"snp\": 300}}"); // a typo keeps the statement last read
        v.collateralChanges().refresh();
        assertTrue(v.collateralChanges().awaitDelivered(10, TimeUnit.SECONDS));
        assertEquals(1, seen.size());
        assertEquals(TcbStatus.OUT_OF_DATE, v.reappraise(stored, AT).tcbStatus());
    }

    @Test
    void tamperedStoredInputsAreRefusedByTheCheckThatOwnsThem() throws Exception {
        Path file = dir.resolve("snp-current-tcb.json");
        Files.writeString(file, REPORTED);
        EvidenceVerifiers v = verifiers(file);
        VerifiedEvidence stored = verify(v);
        ReappraisalInputs in = stored.reappraisalInputs().orElseThrow();

        Map<String, String> altered = new HashMap<>(in.fields());
        char[] r = altered.get("report").toCharArray();
        r[2 * 0x90] = r[2 * 0x90] == '0' ? '1' : '0'; // inside MEASUREMENT, covered by the signature
        altered.put("report", new String(r));
        assertEquals(VerificationCheck.QUOTE_SIGNATURE, failure(v, stored, altered));

        Map<String, String> otherChip = new HashMap<>(in.fields());
        otherChip.put("signer", java.util.HexFormat.of().formatHex(SnpVectors.read("snp/virtee-sev-milan/vcek_milan.der")));
        assertEquals(VerificationCheck.VCEK_TCB, failure(v, stored, otherChip), "another chip's VCEK");

        Map<String, String> otherArk = new HashMap<>(in.fields());
        otherArk.put("ark", otherArk.get("intermediate")); // the ASK posing as the root is not an ARK: the pin decides
        assertEquals(TcbStatus.UP_TO_DATE, v.reappraise(with(stored, otherArk), AT).tcbStatus());

        Map<String, String> missing = new HashMap<>(in.fields());
        missing.remove("signer");
        assertEquals(VerificationCheck.PARSE, failure(v, stored, missing));

        VerifiedEvidence noInputs = new VerifiedEvidence(stored.tee(), stored.tcbStatus(), stored.advisoryIds(),
                stored.debug(), stored.insecure(), stored.reportData(), stored.measurements(), stored.numbers(),
                stored.evidenceSha256(), stored.fmspcOrChip(), stored.platformId());
        assertEquals(noInputs, v.reappraise(noInputs, AT), "stored before inputs existed: judged at the next attestation");
        assertEquals(VerificationCheck.COLLATERAL_EXPIRED, assertThrows(EvidenceVerificationException.class,
                () -> v.reappraise(stored, Instant.parse("2060-01-01T00:00:00Z"))).check(), "validity judged at 'at'");
    }

    private static VerifiedEvidence with(VerifiedEvidence e, Map<String, String> fields) {
        return new VerifiedEvidence(e.tee(), e.tcbStatus(), e.advisoryIds(), e.debug(), e.insecure(), e.reportData(),
                e.measurements(), e.numbers(), e.evidenceSha256(), e.fmspcOrChip(), e.platformId(),
                Optional.of(new ReappraisalInputs(ReappraisalInputs.AMD_SNP, fields)));
    }

    private static VerificationCheck failure(EvidenceVerifiers v, VerifiedEvidence stored, Map<String, String> fields) {
        return assertThrows(EvidenceVerificationException.class, () -> v.reappraise(with(stored, fields), AT)).check();
    }

    /**
     * AMD's real CRLs are not among the vectors, so the CRL that appears is signed by a test key: the
     * re-appraisal must consult the CRL the cache holds now and refuse the node (fail closed). That a
     * genuinely ARK-signed CRL listing the VCEK is refused is {@link AmdCrlTest}'s ground, through the same
     * {@link AmdCrl#check}.
     */
    @Test
    void aCrlThatMovedOnIsAnnouncedAndTheStoredReportIsJudgedAgainstIt() throws Exception {
        KeyPair testKey = KeyPairGenerator.getInstance("RSA").generateKeyPair();
        X500Principal ark = new X500Principal("CN=ARK-Milan, O=Advanced Micro Devices, C=US");
        byte[] first = AmdCrlTest.crl(ark, testKey, "SHA384WITHRSAANDMGF1", AT.minus(Duration.ofDays(1)),
                AT.plus(Duration.ofDays(7)));
        byte[] second = AmdCrlTest.crl(ark, testKey, "SHA384WITHRSAANDMGF1", AT.minus(Duration.ofHours(1)),
                AT.plus(Duration.ofDays(7)), vcekSerial());
        AtomicReference<Optional<byte[]>> source = new AtomicReference<>(Optional.of(first));
        CollateralChanges hub = new CollateralChanges();
        List<CollateralChange> seen = new CopyOnWriteArrayList<>();
        hub.subscribe(seen::add);
        CachingAmdCrlProvider cache = new CachingAmdCrlProvider((p, k) -> source.get(), FetchLimits.defaults(),
                Clock.fixed(AT, ZoneOffset.UTC), System::nanoTime, Optional.of(hub));
        AtomicReference<Boolean> crlsOn = new AtomicReference<>(false);
        SnpReportVerifier verifier = SnpReportVerifier.create(SnpVectors.anchors(), VcekProvider.none(),
                SnpVerifierOptions.none().withCrls((p, k) -> crlsOn.get() ? cache.crl(p, k) : Optional.empty()));
        VerifiedEvidence stored = verifier.verify(new VerificationRequest(TeeType.SNP, report(), Optional.of(vcek()), AT));

        assertArrayEquals(first, cache.crl(SnpProduct.MILAN, SnpSigningKey.VCEK).orElseThrow());
        cache.refresh(); // the same bytes: nothing announced
        assertTrue(hub.awaitDelivered(10, TimeUnit.SECONDS));
        assertEquals(List.of(), seen);

        source.set(Optional.of(second));
        cache.refresh();
        assertTrue(hub.awaitDelivered(10, TimeUnit.SECONDS));
        assertEquals(1, seen.size(), seen.toString());
        CollateralChange change = seen.getFirst();
        assertTrue(change.affects(stored) && change.item().contains("Milan"), change.toString());
        assertTrue(change.tees().contains(TeeType.AZ_SNP_VTPM));
        assertArrayEquals(second, cache.crl(SnpProduct.MILAN, SnpSigningKey.VCEK).orElseThrow(),
                "the new CRL is held");

        crlsOn.set(true);
        assertEquals(VerificationCheck.AMD_CRL, assertThrows(EvidenceVerificationException.class,
                () -> verifier.reappraise(stored, AT)).check(), "judged against the CRL held now");

        source.set(Optional.empty()); // the source stops answering: the held CRL stays until its nextUpdate
        cache.refresh();
        assertTrue(hub.awaitDelivered(10, TimeUnit.SECONDS));
        assertEquals(1, seen.size());
        assertFalse(cache.crl(SnpProduct.MILAN, SnpSigningKey.VCEK).isEmpty());
    }

    private static java.math.BigInteger vcekSerial() {
        return SnpVectors.cert("snp/go-sev-guest-milan/vcek.testcer").getSerialNumber();
    }
}
