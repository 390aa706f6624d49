package dev.attestmesh.quote.azure;

import dev.attestmesh.quote.EvidenceParseException;
import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.EvidenceVerifier;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationCheck;
import dev.attestmesh.quote.VerificationRequest;
import dev.attestmesh.quote.VerifiedEvidence;
import dev.attestmesh.quote.snp.AzureHclReport;
import dev.attestmesh.quote.snp.SnpReportVerifier;
import dev.attestmesh.quote.tpm.PcrSelection;
import dev.attestmesh.quote.tpm.TpmsAttest;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.RSAPublicKey;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Verifies Azure confidential-VM evidence on SEV-SNP ({@link TeeType#AZ_SNP_VTPM}): the paravisor's
 * HCL report, its runtime claims, and a TPM2 quote by the vTPM attestation key those claims carry.
 *
 * <p>Checks, in order, each failing with its own {@link VerificationCheck}: the JSON document, the
 * TPMS_ATTEST and the HCL report parse ({@code PARSE}); the SNP report inside the HCL report passes
 * every check of {@link SnpReportVerifier} (signature, VCEK chain, TCB, revocation), using the request's
 * collateral, else the document's {@code vcek}, else the SNP verifier's provider; its REPORT_DATA is
 * the hash of the runtime claims ({@code HCL_REPORT_DATA_BINDING}); the report comes from VMPL 0 (the
 * paravisor) and the runtime claims carry an RSA attestation key ({@code HCL_RUNTIME_CLAIMS}); the
 * TPMS_ATTEST verifies with that key, RSASSA-PKCS1-v1_5 with SHA-256 ({@code TPM_QUOTE_SIGNATURE});
 * the supplied PCR values are exactly the quote's SHA-256 selection and hash to its PCR digest ({@code
 * TPM_PCR_DIGEST}).
 *
 * <p>The verified evidence's report data is the quote's {@code extraData} (the caller's qualifying
 * data), zero-padded to 64 bytes: the AttestMesh binding (DESIGN.md section 3) is 64 bytes, so only a
 * quote whose extraData is the whole binding can match it. PCR values become the claims {@code pcr00}
 * .. {@code pcr23}; the SNP report's claims are kept under their SNP names. Thread-safe.
 */
public final class AzureVtpmVerifier implements EvidenceVerifier {
    private static final HexFormat HEX = HexFormat.of();
    private final EvidenceVerifier snp;

    private AzureVtpmVerifier(EvidenceVerifier snp) {
        this.snp = Objects.requireNonNull(snp, "snp");
        if (snp.tee() != TeeType.SNP) {
            throw new IllegalArgumentException("the Azure vTPM verifier needs an SNP verifier, not " + snp.tee().wireName());
        }
    }

    /**
     * A verifier that checks the embedded SNP report with {@code snp} (normally a {@link
     * SnpReportVerifier}, or the control plane's lazily built one, so both TEE types share its caches).
     */
    public static AzureVtpmVerifier create(EvidenceVerifier snp) {
        return new AzureVtpmVerifier(snp);
    }

    @Override
    public TeeType tee() {
        return TeeType.AZ_SNP_VTPM;
    }

    @Override
    public VerifiedEvidence verify(VerificationRequest request) throws EvidenceVerificationException {
        if (request.tee() != TeeType.AZ_SNP_VTPM) {
            throw new EvidenceVerificationException(VerificationCheck.UNSUPPORTED,
                    "the Azure vTPM verifier was given '" + request.tee().wireName() + "' evidence");
        }
        AzureVtpmEvidence ev;
        TpmsAttest attest;
        AzureHclReport hcl;
        try {
            ev = AzureVtpmEvidence.parse(request.evidence());
            attest = TpmsAttest.parse(ev.quoteMessage());
            hcl = AzureHclReport.parse(ev.hclReport());
        } catch (EvidenceParseException e) {
            throw EvidenceVerificationException.parse(e);
        }
        Optional<byte[]> vcek = request.collateral().isPresent() ? request.collateral()
                : ev.vcekPem().map(p -> p.getBytes(StandardCharsets.US_ASCII));
        VerifiedEvidence report = snp.verify(new VerificationRequest(TeeType.SNP, ev.hclReport(), vcek, request.at()));
        Long vmpl = report.numbers().get("vmpl");
        if (vmpl == null || vmpl != 0) {
            throw new EvidenceVerificationException(VerificationCheck.HCL_RUNTIME_CLAIMS, "the SNP report comes from VMPL "
                    + vmpl + ", not 0: only the paravisor's report vouches for the vTPM");
        }
        HclRuntimeClaims runtime;
        try {
            runtime = HclRuntimeClaims.parse(hcl.variableData());
        } catch (EvidenceParseException e) {
            throw new EvidenceVerificationException(VerificationCheck.HCL_RUNTIME_CLAIMS, e.getMessage(), e);
        }
        checkQuoteSignature(ev.quoteMessage(), ev.quoteSignature(), runtime.attestationKey());
        checkPcrs(attest, ev.pcrs());
        return claims(report, attest, ev.pcrs(), runtime, request.evidence());
    }

    /**
     * Judges the embedded SNP report again under the current AMD CRLs and current TCB (the SNP verifier's
     * {@link EvidenceVerifier#reappraise} on the stored report and chain); the vTPM quote and PCRs are
     * not collateral-dependent and stay as verified.
     */
    @Override
    public VerifiedEvidence reappraise(VerifiedEvidence stored, java.time.Instant at) throws EvidenceVerificationException {
        if (stored.tee() != TeeType.AZ_SNP_VTPM) {
            throw new EvidenceVerificationException(VerificationCheck.UNSUPPORTED,
                    "the Azure vTPM verifier was given stored '" + stored.tee().wireName() + "' evidence");
        }
        if (stored.reappraisalInputs().isEmpty()) {
            return stored;
        }
        VerifiedEvidence asSnp = new VerifiedEvidence(TeeType.SNP, stored.tcbStatus(), stored.advisoryIds(),
                stored.debug(), stored.insecure(), stored.reportData(), stored.measurements(), stored.numbers(),
                stored.evidenceSha256(), stored.fmspcOrChip(), stored.platformId(), stored.reappraisalInputs());
        VerifiedEvidence judged = snp.reappraise(asSnp, at);
        return stored.withTcb(judged.tcbStatus(), judged.advisoryIds());
    }

    /**
     * Checks a TPMS_ATTEST's signature with an RSA attestation key (RSASSA-PKCS1-v1_5, SHA-256, the
     * scheme of Azure's vTPM AK). Public for the collector's tests.
     */
    public static void checkQuoteSignature(byte[] message, byte[] signature, PublicKey ak)
            throws EvidenceVerificationException {
        int modulusBytes = ak instanceof RSAPublicKey rsa ? (rsa.getModulus().bitLength() + 7) / 8 : -1;
        if (signature.length != modulusBytes) {
            throw new EvidenceVerificationException(VerificationCheck.TPM_QUOTE_SIGNATURE, "the quote signature is "
                    + signature.length + " bytes; the attestation key's RSA signatures are " + modulusBytes);
        }
        try {
            Signature s = Signature.getInstance("SHA256withRSA");
            s.initVerify(ak);
            s.update(message);
            if (!s.verify(signature)) {
                throw new EvidenceVerificationException(VerificationCheck.TPM_QUOTE_SIGNATURE, "the TPM2 quote does not"
                        + " verify with the vTPM attestation key of the HCL runtime claims; the quote was altered or"
                        + " signed by another TPM");
            }
        } catch (GeneralSecurityException e) {
            throw new EvidenceVerificationException(VerificationCheck.TPM_QUOTE_SIGNATURE,
                    "the TPM2 quote signature could not be checked: " + e.getMessage(), e);
        }
    }

    /**
     * Checks that {@code pcrs} are exactly the values the quote selected (one SHA-256 bank, ascending
     * index order) and that they hash to its PCR digest.
     */
    public static void checkPcrs(TpmsAttest attest, List<byte[]> pcrs) throws EvidenceVerificationException {
        List<PcrSelection> sel = attest.pcrSelections();
        if (sel.size() != 1 || sel.getFirst().hashAlg() != PcrSelection.SHA256) {
            throw new EvidenceVerificationException(VerificationCheck.TPM_PCR_DIGEST, "the quote must select exactly one"
                    + " PCR bank, SHA-256; it selects " + sel.size() + " bank(s)"
                    + (sel.isEmpty() ? "" : String.format(", the first 0x%04x", sel.getFirst().hashAlg())));
        }
        List<Integer> indices = sel.getFirst().indices();
        if (indices.size() != pcrs.size()) {
            throw new EvidenceVerificationException(VerificationCheck.TPM_PCR_DIGEST, "the quote selects "
                    + indices.size() + " PCRs but " + pcrs.size() + " values were supplied");
        }
        MessageDigest sha256 = sha256();
        for (byte[] p : pcrs) {
            sha256.update(p);
        }
        if (!MessageDigest.isEqual(sha256.digest(), attest.pcrDigest())) {
            throw new EvidenceVerificationException(VerificationCheck.TPM_PCR_DIGEST, "the supplied PCR values do not"
                    + " hash to the quote's PCR digest; a PCR value was altered");
        }
    }

    private static VerifiedEvidence claims(VerifiedEvidence report, TpmsAttest attest, List<byte[]> pcrs,
            HclRuntimeClaims runtime, byte[] evidence) throws EvidenceVerificationException {
        Map<String, String> m = new LinkedHashMap<>(report.measurements());
        List<Integer> indices = attest.pcrSelections().getFirst().indices();
        for (int i = 0; i < indices.size(); i++) {
            m.put(String.format(Locale.ROOT, "pcr%02d", indices.get(i)), HEX.formatHex(pcrs.get(i)));
        }
        m.put("tpm_ak_sha256", HEX.formatHex(sha256().digest(runtime.attestationKey().getEncoded())));
        Map<String, Long> n = new LinkedHashMap<>(report.numbers());
        n.put("tpm.firmware_version", attest.firmwareVersion());
        runtime.vmConfiguration().forEach((k, v) -> n.put("vm." + k.replace('-', '_'), v ? 1L : 0L));
        byte[] extra = attest.extraData();
        if (extra.length > 64) {
            throw new EvidenceVerificationException(VerificationCheck.PARSE, "the quote's extraData is longer than 64 bytes");
        }
        byte[] reportData = new byte[64];
        System.arraycopy(extra, 0, reportData, 0, extra.length);
        return new VerifiedEvidence(TeeType.AZ_SNP_VTPM, report.tcbStatus(), report.advisoryIds(), report.debug(), false,
                reportData, m, n, sha256().digest(evidence), report.fmspcOrChip(), report.platformId(),
                report.reappraisalInputs());
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is a mandatory JCA algorithm", e);
        }
    }
}
