package dev.attestmesh.quote.snp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.TcbStatus;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationCheck;
import dev.attestmesh.quote.VerificationRequest;
import dev.attestmesh.quote.VerifiedEvidence;
import dev.attestmesh.quote.limits.FetchLimits;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.X509v2CRLBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * AMD CRL checking and SNP TCB status. Constructed CRLs are signed by a test key standing in for the
 * ARK and checked through {@link AmdCrl#check}, the code the verifier runs with the pinned ARK's key;
 * the verifier tests show that path is taken (a CRL not signed by the real ARK is refused) and that
 * an unobtainable CRL fails closed.
 */
class AmdCrlTest {
    private static final Instant AT = Instant.parse("2025-06-01T00:00:00Z");
    private static final X500Principal ARK = new X500Principal("CN=ARK-Milan, O=Advanced Micro Devices, C=US");
    private static final KeyPair TEST_ARK = rsa();

    @TempDir
    Path dir;

    private static KeyPair rsa() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
            g.initialize(2048);
            return g.generateKeyPair();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static X509Certificate vcek() {
        return SnpVectors.cert("snp/go-sev-guest-milan/vcek.testcer");
    }

    private static X509Certificate ask() {
        try {
            return AmdCertificateDecoder.decodeAll(SnpVectors.read("snp/go-sev-guest-milan/milan.testcer")).getFirst();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] crl(X500Principal issuer, KeyPair signer, String alg, Instant thisUpdate, Instant nextUpdate,
            BigInteger... revoked) throws Exception {
        X509v2CRLBuilder b = new X509v2CRLBuilder(X500Name.getInstance(issuer.getEncoded()), Date.from(thisUpdate));
        b.setNextUpdate(Date.from(nextUpdate));
        for (BigInteger s : revoked) {
            b.addCRLEntry(s, Date.from(thisUpdate), 1);
        }
        return b.build(new JcaContentSignerBuilder(alg).setProvider(new org.bouncycastle.jce.provider.BouncyCastleProvider())
                .build(signer.getPrivate())).getEncoded();
    }

    private static byte[] validCrl(BigInteger... revoked) throws Exception {
        return crl(ARK, TEST_ARK, "SHA384WITHRSAANDMGF1", AT.minus(Duration.ofDays(1)), AT.plus(Duration.ofDays(7)), revoked);
    }

    private static void check(byte[] crl, List<X509Certificate> certs) throws EvidenceVerificationException {
        AmdCrl.check(AmdCrl.parse(crl), ARK, TEST_ARK.getPublic(), certs, AT);
    }

    private static VerificationCheck failure(byte[] crl, List<X509Certificate> certs) {
        return assertThrows(EvidenceVerificationException.class, () -> check(crl, certs)).check();
    }

    @Test
    void aCurrentCrlThatListsNeitherCertificatePasses() throws Exception {
        check(validCrl(BigInteger.valueOf(12345)), List.of(ask(), vcek()));
    }

    @Test
    void aRevokedAskOrVcekIsRefused() throws Exception {
        EvidenceVerificationException e = assertThrows(EvidenceVerificationException.class,
                () -> check(validCrl(ask().getSerialNumber()), List.of(ask(), vcek())));
        assertEquals(VerificationCheck.AMD_CRL, e.check());
        assertTrue(e.getMessage().contains("SEV-Milan") && e.getMessage().contains("revoked"), e.getMessage());
        assertEquals(VerificationCheck.AMD_CRL, failure(validCrl(vcek().getSerialNumber()), List.of(ask(), vcek())));
    }

    @Test
    void forgedExpiredMisnamedOrNonPssCrlsAreRefused() throws Exception {
        assertEquals(VerificationCheck.AMD_CRL, failure(crl(ARK, rsa(), "SHA384WITHRSAANDMGF1",
                AT.minusSeconds(60), AT.plusSeconds(60)), List.of(vcek())));
        assertEquals(VerificationCheck.COLLATERAL_EXPIRED, failure(crl(ARK, TEST_ARK, "SHA384WITHRSAANDMGF1",
                AT.minus(Duration.ofDays(30)), AT.minus(Duration.ofDays(1))), List.of(vcek())));
        assertEquals(VerificationCheck.COLLATERAL_EXPIRED, failure(crl(ARK, TEST_ARK, "SHA384WITHRSAANDMGF1",
                AT.plus(Duration.ofDays(1)), AT.plus(Duration.ofDays(2))), List.of(vcek())));
        assertEquals(VerificationCheck.AMD_CRL, failure(crl(new X500Principal("CN=ARK-Genoa"), TEST_ARK,
                "SHA384WITHRSAANDMGF1", AT.minusSeconds(60), AT.plusSeconds(60)), List.of(vcek())));
        assertEquals(VerificationCheck.AMD_CRL, failure(crl(ARK, TEST_ARK, "SHA384WITHRSA",
                AT.minusSeconds(60), AT.plusSeconds(60)), List.of(vcek())));
    }

    @Test
    void oversizedOrGarbageCrlsGetATypedError() {
        EvidenceVerificationException e = assertThrows(EvidenceVerificationException.class,
                () -> AmdCrl.parse(new byte[AmdCrl.MAX_BYTES + 1]));
        assertEquals(VerificationCheck.AMD_CRL, e.check());
        assertTrue(e.getMessage().contains("at most"), e.getMessage());
        assertEquals(VerificationCheck.AMD_CRL, assertThrows(EvidenceVerificationException.class,
                () -> AmdCrl.parse(new byte[] {0x30, 0x03, 0x02, 0x01})).check());
    }

    private static SnpReportVerifier verifier(SnpVerifierOptions options) {
        return SnpReportVerifier.create(SnpVectors.anchors(), VcekProvider.none(), options);
    }

    private static VerifiedEvidence verifyMilan(SnpReportVerifier v) throws EvidenceVerificationException {
        return v.verify(new VerificationRequest(TeeType.SNP, SnpVectors.read("snp/go-sev-guest-milan/attestation.bin"),
                Optional.of(SnpVectors.read("snp/go-sev-guest-milan/vcek.testcer")), AT));
    }

    @Test
    void theVerifierChecksTheCrlWithThePinnedArkSoATestSignedCrlIsRefused() throws Exception {
        // Issuer name of the real Milan ARK, signature by the test key: only the real ARK's key may sign.
        X500Principal realArk = SnpVectors.anchors().chain(SnpProduct.MILAN, SnpSigningKey.VCEK).ark().getSubjectX500Principal();
        byte[] forged = crl(realArk, TEST_ARK, "SHA384WITHRSAANDMGF1", AT.minusSeconds(60), AT.plus(Duration.ofDays(1)));
        EvidenceVerificationException e = assertThrows(EvidenceVerificationException.class, () -> verifyMilan(
                verifier(SnpVerifierOptions.none().withCrls((p, k) -> Optional.of(forged)))));
        assertEquals(VerificationCheck.AMD_CRL, e.check());
        assertTrue(e.getMessage().contains("signature"), e.getMessage());
    }

    @Test
    void anUnobtainableCrlFailsClosedAndNoProviderMeansNoRevocationCheck() throws Exception {
        EvidenceVerificationException e = assertThrows(EvidenceVerificationException.class, () -> verifyMilan(
                verifier(SnpVerifierOptions.none().withCrls(new FileAmdCrlProvider(dir)))));
        assertEquals(VerificationCheck.COLLATERAL_UNAVAILABLE, e.check());
        assertTrue(e.getMessage().contains("crl-Milan.der"), e.getMessage());
        assertEquals(TcbStatus.UP_TO_DATE, verifyMilan(verifier(SnpVerifierOptions.none())).tcbStatus());
    }

    @Test
    void tcbStatusComparesReportedAndCommittedTcbWithTheCurrentTcb() throws Exception {
        // go-sev-guest Milan: reported = committed = bl 2, tee 0, snp 5, ucode 68.
        SnpTcb same = SnpTcb.of(2, 0, 5, 68, OptionalInt.empty());
        assertEquals(TcbStatus.UP_TO_DATE, verifyMilan(verifier(SnpVerifierOptions.none()
                .withCurrentTcb(Map.of(SnpProduct.MILAN, same)))).tcbStatus());
        for (SnpTcb newer : List.of(SnpTcb.of(3, 0, 5, 68, OptionalInt.empty()), SnpTcb.of(2, 1, 5, 68, OptionalInt.empty()),
                SnpTcb.of(2, 0, 6, 68, OptionalInt.empty()), SnpTcb.of(2, 0, 5, 69, OptionalInt.empty()))) {
            assertEquals(TcbStatus.OUT_OF_DATE, verifyMilan(verifier(SnpVerifierOptions.none()
                    .withCurrentTcb(Map.of(SnpProduct.MILAN, newer)))).tcbStatus(), newer.toString());
        }
        // Another product's current TCB does not apply.
        assertEquals(TcbStatus.UP_TO_DATE, verifyMilan(verifier(SnpVerifierOptions.none()
                .withCurrentTcb(Map.of(SnpProduct.GENOA, SnpTcb.of(99, 99, 99, 99, OptionalInt.empty()))))).tcbStatus());
    }

    @Test
    void tamperedTcbFieldsAreRefused() {
        byte[] reported = SnpVectors.read("snp/go-sev-guest-milan/attestation.bin");
        reported[0x180 + 6] = 9; // REPORTED_TCB.snp above the VCEK's
        assertEquals(VerificationCheck.VCEK_TCB, assertThrows(EvidenceVerificationException.class, () -> verifier(
                SnpVerifierOptions.none()).verify(new VerificationRequest(TeeType.SNP, reported,
                Optional.of(SnpVectors.read("snp/go-sev-guest-milan/vcek.testcer")), AT))).check());
        byte[] committed = SnpVectors.read("snp/go-sev-guest-milan/attestation.bin");
        committed[0x1E0 + 6] = 1; // COMMITTED_TCB.snp lowered: only the signature notices
        assertEquals(VerificationCheck.QUOTE_SIGNATURE, assertThrows(EvidenceVerificationException.class, () -> verifier(
                SnpVerifierOptions.none()).verify(new VerificationRequest(TeeType.SNP, committed,
                Optional.of(SnpVectors.read("snp/go-sev-guest-milan/vcek.testcer")), AT))).check());
    }

    @Test
    void currentTcbFilesAreValidatedNamingTheField() {
        var m = SnpCurrentTcb.parse("{\"Turin\": {\"bootloader\": 1, \"tee\": 2, \"snp\": 3, \"microcode\": 4, \"fmc\": 5}}"
                .getBytes(), "t.json");
        assertEquals(5, m.get(SnpProduct.TURIN).fmc().getAsInt());
        assertEquals(3, m.get(SnpProduct.TURIN).snp());
        for (String bad : List.of("{\"Rome\": {}}", "{\"Milan\": {\"snp\": 300, \"bootloader\": 1, \"tee\": 1, \"microcode\": 1}}",
                "{\"Milan\": {\"kernel\": 1}}", "{\"Turin\": {\"snp\": 1, \"bootloader\": 1, \"tee\": 1, \"microcode\": 1}}", "[")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SnpCurrentTcb.parse(bad.getBytes(), "t.json"));
            assertTrue(e.getMessage().startsWith("t.json"), e.getMessage());
        }
    }

    @Test
    void theCrlCacheKeepsACrlUntilNextUpdateAndRemembersFailures() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        byte[] crl = validCrl();
        AtomicLong nanos = new AtomicLong();
        Clock[] clock = {Clock.fixed(AT, ZoneOffset.UTC)};
        Clock moving = new Clock() {
            @Override
            public java.time.ZoneId getZone() {
                return ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(java.time.ZoneId zone) {
                return this;
            }

            @Override
            public Instant instant() {
                return clock[0].instant();
            }
        };
        CachingAmdCrlProvider cache = new CachingAmdCrlProvider((p, k) -> {
            calls.incrementAndGet();
            return Optional.of(crl);
        }, FetchLimits.defaults(), moving, nanos::get);
        cache.crl(SnpProduct.MILAN, SnpSigningKey.VCEK);
        cache.crl(SnpProduct.MILAN, SnpSigningKey.VCEK);
        assertEquals(1, calls.get());
        cache.crl(SnpProduct.GENOA, SnpSigningKey.VCEK);
        assertEquals(2, calls.get());
        clock[0] = Clock.fixed(AT.plus(Duration.ofDays(8)), ZoneOffset.UTC); // past nextUpdate
        cache.crl(SnpProduct.MILAN, SnpSigningKey.VCEK);
        assertEquals(3, calls.get());

        AtomicInteger failing = new AtomicInteger();
        CachingAmdCrlProvider broken = new CachingAmdCrlProvider((p, k) -> {
            failing.incrementAndGet();
            throw new VcekUnavailableException("KDS down");
        }, FetchLimits.defaults(), moving, nanos::get);
        assertThrows(VcekUnavailableException.class, () -> broken.crl(SnpProduct.MILAN, SnpSigningKey.VCEK));
        VcekUnavailableException again = assertThrows(VcekUnavailableException.class,
                () -> broken.crl(SnpProduct.MILAN, SnpSigningKey.VCEK));
        assertTrue(again.getMessage().contains("recent failure"), again.getMessage());
        assertEquals(1, failing.get());
        nanos.addAndGet(FetchLimits.defaults().failureTtl().toNanos() + 1);
        assertThrows(VcekUnavailableException.class, () -> broken.crl(SnpProduct.MILAN, SnpSigningKey.VCEK));
        assertEquals(2, failing.get());

        CachingAmdCrlProvider garbage = new CachingAmdCrlProvider((p, k) -> Optional.of(new byte[AmdCrl.MAX_BYTES + 1]),
                FetchLimits.defaults(), moving, nanos::get);
        assertTrue(assertThrows(VcekUnavailableException.class, () -> garbage.crl(SnpProduct.MILAN, SnpSigningKey.VCEK))
                .getMessage().contains("at most"));
    }

    @Test
    void fileProviderReadsOfflineCrlsAndRefusesOversizedOnes() throws Exception {
        byte[] crl = validCrl();
        Files.write(dir.resolve("crl-Milan.der"), crl);
        assertEquals(crl.length, new FileAmdCrlProvider(dir).crl(SnpProduct.MILAN, SnpSigningKey.VCEK).orElseThrow().length);
        Files.write(dir.resolve("crl-vlek-Genoa.der"), new byte[AmdCrl.MAX_BYTES + 1]);
        assertThrows(VcekUnavailableException.class, () -> new FileAmdCrlProvider(dir).crl(SnpProduct.GENOA, SnpSigningKey.VLEK));
        X509CRL parsed = AmdCrl.parse(crl);
        assertEquals(ARK, parsed.getIssuerX500Principal());
    }
}
