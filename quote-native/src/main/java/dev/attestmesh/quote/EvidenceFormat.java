package dev.attestmesh.quote;

import dev.attestmesh.quote.azure.AzureVtpmEvidence;
import dev.attestmesh.quote.intel.QuoteHeader;
import dev.attestmesh.quote.sim.SimulatedEvidence;
import dev.attestmesh.quote.snp.AzureHclReport;
import dev.attestmesh.quote.snp.SnpReport;
import java.util.Optional;

/**
 * The evidence formats AttestMesh reads, told apart by their framing alone (magic, version and type
 * fields, length), never by a full parse: {@link #detect} names what the bytes claim to be, so that the
 * CLI needs no {@code --tee} and a declared TEE type that contradicts the bytes is refused with a clear
 * message instead of a parser error deep inside the wrong verifier. Detection proves nothing: the
 * verifier of the detected type still parses and verifies everything.
 *
 * <p>{@link #detect} reads at most the first 4 KiB plus fixed offsets, never throws, and answers
 * {@link #UNKNOWN} for anything it does not recognise. Adding a TEE type adds its constant here, next to
 * its parser's framing constants.
 */
public enum EvidenceFormat {
    /** Intel SGX ECDSA quote version 3 (DCAP). */
    SGX_QUOTE_V3(TeeType.SGX, "SGX DCAP quote v3"),
    /** Intel SGX ECDSA quote version 4 (TEE type 0). */
    SGX_QUOTE_V4(TeeType.SGX, "SGX DCAP quote v4"),
    /** Intel quote version 5 with an SGX enclave body (body type 1). */
    SGX_QUOTE_V5(TeeType.SGX, "SGX DCAP quote v5"),
    /** Intel TDX quote version 4 (TEE type 0x81, TDX 1.0 body). */
    TDX_QUOTE_V4(TeeType.TDX, "TDX quote v4"),
    /** Intel TDX quote version 5 (body type 2, TDX 1.0, or 3, TDX 1.5). */
    TDX_QUOTE_V5(TeeType.TDX, "TDX quote v5"),
    /** A raw 1184-byte AMD SEV-SNP attestation report (versions 2 to 5). */
    SNP_REPORT(TeeType.SNP, "SEV-SNP attestation report"),
    /** An Azure paravisor (HCL) report wrapping an SEV-SNP report; verified as SNP evidence. */
    SNP_AZURE_HCL_REPORT(TeeType.SNP, "Azure HCL report with an SEV-SNP report"),
    /** Trustee's Azure SEV-SNP vTPM evidence JSON (vTPM quote, PCRs, HCL report). */
    AZURE_VTPM_JSON(TeeType.AZ_SNP_VTPM, "Azure SEV-SNP vTPM evidence JSON"),
    /** AttestMesh's simulated evidence (proves nothing). */
    SIMULATED(TeeType.SIM, "simulated evidence (insecure)"),
    /** None of the above. */
    UNKNOWN(null, "unrecognised evidence");

    private static final int DCAP_BODY_TYPE_OFFSET = QuoteHeader.SIZE;
    private static final int SNP_SIGNATURE_ALGO_OFFSET = 0x34;

    private final TeeType tee;
    private final String description;

    EvidenceFormat(TeeType tee, String description) {
        this.tee = tee;
        this.description = description;
    }

    /** The TEE type whose verifier reads this format; empty for {@link #UNKNOWN}. */
    public Optional<TeeType> tee() {
        return Optional.ofNullable(tee);
    }

    /** A short human name, for messages. */
    public String description() {
        return description;
    }

    /** Names the format {@code evidence} is framed as; {@link #UNKNOWN} when none fits. Never throws. */
    public static EvidenceFormat detect(byte[] evidence) {
        if (evidence == null || evidence.length == 0) {
            return UNKNOWN;
        }
        if (SimulatedEvidence.hasMagic(evidence)) {
            return SIMULATED;
        }
        if (AzureHclReport.looksLikeHcl(evidence)) {
            return SNP_AZURE_HCL_REPORT;
        }
        if (AzureVtpmEvidence.looksLikeAzureVtpm(evidence)) {
            return AZURE_VTPM_JSON;
        }
        EvidenceFormat dcap = dcap(evidence);
        if (dcap != UNKNOWN) {
            return dcap;
        }
        if (evidence.length == SnpReport.LENGTH) {
            long version = u32(evidence, 0);
            long algo = u32(evidence, SNP_SIGNATURE_ALGO_OFFSET);
            if (version >= 2 && version <= 5 && algo == 1) {
                return SNP_REPORT;
            }
        }
        return UNKNOWN;
    }

    /**
     * Refuses evidence whose framing names another TEE type than {@code declared}. Unrecognised bytes
     * pass: the declared verifier's parser then reports what is wrong with them.
     *
     * @throws EvidenceVerificationException ({@link VerificationCheck#UNSUPPORTED}) naming both types
     */
    public static void checkDeclared(TeeType declared, byte[] evidence) throws EvidenceVerificationException {
        EvidenceFormat f = detect(evidence);
        if (f.tee != null && f.tee != declared) {
            throw new EvidenceVerificationException(VerificationCheck.UNSUPPORTED, "the evidence was declared as '"
                    + declared.wireName() + "' but its bytes are framed as " + f.description + " ('"
                    + f.tee.wireName() + "'); send it with tee '" + f.tee.wireName() + "'");
        }
    }

    /** DCAP quotes: version 3-5 and ECDSA P-256 attestation key at the start; the TEE type at offset 4. */
    private static EvidenceFormat dcap(byte[] b) {
        if (b.length < QuoteHeader.SIZE) {
            return UNKNOWN;
        }
        int version = u16(b, 0);
        if (u16(b, 2) != QuoteHeader.ECDSA_P256) {
            return UNKNOWN;
        }
        long teeType = u32(b, 4);
        return switch (version) {
            case 3 -> teeType == QuoteHeader.TEE_TYPE_SGX ? SGX_QUOTE_V3 : UNKNOWN;
            case 4 -> teeType == QuoteHeader.TEE_TYPE_SGX ? SGX_QUOTE_V4
                    : teeType == QuoteHeader.TEE_TYPE_TDX ? TDX_QUOTE_V4 : UNKNOWN;
            case 5 -> {
                if (b.length < DCAP_BODY_TYPE_OFFSET + 2) {
                    yield UNKNOWN;
                }
                int bodyType = u16(b, DCAP_BODY_TYPE_OFFSET);
                if (teeType == QuoteHeader.TEE_TYPE_SGX && bodyType == 1) {
                    yield SGX_QUOTE_V5;
                }
                yield teeType == QuoteHeader.TEE_TYPE_TDX && (bodyType == 2 || bodyType == 3) ? TDX_QUOTE_V5 : UNKNOWN;
            }
            default -> UNKNOWN;
        };
    }

    private static int u16(byte[] b, int at) {
        return (b[at] & 0xff) | (b[at + 1] & 0xff) << 8;
    }

    private static long u32(byte[] b, int at) {
        return (b[at] & 0xffL) | (b[at + 1] & 0xffL) << 8 | (b[at + 2] & 0xffL) << 16 | (b[at + 3] & 0xffL) << 24;
    }
}
