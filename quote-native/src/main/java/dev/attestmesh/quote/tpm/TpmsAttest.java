package dev.attestmesh.quote.tpm;

import dev.attestmesh.quote.EvidenceParseException;
import java.util.List;

/**
 * A parsed, <b>untrusted</b> TPM 2.0 quote: the {@code TPMS_ATTEST} structure (the body of a {@code
 * TPM2B_ATTEST}) a TPM signs in {@code TPM2_Quote}, with {@code TPMS_QUOTE_INFO} as its attested part.
 * Nothing here is trusted until its signature verified with a known attestation key.
 *
 * @param qualifiedSigner the signing key's qualified name ({@code TPM2B_NAME})
 * @param extraData the caller's qualifying data, echoed by the TPM (at most 64 bytes)
 * @param clock TPMS_CLOCK_INFO.clock (milliseconds the TPM has been powered)
 * @param resetCount TPMS_CLOCK_INFO.resetCount
 * @param restartCount TPMS_CLOCK_INFO.restartCount
 * @param safe TPMS_CLOCK_INFO.safe
 * @param firmwareVersion the TPM vendor's firmware version
 * @param pcrSelections the PCRs the quote covers
 * @param pcrDigest the digest of the selected PCR values (hash of their concatenation)
 */
public record TpmsAttest(byte[] qualifiedSigner, byte[] extraData, long clock, long resetCount, long restartCount,
        boolean safe, long firmwareVersion, List<PcrSelection> pcrSelections, byte[] pcrDigest) {
    /** TPM_GENERATED_VALUE: every structure the TPM signs starts with it. */
    public static final long TPM_GENERATED = 0xff544347L;
    /** TPM_ST_ATTEST_QUOTE. */
    public static final int ST_ATTEST_QUOTE = 0x8018;
    /** Largest accepted TPMS_ATTEST: far above the ~150 bytes of a real quote, below any abuse. */
    public static final int MAX_LENGTH = 1024;
    private static final String STRUCTURE = "TPMS_ATTEST";

    public TpmsAttest {
        qualifiedSigner = qualifiedSigner.clone();
        extraData = extraData.clone();
        pcrSelections = List.copyOf(pcrSelections);
        pcrDigest = pcrDigest.clone();
    }

    /**
     * Parses a {@code TPMS_ATTEST} of type quote. The whole buffer must be consumed (it is what the
     * signature covers).
     */
    public static TpmsAttest parse(byte[] bytes) throws EvidenceParseException {
        if (bytes.length > MAX_LENGTH) {
            throw new EvidenceParseException(STRUCTURE, -1, bytes.length + " bytes; at most " + MAX_LENGTH + " accepted");
        }
        TpmReader r = new TpmReader(bytes, STRUCTURE);
        long magic = r.u32("magic");
        if (magic != TPM_GENERATED) {
            throw new EvidenceParseException(STRUCTURE, 0, String.format("magic 0x%08x is not TPM_GENERATED_VALUE"
                    + " 0xff544347; this is not TPM-generated attestation data", magic));
        }
        int type = r.u16("type");
        if (type != ST_ATTEST_QUOTE) {
            throw new EvidenceParseException(STRUCTURE, 4, String.format("type 0x%04x is not TPM_ST_ATTEST_QUOTE"
                    + " (0x8018)", type));
        }
        byte[] signer = r.tpm2b(2 + 64, "qualifiedSigner");
        byte[] extra = r.tpm2b(64, "extraData");
        long clock = r.u64("clockInfo.clock");
        long reset = r.u32("clockInfo.resetCount");
        long restart = r.u32("clockInfo.restartCount");
        int safeAt = r.position();
        int safe = r.u8("clockInfo.safe");
        if (safe > 1) {
            throw new EvidenceParseException(STRUCTURE, safeAt, "clockInfo.safe is " + safe + ", not a TPMI_YES_NO");
        }
        long fw = r.u64("firmwareVersion");
        List<PcrSelection> sel = PcrSelection.readList(r, 8);
        byte[] digest = r.tpm2b(64, "pcrDigest");
        r.expectEnd();
        return new TpmsAttest(signer, extra, clock, reset, restart, safe == 1, fw, sel, digest);
    }

    @Override
    public byte[] qualifiedSigner() {
        return qualifiedSigner.clone();
    }

    @Override
    public byte[] extraData() {
        return extraData.clone();
    }

    @Override
    public byte[] pcrDigest() {
        return pcrDigest.clone();
    }
}
