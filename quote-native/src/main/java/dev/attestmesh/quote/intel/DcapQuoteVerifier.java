package dev.attestmesh.quote.intel;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.attestmesh.quote.EvidenceParseException;
import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.EvidenceVerifier;
import dev.attestmesh.quote.PlatformId;
import dev.attestmesh.quote.ReappraisalInputs;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationCheck;
import dev.attestmesh.quote.VerificationRequest;
import dev.attestmesh.quote.VerifiedEvidence;
import dev.attestmesh.quote.collateral.CollateralAuthenticity;
import dev.attestmesh.quote.collateral.CollateralJsonParser;
import dev.attestmesh.quote.collateral.CollateralParseException;
import dev.attestmesh.quote.collateral.CollateralProvider;
import dev.attestmesh.quote.collateral.CollateralUnavailableException;
import dev.attestmesh.quote.collateral.CollateralVersion;
import dev.attestmesh.quote.collateral.CollateralVersions;
import dev.attestmesh.quote.collateral.PckCrl;
import dev.attestmesh.quote.collateral.QeIdentity;
import dev.attestmesh.quote.collateral.QuoteCollateral;
import dev.attestmesh.quote.collateral.RootCaCrl;
import dev.attestmesh.quote.collateral.SignedCollateral;
import dev.attestmesh.quote.collateral.TcbInfo;
import dev.attestmesh.quote.sgx.SgxQuote;
import dev.attestmesh.quote.sgx.SgxQuoteParser;
import dev.attestmesh.quote.tdx.TdReport;
import dev.attestmesh.quote.tdx.TdxQuote;
import dev.attestmesh.quote.tdx.TdxQuoteParser;
import dev.attestmesh.quote.trust.EcdsaP256;
import dev.attestmesh.quote.trust.IntelTrustAnchors;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.cert.X509CRL;
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
 * configured {@link CollateralProvider}'s. Collateral is refused ({@link
 * VerificationCheck#COLLATERAL_OUTDATED}) when its TCB Info or QE Identity is below the configured
 * minimum TCB evaluation data number, and collateral supplied with a request also when any item is
 * older than the provider's for the same quote: a platform cannot choose an older TCB Info or PCK CRL
 * that is still inside its validity window.
 *
 * <p>Results that do not depend on the verification time (a verified attestation key, a verified PCK
 * chain, collateral verified for that chain) are cached in caches bounded by estimated bytes, and
 * only after they verified; the quote signature, the QE report signature, every validity window and
 * the floor are checked on every call. Thread-safe.
 */
public final class DcapQuoteVerifier implements EvidenceVerifier {
    private static final HexFormat HEX = HexFormat.of();

    private final TeeType tee;
    private final IntelTrustAnchors anchors;
    private final CollateralProvider provider;
    private final DcapVerifierOptions options;
    private final EcdsaP256.VerifyingKey rootKey;
    // Every cache below is bounded by estimated bytes, and an entry goes in only once what it holds has
    // verified, so unauthenticated requests cannot fill them (docs/evidence.md, cache bounds).
    /** Attestation keys are per QE instance, so they repeat across a platform's quotes. */
    private final Cache<ByteBuffer, EcdsaP256.VerifyingKey> attestationKeys;
    private final Cache<ByteBuffer, PckCertificateChain> chains;
    private final Cache<ByteBuffer, QuoteCollateral> suppliedCollateral;
    private final Cache<CollateralBinding, VerifiedCollateral> verifiedCollateral;
    /** Versions of the provider's items, by item identity: parsed once per item the provider hands out. */
    private final Cache<Object, Optional<CollateralVersion>> providerVersions =
            Caffeine.newBuilder().weakKeys().maximumSize(256).build();

    /** Estimated heap cost of a decoded P-256 key with its precomputation, and of a cache entry. */
    private static final int KEY_WEIGHT = 4096;
    private static final int ENTRY_OVERHEAD = 512;

    private DcapQuoteVerifier(TeeType tee, IntelTrustAnchors anchors, CollateralProvider provider,
            DcapVerifierOptions options) {
        this.tee = tee;
        this.anchors = anchors;
        this.provider = provider;
        this.options = options;
        this.rootKey = anchors.rootVerifyingKey();
        long share = options.cacheMaxBytes() / 4;
        this.attestationKeys = Caffeine.newBuilder().maximumWeight(share)
                .weigher((ByteBuffer k, EcdsaP256.VerifyingKey v) -> KEY_WEIGHT + k.capacity()).build();
        this.chains = Caffeine.newBuilder().maximumWeight(share)
                .weigher((ByteBuffer k, PckCertificateChain c) -> c.weight()).build();
        this.suppliedCollateral = Caffeine.newBuilder().maximumWeight(share)
                .weigher((ByteBuffer k, QuoteCollateral c) -> weight(c)).build();
        this.verifiedCollateral = Caffeine.newBuilder().maximumWeight(share)
                .weigher((CollateralBinding k, VerifiedCollateral v) -> 2 * weight(k.collateral())).build();
    }

    /** As {@link #create(TeeType, IntelTrustAnchors, CollateralProvider, DcapVerifierOptions)} with {@link DcapVerifierOptions#defaults()}. */
    public static DcapQuoteVerifier create(TeeType sgxOrTdx, IntelTrustAnchors anchors, CollateralProvider provider) {
        return create(sgxOrTdx, anchors, provider, DcapVerifierOptions.defaults());
    }

    /**
     * @param sgxOrTdx {@link TeeType#SGX} or {@link TeeType#TDX}
     * @param anchors the pinned Intel root and optional configured TCB Signing certificates
     * @param provider where collateral comes from when the request carries none, and the floor that
     *     collateral supplied with a request must reach
     * @param options minimum TCB evaluation data number and cache bound
     */
    public static DcapQuoteVerifier create(TeeType sgxOrTdx, IntelTrustAnchors anchors, CollateralProvider provider,
            DcapVerifierOptions options) {
        if (sgxOrTdx != TeeType.SGX && sgxOrTdx != TeeType.TDX) {
            throw new IllegalArgumentException("DCAP verification covers sgx and tdx, not " + sgxOrTdx.wireName());
        }
        return new DcapQuoteVerifier(sgxOrTdx, Objects.requireNonNull(anchors), Objects.requireNonNull(provider),
                Objects.requireNonNull(options));
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

        ByteBuffer akBytes = ByteBuffer.wrap(sd.attestationKey());
        EcdsaP256.VerifyingKey cachedKey = attestationKeys.getIfPresent(akBytes);
        EcdsaP256.VerifyingKey attestationKey = cachedKey != null ? cachedKey : attestationKey(sd.attestationKey());
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
        if (cachedKey == null) {
            // The key is now bound by a QE report that a PCK key chained to the Intel root signed.
            attestationKeys.put(akBytes, attestationKey);
        }

        Optional<Supplied> supplied = supplied(request);
        QuoteCollateral collateral = supplied.isPresent() ? supplied.get().collateral() : providerCollateral(chain);
        CollateralBinding binding = new CollateralBinding(collateral, chain);
        VerifiedCollateral cachedVc = verifiedCollateral.getIfPresent(binding);
        VerifiedCollateral vc = cachedVc != null ? cachedVc : VerifiedCollateral.verify(collateral, chain, anchors, rootKey);
        // Wrong collateral is reported as such before its dates are judged: it is the more precise diagnosis.
        checkCollateralMatches(vc, chain);
        vc.checkValidAt(at);
        checkFloor(vc, supplied.isPresent(), chain);
        if (cachedVc == null) {
            verifiedCollateral.put(binding, vc);
        }
        if (supplied.isPresent() && !supplied.get().cached()) {
            suppliedCollateral.put(supplied.get().key(), collateral);
        }

        Optional<TcbEvaluation.TdxInputs> tdxInputs = quote instanceof TdxQuote t
                ? Optional.of(new TcbEvaluation.TdxInputs(t.body().teeTcbSvn(), t.body().mrSignerSeam(), t.body().seamAttributes()))
                : Optional.empty();
        TcbEvaluation eval = TcbEvaluation.evaluate(vc.tcbInfo(), chain.extensions(), tdxInputs, vc.qeIdentity(), sd.qeReport());
        return evidence(quote, chain, eval, request.evidence(), reappraisalInputs(sd, tdxInputs));
    }

    /**
     * Judges the stored evidence's TCB again with this verifier's collateral source at {@code at}: the PCK
     * chain is verified again to the pinned root (and against the current CRLs), the collateral must
     * match, verify, be valid at {@code at} and reach the floor, and the TCB level matching runs on the
     * stored PCK extensions, QE report and TDX module inputs, exactly as {@link #verify} does.
     */
    @Override
    public VerifiedEvidence reappraise(VerifiedEvidence stored, Instant at) throws EvidenceVerificationException {
        if (stored.tee() != tee) {
            throw new EvidenceVerificationException(VerificationCheck.UNSUPPORTED,
                    "this verifier handles " + tee.wireName() + " evidence, not " + stored.tee().wireName());
        }
        Optional<ReappraisalInputs> in = stored.reappraisalInputs()
                .filter(i -> i.scheme().equals(ReappraisalInputs.INTEL_DCAP));
        if (in.isEmpty()) {
            return stored; // recorded before inputs were kept: judged again at its next attestation
        }
        byte[] certificationData = input(in.get(), "pck_chain");
        EnclaveReport qeReport;
        try {
            qeReport = EnclaveReport.read(new QuoteByteReader(input(in.get(), "qe_report"), "stored QE report"), 0);
        } catch (EvidenceParseException e) {
            throw EvidenceVerificationException.parse(e);
        }
        Optional<TcbEvaluation.TdxInputs> tdx = tee == TeeType.TDX
                ? Optional.of(new TcbEvaluation.TdxInputs(input(in.get(), "tee_tcb_svn"), input(in.get(), "mrsignerseam"),
                        input(in.get(), "seam_attributes")))
                : Optional.empty();
        PckCertificateChain chain = chain(certificationData);
        chain.checkValidAt(at);
        QuoteCollateral collateral = providerCollateral(chain);
        CollateralBinding binding = new CollateralBinding(collateral, chain);
        VerifiedCollateral cachedVc = verifiedCollateral.getIfPresent(binding);
        VerifiedCollateral vc = cachedVc != null ? cachedVc : VerifiedCollateral.verify(collateral, chain, anchors, rootKey);
        checkCollateralMatches(vc, chain);
        vc.checkValidAt(at);
        checkFloor(vc, false, chain);
        if (cachedVc == null) {
            verifiedCollateral.put(binding, vc);
        }
        TcbEvaluation eval = TcbEvaluation.evaluate(vc.tcbInfo(), chain.extensions(), tdx, vc.qeIdentity(), qeReport);
        return stored.withTcb(eval.status(), eval.advisoryIds());
    }

    private static byte[] input(ReappraisalInputs in, String field) throws EvidenceVerificationException {
        return in.bytes(field).orElseThrow(() -> new EvidenceVerificationException(VerificationCheck.PARSE,
                "the stored reappraisal inputs lack '" + field + "'"));
    }

    /** The verified parts of the quote that TCB matching reads (see {@link ReappraisalInputs}). */
    private static Optional<ReappraisalInputs> reappraisalInputs(QuoteSignatureData sd,
            Optional<TcbEvaluation.TdxInputs> tdx) {
        Map<String, String> f = new HashMap<>();
        f.put("pck_chain", HEX.formatHex(sd.certificationData()));
        f.put("qe_report", HEX.formatHex(sd.qeReport().raw()));
        tdx.ifPresent(t -> {
            f.put("tee_tcb_svn", HEX.formatHex(t.teeTcbSvn()));
            f.put("mrsignerseam", HEX.formatHex(t.mrSignerSeam()));
            f.put("seam_attributes", HEX.formatHex(t.seamAttributes()));
        });
        try {
            return Optional.of(new ReappraisalInputs(ReappraisalInputs.INTEL_DCAP, f));
        } catch (IllegalArgumentException e) {
            return Optional.empty(); // an outsized chain is not kept: the node is judged again when it renews
        }
    }

    private static EcdsaP256.VerifyingKey attestationKey(byte[] xy) throws EvidenceVerificationException {
        return EcdsaP256.fromRaw(xy).orElseThrow(() -> new EvidenceVerificationException(
                VerificationCheck.QUOTE_SIGNATURE, "the quote's attestation key is not a P-256 point"));
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

    /**
     * Collateral sent with the request, parsed (or found among supplied collateral that verified
     * before). Nothing is cached here: the caller caches it once it has verified and passed the floor.
     */
    private record Supplied(QuoteCollateral collateral, ByteBuffer key, boolean cached) {}

    private Optional<Supplied> supplied(VerificationRequest request) throws EvidenceVerificationException {
        if (request.collateral().isEmpty()) {
            return Optional.empty();
        }
        byte[] json = request.collateral().get();
        ByteBuffer key = ByteBuffer.wrap(sha256().digest(json));
        QuoteCollateral c = suppliedCollateral.getIfPresent(key);
        if (c != null) {
            return Optional.of(new Supplied(c, key, true));
        }
        try {
            return Optional.of(new Supplied(CollateralJsonParser.quoteCollateralV3(json), key, false));
        } catch (CollateralParseException e) {
            throw new EvidenceVerificationException(VerificationCheck.COLLATERAL_UNAVAILABLE,
                    "the collateral supplied with the request is unreadable: " + e.getMessage(), e);
        }
    }

    private QuoteCollateral providerCollateral(PckCertificateChain chain) throws EvidenceVerificationException {
        try {
            return provider.collateral(tee, chain.extensions().fmspcHex(), chain.ca(), chain.intermediate());
        } catch (CollateralUnavailableException e) {
            throw new EvidenceVerificationException(VerificationCheck.COLLATERAL_UNAVAILABLE,
                    "collateral for FMSPC " + chain.extensions().fmspcHex() + " is unavailable: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new EvidenceVerificationException(VerificationCheck.COLLATERAL_UNAVAILABLE,
                    "the collateral provider failed: " + e.getMessage(), e);
        }
    }

    /**
     * The collateral floor. All collateral must reach the configured minimum TCB evaluation data number;
     * collateral supplied with the request must also be no older, item by item, than what the
     * configured provider has for this quote (evaluation numbers and issue dates of TCB Info and QE
     * Identity, CRL numbers and thisUpdate of the CRLs). An item the provider cannot give is not
     * compared; the minimum still applies.
     */
    private void checkFloor(VerifiedCollateral vc, boolean supplied, PckCertificateChain chain)
            throws EvidenceVerificationException {
        String whose = supplied ? "supplied" : "the provider's";
        Optional<String> below = vc.versions().belowMinimum(options.minimumTcbEvaluationDataNumber(), whose);
        if (below.isPresent()) {
            throw new EvidenceVerificationException(VerificationCheck.COLLATERAL_OUTDATED, below.get()
                    + (supplied ? "; send collateral from after that TCB recovery" : "; the collateral source is out of date"));
        }
        if (!supplied) {
            return;
        }
        Optional<String> older = vc.versions().olderThan(providerVersions(chain));
        if (older.isPresent()) {
            throw new EvidenceVerificationException(VerificationCheck.COLLATERAL_OUTDATED, older.get()
                    + "; send current collateral, or none to have the control plane use its own");
        }
    }

    /** What the provider has for this quote, item by item; items it cannot give or that do not fit are unknown. */
    private CollateralVersions providerVersions(PckCertificateChain chain) {
        String fmspc = chain.extensions().fmspcHex();
        String tcbId = tee == TeeType.SGX ? "SGX" : "TDX";
        String qeId = tee == TeeType.SGX ? "QE" : "TD_QE";
        Optional<CollateralVersion> tcb = providerItem(() -> provider.tcbInfo(tee, fmspc), o -> {
            TcbInfo t = TcbInfo.parse(((SignedCollateral) o).body());
            return t.fmspc().equalsIgnoreCase(fmspc) && tcbId.equals(t.id())
                    ? Optional.of(CollateralVersion.of(t)) : Optional.empty();
        });
        Optional<CollateralVersion> qe = providerItem(() -> provider.qeIdentity(tee), o -> {
            QeIdentity q = QeIdentity.parse(((SignedCollateral) o).body());
            return qeId.equals(q.id()) ? Optional.of(CollateralVersion.of(q)) : Optional.empty();
        });
        Optional<CollateralVersion> pck = providerItem(() -> provider.pckCrl(chain.ca(), chain.intermediate()), o -> {
            X509CRL crl = CollateralAuthenticity.crl(((PckCrl) o).der(), "PCK CRL");
            return crl.getIssuerX500Principal().equals(chain.intermediate().getSubjectX500Principal())
                    ? Optional.of(CollateralVersion.of(CollateralVersion.Kind.PCK_CRL, crl)) : Optional.empty();
        });
        Optional<CollateralVersion> root = providerItem(provider::rootCaCrl, o -> {
            X509CRL crl = CollateralAuthenticity.crl(((RootCaCrl) o).der(), "Root CA CRL");
            return crl.getIssuerX500Principal().equals(anchors.root().getSubjectX500Principal())
                    ? Optional.of(CollateralVersion.of(CollateralVersion.Kind.ROOT_CA_CRL, crl)) : Optional.empty();
        });
        return new CollateralVersions(tcb, qe, pck, root);
    }

    private interface ItemSource {
        Object get() throws CollateralUnavailableException;
    }

    private interface VersionReader {
        Optional<CollateralVersion> read(Object item) throws Exception;
    }

    private Optional<CollateralVersion> providerItem(ItemSource source, VersionReader reader) {
        Object item;
        try {
            item = source.get();
        } catch (CollateralUnavailableException | RuntimeException e) {
            return Optional.empty(); // nothing to compare with: the minimum evaluation number is the floor
        }
        Optional<CollateralVersion> known = providerVersions.getIfPresent(item);
        if (known != null) {
            return known;
        }
        Optional<CollateralVersion> v;
        try {
            v = reader.read(item);
        } catch (Exception e) {
            v = Optional.empty();
        }
        providerVersions.put(item, v);
        return v;
    }

    /** Estimated heap bytes of parsed collateral: about three times its encodings, plus overhead. */
    private static int weight(QuoteCollateral c) {
        long bytes = c.tcbInfo().body().length + c.qeIdentity().body().length + c.pckCrl().der().length
                + c.rootCaCrl().der().length + 2048L * (c.tcbInfo().issuerChain().size()
                        + c.qeIdentity().issuerChain().size() + c.pckCrl().issuerChain().size());
        return (int) Math.min(Integer.MAX_VALUE, ENTRY_OVERHEAD + 3 * bytes);
    }

    /** Estimated bytes held by the verifier's caches (for tests and monitoring). */
    public long cachedBytes() {
        return weighted(attestationKeys) + weighted(chains) + weighted(suppliedCollateral) + weighted(verifiedCollateral);
    }

    private static long weighted(Cache<?, ?> c) {
        c.cleanUp();
        return c.policy().eviction().map(e -> e.weightedSize().orElse(0L)).orElse(0L);
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

    private VerifiedEvidence evidence(DcapQuote quote, PckCertificateChain chain, TcbEvaluation eval, byte[] raw,
            Optional<ReappraisalInputs> inputs) {
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
                chain.extensions().ppid().map(p -> new PlatformId(PlatformId.Kind.SGX_PPID, p).value()), inputs);
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
            PckCertificateChain chain, QuoteCollateral collateral) {
        CollateralBinding(QuoteCollateral c, PckCertificateChain chain) {
            this(c.tcbInfo(), c.qeIdentity(), c.pckCrl(), c.rootCaCrl(), chain, c);
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
