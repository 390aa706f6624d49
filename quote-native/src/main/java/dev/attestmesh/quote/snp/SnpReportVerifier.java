package dev.attestmesh.quote.snp;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.attestmesh.quote.EvidenceParseException;
import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.EvidenceVerifier;
import dev.attestmesh.quote.PlatformId;
import dev.attestmesh.quote.ReappraisalInputs;
import dev.attestmesh.quote.TcbStatus;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationCheck;
import dev.attestmesh.quote.VerificationRequest;
import dev.attestmesh.quote.VerifiedEvidence;
import dev.attestmesh.quote.trust.AmdTrustAnchors;
import dev.attestmesh.quote.trust.AmdTrustAnchors.AnchorChain;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.KeyFactory;
import java.security.Provider;
import java.security.PublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.security.Signature;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import org.bouncycastle.jce.provider.BouncyCastleProvider;

/**
 * Verifies AMD SEV-SNP attestation reports (raw 1184-byte reports, or Azure HCL reports wrapping one).
 *
 * <p>Checks, in order, each failing with its own {@link VerificationCheck}: the report parses
 * ({@code PARSE}); the signing certificate is obtained from the request's collateral (DER or PEM, the
 * VCEK/VLEK first, optionally followed by the ASK/ASVK and ARK) or else from the {@link VcekProvider}
 * ({@code COLLATERAL_UNAVAILABLE}) and is the kind the report's key field names ({@code
 * COLLATERAL_MISMATCH}); the product from CPUID agrees with the certificate and any expectation ({@code
 * VCEK_TCB}); the ARK matches its pin ({@code TRUST_ANCHOR}); VCEK/VLEK, ASK/ASVK and ARK chain with
 * RSASSA-PSS ({@code VCEK_CHAIN}) and are valid at {@link VerificationRequest#at()} ({@code
 * COLLATERAL_EXPIRED}); REPORTED_TCB equals the certificate's SPL extensions and CHIP_ID its hwID
 * ({@code VCEK_TCB}); when {@link SnpVerifierOptions#crls()} checks revocation, AMD's CRL for the
 * product is obtainable ({@code COLLATERAL_UNAVAILABLE}), signed by the pinned ARK, current, and lists
 * neither the ASK/ASVK nor the VCEK/VLEK ({@code AMD_CRL}, {@code COLLATERAL_EXPIRED}); the ECDSA P-384
 * signature over bytes [0, 0x2A0) verifies ({@code QUOTE_SIGNATURE}); for HCL reports, REPORT_DATA binds
 * the HCL runtime data ({@code HCL_REPORT_DATA_BINDING}). The TCB status compares the reported and
 * committed TCB with {@link SnpVerifierOptions#currentTcb()} (see {@code tcbStatus}).
 *
 * <p>Thread-safe. A signing certificate is cached (by the SHA-256 of the collateral bytes, or by chip
 * and TCB when it came from the {@link VcekProvider}) only after its chain to the pinned ARK verified
 * and it matched the report's chip and TCB, in a cache bounded by estimated bytes; verified chain links
 * are cached by the SHA-256 of their certificates. So repeated verification against a known VCEK costs
 * one SHA-256 and one ECDSA P-384 verification, and unverified input never occupies memory. The
 * provider is asked only for a report that parsed, is signed with a known algorithm, carries a
 * well-formed P-384 signature and an unmasked chip ID (for a VCEK), and only when no verified
 * certificate for that chip and TCB is cached; wrap a remote provider in {@link RateLimitedVcekProvider}.
 * Validity windows are checked every time.
 */
public final class SnpReportVerifier implements EvidenceVerifier {
    private static final HexFormat HEX = HexFormat.of();
    private static final Provider BC = new BouncyCastleProvider();
    /** Default bound on the verifier's caches: 32 MiB. */
    public static final long DEFAULT_CACHE_MAX_BYTES = 32L << 20;
    /** The order of P-384: a signature scalar outside [1, n) cannot verify, so such a report is malformed. */
    private static final java.math.BigInteger P384_N = new java.math.BigInteger(
            "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973", 16);
    private static final int ENTRY_OVERHEAD = 512;

    private final AmdTrustAnchors anchors;
    private final VcekProvider provider;
    private final SnpVerifierOptions options;
    /** Verified signing certificates, by {@link SuppliedKey} or {@link FetchedKey}. */
    private final Cache<Object, ParsedCollateral> signers;
    private final Cache<String, Boolean> verifiedChains;
    /** Parsed AMD CRLs by the SHA-256 of their bytes (a handful: one per product and key kind). */
    private final Cache<String, X509CRL> parsedCrls = Caffeine.newBuilder().maximumSize(16).build();
    // Identity-keyed, for anchor certificates only (collateral certificates carry their own fingerprints).
    private final Cache<X509Certificate, String> anchorFingerprints = Caffeine.newBuilder().weakKeys().maximumSize(64).build();

    /** Cache key of certificates that came with a request: the SHA-256 of the collateral bytes. */
    private record SuppliedKey(String sha256) {}

    /** Cache key of a certificate obtained from the provider: which chip and TCB it is for. */
    private record FetchedKey(VcekRequest request) {}

    /**
     * Certificates decoded from one collateral blob, with their fingerprints.
     *
     * @param bytes the size of the blob, for the cache's weight
     */
    private record ParsedCollateral(AmdSigningCertificate signer, PublicKey signerKey, List<X509Certificate> extras,
            java.util.IdentityHashMap<X509Certificate, String> fingerprints, int bytes) {
    }

    private SnpReportVerifier(AmdTrustAnchors anchors, VcekProvider provider, SnpVerifierOptions options, long cacheMaxBytes) {
        if (cacheMaxBytes < 1L << 20) {
            throw new IllegalArgumentException("the SNP verifier's caches need at least 1 MiB, not " + cacheMaxBytes + " bytes");
        }
        this.anchors = Objects.requireNonNull(anchors, "anchors");
        this.provider = Objects.requireNonNull(provider, "provider");
        this.options = Objects.requireNonNull(options, "options");
        // Decoded certificates take about four times their encoding; the chip-and-TCB key adds its hex.
        this.signers = Caffeine.newBuilder().maximumWeight(cacheMaxBytes - cacheMaxBytes / 8)
                .weigher((Object k, ParsedCollateral p) -> ENTRY_OVERHEAD + 4 * p.bytes())
                .build();
        this.verifiedChains = Caffeine.newBuilder().maximumWeight(cacheMaxBytes / 8)
                .weigher((String k, Boolean v) -> 64 + 2 * k.length())
                .build();
    }

    /** A verifier using {@code anchors} for the AMD roots and {@code provider} when no VCEK comes as collateral. */
    public static SnpReportVerifier create(AmdTrustAnchors anchors, VcekProvider provider) {
        return create(anchors, provider, SnpVerifierOptions.none());
    }

    /** As {@link #create(AmdTrustAnchors, VcekProvider)}, also enforcing {@code options}. */
    public static SnpReportVerifier create(AmdTrustAnchors anchors, VcekProvider provider, SnpVerifierOptions options) {
        return create(anchors, provider, options, DEFAULT_CACHE_MAX_BYTES);
    }

    /**
     * As {@link #create(AmdTrustAnchors, VcekProvider, SnpVerifierOptions)} with the caches bounded to
     * {@code cacheMaxBytes} estimated bytes (at least 1 MiB).
     */
    public static SnpReportVerifier create(AmdTrustAnchors anchors, VcekProvider provider, SnpVerifierOptions options,
            long cacheMaxBytes) {
        return new SnpReportVerifier(anchors, provider, options, cacheMaxBytes);
    }

    /** Estimated bytes held by the verifier's caches (for tests and monitoring). */
    public long cachedBytes() {
        return weighted(signers) + weighted(verifiedChains);
    }

    private static long weighted(Cache<?, ?> c) {
        c.cleanUp();
        return c.policy().eviction().map(e -> e.weightedSize().orElse(0L)).orElse(0L);
    }

    @Override
    public TeeType tee() {
        return TeeType.SNP;
    }

    @Override
    public VerifiedEvidence verify(VerificationRequest request) throws EvidenceVerificationException {
        if (request.tee() != TeeType.SNP) {
            throw new EvidenceVerificationException(VerificationCheck.UNSUPPORTED,
                    "the SNP verifier was given '" + request.tee().wireName() + "' evidence");
        }
        byte[] evidence = request.evidence();
        SnpReport report;
        Optional<AzureHclReport> hcl;
        try {
            if (AzureHclReport.looksLikeHcl(evidence)) {
                AzureHclReport h = AzureHclReport.parse(evidence);
                hcl = Optional.of(h);
                report = h.snpReport();
            } else {
                hcl = Optional.empty();
                report = SnpReport.parse(evidence);
            }
        } catch (EvidenceParseException e) {
            throw EvidenceVerificationException.parse(e);
        }
        if (report.signatureAlgo() != 1) {
            throw fail(VerificationCheck.QUOTE_SIGNATURE, "report signature algorithm " + report.signatureAlgo()
                    + " is not 1 (ECDSA P-384 with SHA-384)");
        }
        if (report.signingKey() == SnpSigningKey.NONE) {
            throw fail(VerificationCheck.QUOTE_SIGNATURE, "the report is unsigned (signing key field 7)");
        }
        checkSignatureShape(report);

        Object cacheKey = request.collateral().isPresent() ? new SuppliedKey(sha256Hex(request.collateral().get()))
                : new FetchedKey(VcekRequest.forReport(report));
        ParsedCollateral cached = signers.getIfPresent(cacheKey);
        ParsedCollateral collateral = cached != null ? cached : collateral(request, report);
        AmdSigningCertificate signer = collateral.signer();
        if (signer.keyType() != report.signingKey()) {
            throw fail(VerificationCheck.COLLATERAL_MISMATCH, "the report is signed by its " + report.signingKey()
                    + " but the certificate supplied is a " + signer.keyType());
        }
        SnpProduct product = product(report, signer);

        AnchorChain chain = chain(product, report.signingKey(), collateral);
        checkValidity(request.at(), signer.certificate(), chain.intermediate(), chain.ark());
        checkTcb(report, signer, product);
        checkRevocation(product, report.signingKey(), chain, signer, request.at());
        if (cached == null) {
            // The certificate chains to the pinned ARK and is this chip's for this TCB: worth keeping.
            signers.put(cacheKey, collateral);
        }
        int reportOffset = hcl.isPresent() ? AzureHclReport.REPORT_OFFSET : 0;
        checkReportSignature(evidence, reportOffset, report, collateral);
        if (hcl.isPresent()) {
            checkHclBinding(hcl.get());
        }
        VerifiedEvidence claims = claims(report, product, evidence, tcbStatus(report, product));
        return withInputs(claims, Arrays.copyOfRange(evidence, reportOffset, reportOffset + SnpReport.LENGTH), signer,
                chain);
    }

    private static void checkReportSignature(byte[] bytes, int offset, SnpReport report, ParsedCollateral collateral)
            throws EvidenceVerificationException {
        AmdSigningCertificate signer = collateral.signer();
        try {
            // BouncyCastle verifies P-384 about three times faster than SunEC here (0.6 ms vs 1.8 ms).
            Signature ecdsa = Signature.getInstance("SHA384withPLAIN-ECDSA", BC);
            ecdsa.initVerify(collateral.signerKey());
            ecdsa.update(bytes, offset, SnpReport.SIGNED_LENGTH);
            if (!ecdsa.verify(report.signatureP1363())) {
                throw fail(VerificationCheck.QUOTE_SIGNATURE, "the report signature does not verify with the "
                        + signer.keyType() + "; the report was altered or signed by another chip");
            }
        } catch (GeneralSecurityException e) {
            throw new EvidenceVerificationException(VerificationCheck.QUOTE_SIGNATURE,
                    "the report signature could not be checked with the " + signer.keyType() + ": " + e.getMessage(), e);
        }
    }

    /**
     * Judges the TCB of SNP evidence this verifier verified before, under the CRLs and current TCB in
     * force now (after AMD published a CRL that moved on, or the operator raised the current TCB): the
     * stored report's signature with the stored VCEK/VLEK, that certificate's chain to the pinned ARK, the
     * validity windows at {@code at}, the REPORTED_TCB binding, revocation against the CRL the provider
     * gives now, and the TCB status against the current TCB, exactly as {@link #verify} does. Evidence
     * stored without inputs is returned unchanged (judged again at its next attestation).
     */
    @Override
    public VerifiedEvidence reappraise(VerifiedEvidence stored, Instant at) throws EvidenceVerificationException {
        if (stored.tee() != TeeType.SNP) {
            throw new EvidenceVerificationException(VerificationCheck.UNSUPPORTED,
                    "the SNP verifier was given stored '" + stored.tee().wireName() + "' evidence");
        }
        Optional<ReappraisalInputs> in = stored.reappraisalInputs().filter(i -> i.scheme().equals(ReappraisalInputs.AMD_SNP));
        if (in.isEmpty()) {
            return stored;
        }
        byte[] raw = input(in.get(), "report");
        SnpReport report;
        try {
            report = SnpReport.parse(raw);
        } catch (EvidenceParseException e) {
            throw EvidenceVerificationException.parse(e);
        }
        ParsedCollateral collateral;
        try {
            collateral = parsed(List.of(certificate(input(in.get(), "signer")), certificate(input(in.get(), "intermediate")),
                    certificate(input(in.get(), "ark"))), 0);
        } catch (CertificateException e) {
            throw new EvidenceVerificationException(VerificationCheck.VCEK_CHAIN,
                    "the stored " + report.signingKey() + " chain is unusable: " + e.getMessage(), e);
        }
        AmdSigningCertificate signer = collateral.signer();
        if (signer.keyType() != report.signingKey()) {
            throw fail(VerificationCheck.COLLATERAL_MISMATCH, "the stored report is signed by its " + report.signingKey()
                    + " but the stored certificate is a " + signer.keyType());
        }
        SnpProduct product = product(report, signer);
        AnchorChain chain = chain(product, report.signingKey(), collateral);
        checkValidity(at, signer.certificate(), chain.intermediate(), chain.ark());
        checkTcb(report, signer, product);
        checkRevocation(product, report.signingKey(), chain, signer, at);
        checkReportSignature(raw, 0, report, collateral);
        return stored.withTcb(tcbStatus(report, product), List.of());
    }

    private static byte[] input(ReappraisalInputs in, String field) throws EvidenceVerificationException {
        return in.bytes(field).orElseThrow(() -> new EvidenceVerificationException(VerificationCheck.PARSE,
                "the stored reappraisal inputs lack '" + field + "'"));
    }

    private static X509Certificate certificate(byte[] der) throws CertificateException {
        List<X509Certificate> certs = AmdCertificateDecoder.decodeAll(der);
        if (certs.size() != 1) {
            throw new CertificateException("expected one stored certificate, got " + certs.size());
        }
        return certs.getFirst();
    }

    /**
     * The verified parts a later {@link #reappraise} reads: the signed report and the certificates it was
     * verified with (the ARK is checked against its pin again when they are read back).
     */
    private static VerifiedEvidence withInputs(VerifiedEvidence claims, byte[] report, AmdSigningCertificate signer,
            AnchorChain chain) {
        try {
            Map<String, String> f = new LinkedHashMap<>();
            f.put("report", HEX.formatHex(report));
            f.put("signer", HEX.formatHex(signer.certificate().getEncoded()));
            f.put("intermediate", HEX.formatHex(chain.intermediate().getEncoded()));
            f.put("ark", HEX.formatHex(chain.ark().getEncoded()));
            ReappraisalInputs in = new ReappraisalInputs(ReappraisalInputs.AMD_SNP, f);
            return new VerifiedEvidence(claims.tee(), claims.tcbStatus(), claims.advisoryIds(), claims.debug(),
                    claims.insecure(), claims.reportData(), claims.measurements(), claims.numbers(),
                    claims.evidenceSha256(), claims.fmspcOrChip(), claims.platformId(), Optional.of(in));
        } catch (CertificateEncodingException | IllegalArgumentException e) {
            return claims; // not kept (outsized or unencodable): the node is judged again when it renews
        }
    }

    /**
     * Checks the ASK/ASVK and VCEK/VLEK against AMD's CRL for the product, when CRLs are configured. The
     * CRL is parsed once per distinct bytes; its signature (one RSA-4096 PSS verification with the ARK's
     * key), validity window and serials are checked on every verification.
     */
    private void checkRevocation(SnpProduct product, SnpSigningKey keyType, AnchorChain chain, AmdSigningCertificate signer,
            Instant at) throws EvidenceVerificationException {
        Optional<byte[]> bytes;
        try {
            bytes = options.crls().crl(product, keyType);
        } catch (VcekUnavailableException e) {
            throw new EvidenceVerificationException(VerificationCheck.COLLATERAL_UNAVAILABLE, "AMD's CRL for "
                    + product.kdsName() + " is unavailable, so revocation cannot be checked: " + e.getMessage(), e);
        }
        if (bytes.isEmpty()) {
            return;
        }
        X509CRL crl = parsedCrls.get(sha256Hex(bytes.get()), k -> {
            try {
                return AmdCrl.parse(bytes.get());
            } catch (EvidenceVerificationException e) {
                return null;
            }
        });
        if (crl == null) {
            throw fail(VerificationCheck.AMD_CRL, "AMD's CRL for " + product.kdsName() + " is not a valid X.509 CRL");
        }
        AmdCrl.check(crl, chain.ark().getSubjectX500Principal(), chain.ark().getPublicKey(),
                List.of(chain.intermediate(), signer.certificate()), at);
    }

    /**
     * The TCB status (docs/evidence.md, "SEV-SNP TCB status"): OutOfDate when the reported or the
     * committed TCB is below the configured current TCB of the product in any component, or the
     * committed TCB is below the reported one (the firmware could roll back below what the VCEK
     * certifies); otherwise UpToDate. Revoked certificates never get a status: they are refused.
     */
    private TcbStatus tcbStatus(SnpReport report, SnpProduct product) {
        SnpTcb reported = report.reportedTcb(product);
        SnpTcb committed = SnpTcb.decode(report.committedTcbRaw(), product);
        if (!committed.atLeast(reported)) {
            return TcbStatus.OUT_OF_DATE;
        }
        SnpTcb current = options.currentTcb().get().get(product);
        if (current != null && (!reported.atLeast(current) || !committed.atLeast(current))) {
            return TcbStatus.OUT_OF_DATE;
        }
        return TcbStatus.UP_TO_DATE;
    }

    /**
     * A report whose signature scalars are out of range cannot verify with any key: refuse it before
     * anything is fetched for it.
     */
    private static void checkSignatureShape(SnpReport report) throws EvidenceVerificationException {
        java.math.BigInteger r = new java.math.BigInteger(1, report.signatureR());
        java.math.BigInteger s = new java.math.BigInteger(1, report.signatureS());
        if (r.signum() == 0 || s.signum() == 0 || r.compareTo(P384_N) >= 0 || s.compareTo(P384_N) >= 0) {
            throw fail(VerificationCheck.QUOTE_SIGNATURE,
                    "the report signature's r or s is zero or not below the P-384 group order: not a signature");
        }
    }

    private ParsedCollateral collateral(VerificationRequest request, SnpReport report) throws EvidenceVerificationException {
        byte[] bytes;
        if (request.collateral().isPresent()) {
            bytes = request.collateral().get();
        } else {
            if (report.signingKey() == SnpSigningKey.VCEK && report.chipIdMasked()) {
                throw fail(VerificationCheck.COLLATERAL_UNAVAILABLE, "the report masks its chip ID, so its VCEK"
                        + " cannot be looked up; send the VCEK as collateral");
            }
            try {
                bytes = provider.fetch(VcekRequest.forReport(report));
            } catch (VcekUnavailableException e) {
                throw new EvidenceVerificationException(VerificationCheck.COLLATERAL_UNAVAILABLE,
                        "no " + report.signingKey() + " for this report: " + e.getMessage(), e);
            }
        }
        try {
            return parsed(AmdCertificateDecoder.decodeAll(bytes), bytes.length);
        } catch (CertificateException e) {
            throw new EvidenceVerificationException(VerificationCheck.VCEK_CHAIN,
                    "the " + report.signingKey() + " certificate is unusable: " + e.getMessage(), e);
        }
    }

    /** Certificates (signer first) with the signer's key and every fingerprint. */
    private static ParsedCollateral parsed(List<X509Certificate> certs, int bytes) throws CertificateException {
        AmdSigningCertificate signer = AmdSigningCertificate.of(certs.getFirst());
            PublicKey signerKey;
            try {
                signerKey = KeyFactory.getInstance("EC", BC).generatePublic(
                        new X509EncodedKeySpec(signer.certificate().getPublicKey().getEncoded()));
            } catch (GeneralSecurityException e) {
                throw new CertificateException("the " + signer.keyType() + " public key is not an EC key", e);
            }
            java.util.IdentityHashMap<X509Certificate, String> fingerprints = new java.util.IdentityHashMap<>();
            for (X509Certificate c : certs) {
                fingerprints.put(c, sha256Hex(c.getEncoded()));
            }
            fingerprints.put(signer.certificate(), sha256Hex(signer.certificate().getEncoded()));
            return new ParsedCollateral(signer, signerKey, List.copyOf(certs.subList(1, certs.size())), fingerprints,
                    bytes);
    }

    private SnpProduct product(SnpReport report, AmdSigningCertificate signer) throws EvidenceVerificationException {
        Optional<SnpProduct> fromReport = report.product();
        Optional<SnpProduct> fromCert = signer.product();
        if (fromReport.isPresent() && fromCert.isPresent() && fromReport.get() != fromCert.get()) {
            throw fail(VerificationCheck.VCEK_TCB, "the report's CPUID says " + fromReport.get().kdsName()
                    + " but the " + signer.keyType() + " is for " + fromCert.get().kdsName());
        }
        SnpProduct product = fromReport.or(() -> fromCert).orElseThrow(() -> fail(VerificationCheck.VCEK_TCB,
                "cannot tell the product: the report has no CPUID and the certificate names no known product"));
        if (options.product().isPresent() && options.product().get() != product) {
            throw fail(VerificationCheck.VCEK_TCB, "expected product " + options.product().get().kdsName() + ", got "
                    + product.kdsName());
        }
        OptionalInt certStepping = signer.stepping();
        OptionalInt reportStepping = report.cpuid().map(c -> OptionalInt.of(c.stepping())).orElse(OptionalInt.empty());
        if (certStepping.isPresent() && reportStepping.isPresent() && certStepping.getAsInt() != reportStepping.getAsInt()) {
            throw fail(VerificationCheck.VCEK_TCB, "the report's CPUID stepping " + reportStepping.getAsInt()
                    + " differs from the certificate's product " + signer.productName().orElse("?"));
        }
        if (options.stepping().isPresent()) {
            OptionalInt actual = reportStepping.isPresent() ? reportStepping : certStepping;
            if (actual.isEmpty() || actual.getAsInt() != options.stepping().getAsInt()) {
                throw fail(VerificationCheck.VCEK_TCB, "expected product stepping " + options.stepping().getAsInt()
                        + ", got " + (actual.isPresent() ? String.valueOf(actual.getAsInt()) : "none"));
            }
        }
        return product;
    }

    private AnchorChain chain(SnpProduct product, SnpSigningKey keyType, ParsedCollateral collateral)
            throws EvidenceVerificationException {
        String interName = AmdTrustAnchors.intermediateName(product, keyType);
        X509Certificate suppliedArk = null;
        X509Certificate suppliedInter = null;
        for (X509Certificate c : collateral.extras()) {
            String cn = AmdCertificateDecoder.commonName(c.getSubjectX500Principal());
            if (cn.equals("ARK-" + product.kdsName())) {
                if (!AmdTrustAnchors.isPinnedArk(product, c)) {
                    throw fail(VerificationCheck.TRUST_ANCHOR, "the collateral's " + cn + " is not AMD's pinned "
                            + product.kdsName() + " root (SHA-256 " + AmdTrustAnchors.PINNED_ARK_SHA256.get(product) + ")");
                }
                suppliedArk = c;
            } else if (cn.equals(interName)) {
                suppliedInter = c;
            }
        }
        X509Certificate ark;
        X509Certificate inter;
        try {
            AnchorChain anchor = anchors.chain(product, keyType);
            ark = anchor.ark();
            inter = anchor.intermediate();
        } catch (AmdTrustAnchors.AnchorException e) {
            if (e.rejected()) {
                throw new EvidenceVerificationException(VerificationCheck.TRUST_ANCHOR, e.getMessage(), e);
            }
            if (suppliedArk == null || suppliedInter == null) {
                throw new EvidenceVerificationException(VerificationCheck.COLLATERAL_UNAVAILABLE, e.getMessage()
                        + "; or send the " + interName + " and ARK-" + product.kdsName() + " after the "
                        + keyType + " in the collateral", e);
            }
            // The configured anchors lack this product, but the collateral carries the pinned ARK.
            verifyLink(suppliedArk, suppliedArk, "ARK-" + product.kdsName() + " self-signature", collateral);
            ark = suppliedArk;
            inter = suppliedInter;
        }
        if (suppliedInter != null && !suppliedInter.equals(inter)) {
            inter = suppliedInter;
        }
        verifyLink(inter, ark, interName + " issued by ARK-" + product.kdsName(), collateral);
        verifyLink(collateral.signer().certificate(), inter, collateral.signer().keyType() + " issued by " + interName,
                collateral);
        return new AnchorChain(product, keyType, ark, inter);
    }

    private void verifyLink(X509Certificate subject, X509Certificate issuer, String what, ParsedCollateral collateral)
            throws EvidenceVerificationException {
        String key = fingerprint(subject, collateral) + ":" + fingerprint(issuer, collateral);
        if (verifiedChains.getIfPresent(key) != null) {
            return;
        }
        try {
            AmdTrustAnchors.verifyAmdSignature(subject, issuer);
        } catch (GeneralSecurityException | RuntimeException e) {
            throw new EvidenceVerificationException(VerificationCheck.VCEK_CHAIN, what + " does not verify: " + e.getMessage(), e);
        }
        verifiedChains.put(key, Boolean.TRUE);
    }

    private static void checkValidity(Instant at, X509Certificate... certs) throws EvidenceVerificationException {
        for (X509Certificate c : certs) {
            Instant from = c.getNotBefore().toInstant();
            Instant to = c.getNotAfter().toInstant();
            if (at.isBefore(from) || at.isAfter(to)) {
                throw fail(VerificationCheck.COLLATERAL_EXPIRED, "certificate '"
                        + AmdCertificateDecoder.commonName(c.getSubjectX500Principal()) + "' is valid " + from + " to " + to
                        + ", not at " + at);
            }
        }
    }

    private static void checkTcb(SnpReport report, AmdSigningCertificate signer, SnpProduct product)
            throws EvidenceVerificationException {
        SnpTcb reported = report.reportedTcb(product);
        if (!signer.certifies(reported)) {
            throw fail(VerificationCheck.VCEK_TCB, "the report's REPORTED_TCB (" + reported + ") differs from the TCB the "
                    + signer.keyType() + " was issued for (" + signer + "); fetch the " + signer.keyType()
                    + " for this TCB");
        }
        if (signer.keyType() == SnpSigningKey.VCEK) {
            byte[] hwId = signer.hwId().orElseThrow(() -> fail(VerificationCheck.VCEK_TCB, "the VCEK has no hwID extension"));
            byte[] chip = report.chipId();
            if (hwId.length != product.hwIdLength() || !Arrays.equals(hwId, 0, hwId.length, chip, 0, hwId.length)) {
                throw fail(VerificationCheck.VCEK_TCB, "the report's CHIP_ID " + HEX.formatHex(chip, 0, 8)
                        + "... is not the VCEK's hwID " + HEX.formatHex(hwId, 0, Math.min(8, hwId.length))
                        + "...; the VCEK belongs to another chip" + (report.maskChipKey() ? " (the report masks its chip ID)" : ""));
            }
        }
    }

    private static void checkHclBinding(AzureHclReport hcl) throws EvidenceVerificationException {
        byte[] digest;
        try {
            digest = MessageDigest.getInstance(hcl.digestAlgorithm()).digest(hcl.variableData());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(hcl.digestAlgorithm() + " is a mandatory JCA algorithm", e);
        }
        byte[] expected = new byte[64];
        System.arraycopy(digest, 0, expected, 0, digest.length);
        if (!Arrays.equals(expected, hcl.snpReport().reportData())) {
            throw fail(VerificationCheck.HCL_REPORT_DATA_BINDING, "the HCL runtime data is not the data bound by the SNP report's"
                    + " REPORT_DATA (" + hcl.digestAlgorithm() + " mismatch); the HCL report was altered");
        }
    }

    private static VerifiedEvidence claims(SnpReport r, SnpProduct product, byte[] evidence, TcbStatus status) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("measurement", HEX.formatHex(r.measurement()));
        m.put("host_data", HEX.formatHex(r.hostData()));
        m.put("id_key_digest", HEX.formatHex(r.idKeyDigest()));
        m.put("author_key_digest", HEX.formatHex(r.authorKeyDigest()));
        m.put("report_id", HEX.formatHex(r.reportId()));
        m.put("report_id_ma", HEX.formatHex(r.reportIdMa()));
        m.put("chip_id", HEX.formatHex(r.chipId()));
        m.put("family_id", HEX.formatHex(r.familyId()));
        m.put("image_id", HEX.formatHex(r.imageId()));
        Map<String, Long> n = new LinkedHashMap<>();
        n.put("version", (long) r.version());
        n.put("policy", r.policy());
        n.put("vmpl", r.vmpl());
        n.put("guest_svn", r.guestSvn());
        n.put("platform_info", r.platformInfo());
        n.put("signing_key", r.signingKey() == SnpSigningKey.VLEK ? 1L : 0L);
        n.putAll(r.reportedTcb(product).claims("reported_tcb"));
        n.putAll(SnpTcb.decode(r.currentTcbRaw(), product).claims("current_tcb"));
        n.putAll(SnpTcb.decode(r.launchTcbRaw(), product).claims("launch_tcb"));
        n.putAll(SnpTcb.decode(r.committedTcbRaw(), product).claims("committed_tcb"));
        n.put("current_firmware.major", (long) r.currentFirmware().major());
        n.put("current_firmware.minor", (long) r.currentFirmware().minor());
        n.put("current_firmware.build", (long) r.currentFirmware().build());
        r.cpuid().ifPresent(c -> {
            n.put("cpuid.family", (long) c.family());
            n.put("cpuid.model", (long) c.model());
            n.put("cpuid.stepping", (long) c.stepping());
        });
        if (r.version() >= 5) {
            n.put("launch_mit_vector", r.launchMitVector());
            n.put("current_mit_vector", r.currentMitVector());
        }
        byte[] evidenceSha256;
        try {
            evidenceSha256 = MessageDigest.getInstance("SHA-256").digest(evidence);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is a mandatory JCA algorithm", e);
        }
        return new VerifiedEvidence(TeeType.SNP, status, List.of(), r.debug(), false, r.reportData(), m, n,
                evidenceSha256, r.chipIdMasked() ? Optional.empty() : Optional.of(HEX.formatHex(r.chipId())),
                platformId(r));
    }

    /**
     * The CHIP_ID from the signed report; none when it is all zeros (MASK_CHIP_ID, or a VLEK-signed
     * report, whose firmware zeroes it), since zeros would make every masked machine one platform.
     */
    private static Optional<String> platformId(SnpReport r) {
        return r.chipIdMasked() ? Optional.empty()
                : Optional.of(new PlatformId(PlatformId.Kind.SNP_CHIP, r.chipId()).value());
    }

    private String fingerprint(X509Certificate c, ParsedCollateral collateral) throws EvidenceVerificationException {
        String f = collateral.fingerprints().get(c);
        if (f != null) {
            return f;
        }
        // Not from the collateral, so from the configured anchors.
        f = anchorFingerprints.getIfPresent(c);
        if (f == null) {
            try {
                f = sha256Hex(c.getEncoded());
            } catch (CertificateEncodingException e) {
                throw new EvidenceVerificationException(VerificationCheck.VCEK_CHAIN, "certificate '"
                        + AmdCertificateDecoder.commonName(c.getSubjectX500Principal()) + "' cannot be encoded", e);
            }
            anchorFingerprints.put(c, f);
        }
        return f;
    }

    private static String sha256Hex(byte[] bytes) {
        return AmdTrustAnchors.sha256Hex(bytes);
    }

    private static EvidenceVerificationException fail(VerificationCheck check, String message) {
        return new EvidenceVerificationException(check, message);
    }
}
