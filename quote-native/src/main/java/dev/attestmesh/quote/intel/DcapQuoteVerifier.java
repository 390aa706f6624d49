package dev.attestmesh.quote.intel;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.attestmesh.quote.EvidenceParseException;
import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.EvidenceVerifier;
import dev.attestmesh.quote.PlatformId;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationCheck;
import dev.attestmesh.quote.VerificationRequest;
import dev.attestmesh.quote.VerifiedEvidence;
import dev.attestmesh.quote.collateral.CollateralJsonParser;
import dev.attestmesh.quote.collateral.CollateralParseException;
import dev.attestmesh.quote.collateral.CollateralProvider;
import dev.attestmesh.quote.collateral.CollateralUnavailableException;
import dev.attestmesh.quote.collateral.QuoteCollateral;
import dev.attestmesh.quote.sgx.SgxQuote;
import dev.attestmesh.quote.sgx.SgxQuoteParser;
import dev.attestmesh.quote.tdx.TdReport;
import dev.attestmesh.quote.tdx.TdxQuote;
import dev.attestmesh.quote.tdx.TdxQuoteParser;
import dev.attestmesh.quote.trust.EcdsaP256;
import dev.attestmesh.quote.trust.IntelTrustAnchors;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Complete verification of Intel SGX (quote v3) or TDX (quote v4/v5) DCAP quotes at the request's
 * verification time: quote signature with the attestation key; QE report signature with the PCK
 * key; QE report data binding of the attestation key and QE auth data; PCK chain to the pinned Intel
 * SGX Root CA; PCK and Root CA CRLs; TCB Info and QE Identity signatures over their exact delivered
 * bytes with a TCB Signing certificate that chains to the root; FMSPC and PCE-ID of the PCK
 * certificate against the TCB Info; TCB level matching (with the TDX module identity for TDX) merged
 * with the QE Identity level; every validity window. Each failure names one {@link
 * VerificationCheck}.
 *
 * <p>Collateral is the request's when present (dcap-qvl {@code QuoteCollateralV3} JSON), else the
 * configured {@link CollateralProvider}'s. Results that do not depend on the verification time (a
 * verified PCK chain, collateral verified for that chain) are cached; the quote signature, the QE
 * report signature and every validity window are checked on every call. Thread-safe.
 */
public final class DcapQuoteVerifier implements EvidenceVerifier {
    private static final HexFormat HEX = HexFormat.of();

    private final TeeType tee;
    private final IntelTrustAnchors anchors;
    private final CollateralProvider provider;
    private final EcdsaP256.VerifyingKey rootKey;
    /** Attestation keys are per QE instance, so they repeat across a platform's quotes. */
    private final Cache<ByteBuffer, EcdsaP256.VerifyingKey> attestationKeys =
            Caffeine.newBuilder().maximumSize(10_000).build();
    private final Cache<ByteBuffer, PckCertificateChain> chains =
            Caffeine.newBuilder().maximumSize(10_000).build();
    private final Cache<ByteBuffer, QuoteCollateral> suppliedCollateral =
            Caffeine.newBuilder().maximumSize(1_000).build();
    private final Cache<CollateralBinding, VerifiedCollateral> verifiedCollateral =
            Caffeine.newBuilder().maximumSize(10_000).build();

    private DcapQuoteVerifier(TeeType tee, IntelTrustAnchors anchors, CollateralProvider provider) {
        this.tee = tee;
        this.anchors = anchors;
        this.provider = provider;
        this.rootKey = anchors.rootVerifyingKey();
    }

    /**
     * @param sgxOrTdx {@link TeeType#SGX} or {@link TeeType#TDX}
     * @param anchors the pinned Intel root and optional configured TCB Signing certificates
     * @param provider where collateral comes from when the request carries none
     */
    public static DcapQuoteVerifier create(TeeType sgxOrTdx, IntelTrustAnchors anchors, CollateralProvider provider) {
        if (sgxOrTdx != TeeType.SGX && sgxOrTdx != TeeType.TDX) {
            throw new IllegalArgumentException("DCAP verification covers sgx and tdx, not " + sgxOrTdx.wireName());
        }
        return new DcapQuoteVerifier(sgxOrTdx, Objects.requireNonNull(anchors), Objects.requireNonNull(provider));
    }

    @Override
    public TeeType tee() {
        return tee;
    }

    @Override
    public VerifiedEvidence verify(VerificationRequest request) throws EvidenceVerificationException {
        if (request.tee() != tee) {
            throw new EvidenceVerificationException(VerificationCheck.UNSUPPORTED,
                    "this verifier handles " + tee.wireName() + " quotes, not " + request.tee().wireName());
        }
        DcapQuote quote;
        try {
            quote = tee == TeeType.SGX ? SgxQuoteParser.parse(request.evidence()) : TdxQuoteParser.parse(request.evidence());
        } catch (EvidenceParseException e) {
            throw EvidenceVerificationException.parse(e);
        }
        QuoteSignatureData sd = quote.signatureData();
        Instant at = request.at();

        EcdsaP256.VerifyingKey attestationKey = attestationKey(sd.attestationKey());
        if (!EcdsaP256.verifyRaw(attestationKey, quote.signedBytes(), sd.quoteSignature())) {
            throw new EvidenceVerificationException(VerificationCheck.QUOTE_SIGNATURE,
                    "the quote signature does not verify with the quote's attestation key: header or body was altered");
        }
        checkBinding(sd);

        if (sd.certificationDataType() != QuoteSignatureData.PCK_CERT_CHAIN) {
            throw new EvidenceVerificationException(VerificationCheck.PCK_CHAIN, "certification data type "
                    + sd.certificationDataType() + " is not a PCK certificate chain (5); generate the quote with the chain embedded");
        }
        PckCertificateChain chain = chain(sd.certificationData());
        chain.checkValidAt(at);
        if (!EcdsaP256.verifyRaw(chain.leafKey(), sd.qeReport().raw(), sd.qeReportSignature())) {
            throw new EvidenceVerificationException(VerificationCheck.QE_REPORT_SIGNATURE,
                    "the QE report signature does not verify with the PCK certificate's key");
        }

        QuoteCollateral collateral = collateral(request, chain);
        VerifiedCollateral vc = verifiedCollateral(collateral, chain);
        // Wrong collateral is reported as such before its dates are judged: it is the more precise diagnosis.
        checkCollateralMatches(vc, chain);
        vc.checkValidAt(at);

        Optional<TcbEvaluation.TdxInputs> tdxInputs = quote instanceof TdxQuote t
                ? Optional.of(new TcbEvaluation.TdxInputs(t.body().teeTcbSvn(), t.body().mrSignerSeam(), t.body().seamAttributes()))
                : Optional.empty();
        TcbEvaluation eval = TcbEvaluation.evaluate(vc.tcbInfo(), chain.extensions(), tdxInputs, vc.qeIdentity(), sd.qeReport());
        return evidence(quote, chain, eval, request.evidence());
    }

    private EcdsaP256.VerifyingKey attestationKey(byte[] xy) throws EvidenceVerificationException {
        ByteBuffer k = ByteBuffer.wrap(xy);
        EcdsaP256.VerifyingKey key = attestationKeys.getIfPresent(k);
        if (key == null) {
            key = EcdsaP256.fromRaw(xy).orElseThrow(() -> new EvidenceVerificationException(
                    VerificationCheck.QUOTE_SIGNATURE, "the quote's attestation key is not a P-256 point"));
            attestationKeys.put(k, key);
        }
        return key;
    }

    private static void checkBinding(QuoteSignatureData sd) throws EvidenceVerificationException {
        MessageDigest md = sha256();
        md.update(sd.attestationKey());
        md.update(sd.qeAuthData());
        byte[] expected = md.digest();
        byte[] rd = sd.qeReport().reportData();
        boolean ok = Arrays.equals(rd, 0, 32, expected, 0, 32);
        for (int i = 32; i < 64; i++) {
            ok &= rd[i] == 0;
        }
        if (!ok) {
            throw new EvidenceVerificationException(VerificationCheck.QE_REPORT_DATA_BINDING,
                    "the QE report data is not SHA-256(attestation key || QE auth data) || 32 zero bytes");
        }
    }

    private PckCertificateChain chain(byte[] certificationData) throws EvidenceVerificationException {
        ByteBuffer key = ByteBuffer.wrap(sha256().digest(certificationData));
        PckCertificateChain c = chains.getIfPresent(key);
        if (c == null) {
            c = PckCertificateChain.verify(certificationData, anchors, rootKey);
            chains.put(key, c);
        }
        return c;
    }

    private QuoteCollateral collateral(VerificationRequest request, PckCertificateChain chain)
            throws EvidenceVerificationException {
        if (request.collateral().isPresent()) {
            byte[] json = request.collateral().get();
            ByteBuffer key = ByteBuffer.wrap(sha256().digest(json));
            QuoteCollateral c = suppliedCollateral.getIfPresent(key);
            if (c == null) {
                try {
                    c = CollateralJsonParser.quoteCollateralV3(json);
                } catch (CollateralParseException e) {
                    throw new EvidenceVerificationException(VerificationCheck.COLLATERAL_UNAVAILABLE,
                            "the collateral supplied with the request is unreadable: " + e.getMessage(), e);
                }
                suppliedCollateral.put(key, c);
            }
            return c;
        }
        try {
            return provider.collateral(tee, chain.extensions().fmspcHex(), chain.ca());
        } catch (CollateralUnavailableException e) {
            throw new EvidenceVerificationException(VerificationCheck.COLLATERAL_UNAVAILABLE,
                    "collateral for FMSPC " + chain.extensions().fmspcHex() + " is unavailable: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new EvidenceVerificationException(VerificationCheck.COLLATERAL_UNAVAILABLE,
                    "the collateral provider failed: " + e.getMessage(), e);
        }
    }

    private VerifiedCollateral verifiedCollateral(QuoteCollateral c, PckCertificateChain chain)
            throws EvidenceVerificationException {
        CollateralBinding key = new CollateralBinding(c, chain);
        VerifiedCollateral v = verifiedCollateral.getIfPresent(key);
        if (v == null) {
            v = VerifiedCollateral.verify(c, chain, anchors, rootKey);
            verifiedCollateral.put(key, v);
        }
        return v;
    }

    private void checkCollateralMatches(VerifiedCollateral vc, PckCertificateChain chain)
            throws EvidenceVerificationException {
        String expectedId = tee == TeeType.SGX ? "SGX" : "TDX";
        if (!expectedId.equals(vc.tcbInfo().id())) {
            throw new EvidenceVerificationException(VerificationCheck.COLLATERAL_MISMATCH,
                    "the TCB Info is for " + vc.tcbInfo().id() + ", but the quote is " + expectedId);
        }
        if (!vc.tcbInfo().fmspc().equalsIgnoreCase(chain.extensions().fmspcHex())) {
            throw new EvidenceVerificationException(VerificationCheck.COLLATERAL_MISMATCH, "the TCB Info is for FMSPC "
                    + vc.tcbInfo().fmspc() + ", but the PCK certificate's FMSPC is " + chain.extensions().fmspcHex());
        }
        if (!vc.tcbInfo().pceId().equalsIgnoreCase(chain.extensions().pceIdHex())) {
            throw new EvidenceVerificationException(VerificationCheck.COLLATERAL_MISMATCH, "the TCB Info is for PCE-ID "
                    + vc.tcbInfo().pceId() + ", but the PCK certificate's PCE-ID is " + chain.extensions().pceIdHex());
        }
        String qeId = tee == TeeType.SGX ? "QE" : "TD_QE";
        if (!qeId.equals(vc.qeIdentity().id())) {
            throw new EvidenceVerificationException(VerificationCheck.COLLATERAL_MISMATCH,
                    "the QE Identity is for '" + vc.qeIdentity().id() + "', but a " + tee.wireName() + " quote needs '" + qeId + "'");
        }
    }

    private VerifiedEvidence evidence(DcapQuote quote, PckCertificateChain chain, TcbEvaluation eval, byte[] raw) {
        Map<String, String> m = new HashMap<>();
        Map<String, Long> n = new HashMap<>();
        n.put("pcesvn", (long) chain.extensions().pceSvn());
        boolean debug;
        if (quote instanceof SgxQuote s) {
            EnclaveReport b = s.body();
            m.put("mrenclave", HEX.formatHex(b.mrEnclave()));
            m.put("mrsigner", HEX.formatHex(b.mrSigner()));
            m.put("configid", HEX.formatHex(b.configId()));
            m.put("cpusvn", HEX.formatHex(b.cpuSvn()));
            m.put("attributes", HEX.formatHex(b.attributes()));
            n.put("isvprodid", (long) b.isvProdId());
            n.put("isvsvn", (long) b.isvSvn());
            debug = b.debug();
        } else {
            TdReport b = ((TdxQuote) quote).body();
            m.put("mrtd", HEX.formatHex(b.mrTd()));
            m.put("rtmr0", HEX.formatHex(b.rtmr0()));
            m.put("rtmr1", HEX.formatHex(b.rtmr1()));
            m.put("rtmr2", HEX.formatHex(b.rtmr2()));
            m.put("rtmr3", HEX.formatHex(b.rtmr3()));
            m.put("mrseam", HEX.formatHex(b.mrSeam()));
            m.put("mrsignerseam", HEX.formatHex(b.mrSignerSeam()));
            m.put("mrconfigid", HEX.formatHex(b.mrConfigId()));
            m.put("mrowner", HEX.formatHex(b.mrOwner()));
            m.put("mrownerconfig", HEX.formatHex(b.mrOwnerConfig()));
            m.put("xfam", HEX.formatHex(b.xfam()));
            m.put("td_attributes", HEX.formatHex(b.tdAttributes()));
            m.put("tee_tcb_svn", HEX.formatHex(b.teeTcbSvn()));
            b.teeTcbSvn2().ifPresent(v -> m.put("tee_tcb_svn2", HEX.formatHex(v)));
            b.mrServiceTd().ifPresent(v -> m.put("mrservicetd", HEX.formatHex(v)));
            debug = b.debug();
        }
        return new VerifiedEvidence(tee, eval.status(), eval.advisoryIds(), debug, false, quote.reportData(), m, n,
                sha256().digest(raw), Optional.of(HEX.formatHex(chain.extensions().fmspc())),
                // The PPID comes from the PCK leaf, which verified up to the pinned Intel root.
                chain.extensions().ppid().map(p -> new PlatformId(PlatformId.Kind.SGX_PPID, p).value()));
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by every Java platform", e);
        }
    }

    /**
     * Cache key for collateral verified against one PCK chain. Collateral parts are compared by
     * identity: providers and the supplied-collateral cache hand out the same instances while the
     * collateral is current, and identity comparison costs nothing on the warm path.
     */
    private record CollateralBinding(Object tcbInfo, Object qeIdentity, Object pckCrl, Object rootCrl,
            PckCertificateChain chain) {
        CollateralBinding(QuoteCollateral c, PckCertificateChain chain) {
            this(c.tcbInfo(), c.qeIdentity(), c.pckCrl(), c.rootCaCrl(), chain);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof CollateralBinding b && b.tcbInfo == tcbInfo && b.qeIdentity == qeIdentity
                    && b.pckCrl == pckCrl && b.rootCrl == rootCrl && b.chain == chain;
        }

        @Override
        public int hashCode() {
            return Objects.hash(System.identityHashCode(tcbInfo), System.identityHashCode(qeIdentity),
                    System.identityHashCode(pckCrl), System.identityHashCode(rootCrl), System.identityHashCode(chain));
        }
    }
}
