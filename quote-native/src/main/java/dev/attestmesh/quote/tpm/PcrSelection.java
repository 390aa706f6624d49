package dev.attestmesh.quote.tpm;

import dev.attestmesh.quote.EvidenceParseException;
import java.util.ArrayList;
import java.util.List;

/**
 * One {@code TPMS_PCR_SELECTION}: a hash bank and the bitmap of PCRs selected in it (bit {@code i % 8}
 * of byte {@code i / 8} selects PCR {@code i}).
 *
 * @param hashAlg TPM_ALG_ID of the bank (0x000B = SHA-256)
 * @param bitmap the selection bitmap, 1 to 4 bytes
 */
public record PcrSelection(int hashAlg, byte[] bitmap) {
    /** TPM_ALG_SHA256. */
    public static final int SHA256 = 0x000B;
    /** The largest bitmap a PC-client TPM uses (4 bytes, 32 PCRs); larger ones are refused. */
    static final int MAX_SELECT = 4;

    public PcrSelection {
        bitmap = bitmap.clone();
    }

    /** The selected PCR indices, ascending: the order the PCR digest hashes them in. */
    public List<Integer> indices() {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < bitmap.length * 8; i++) {
            if ((bitmap[i / 8] >> (i % 8) & 1) != 0) {
                out.add(i);
            }
        }
        return out;
    }

    /** Selects PCRs {@code 0 .. count-1} of {@code hashAlg}'s bank. */
    public static PcrSelection firstPcrs(int hashAlg, int count) {
        byte[] b = new byte[Math.max(3, (count + 7) / 8)];
        for (int i = 0; i < count; i++) {
            b[i / 8] |= (byte) (1 << (i % 8));
        }
        return new PcrSelection(hashAlg, b);
    }

    @Override
    public byte[] bitmap() {
        return bitmap.clone();
    }

    /** Reads a {@code TPML_PCR_SELECTION} (count, then each selection), at most {@code maxBanks} banks. */
    public static List<PcrSelection> readList(TpmReader r, int maxBanks) throws EvidenceParseException {
        int at = r.position();
        long count = r.u32("TPML_PCR_SELECTION count");
        if (count > maxBanks) {
            throw new EvidenceParseException("TPML_PCR_SELECTION", at, count + " banks selected; at most " + maxBanks);
        }
        List<PcrSelection> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int alg = r.u16("TPMS_PCR_SELECTION hash");
            int selAt = r.position();
            int size = r.u8("TPMS_PCR_SELECTION sizeofSelect");
            if (size > MAX_SELECT) {
                throw new EvidenceParseException("TPMS_PCR_SELECTION", selAt, "sizeofSelect " + size + " exceeds " + MAX_SELECT);
            }
            out.add(new PcrSelection(alg, r.bytes(size, "TPMS_PCR_SELECTION pcrSelect")));
        }
        return out;
    }

    /** Appends this selection's marshalled form. */
    public void writeTo(java.io.ByteArrayOutputStream out) {
        out.write(hashAlg >> 8);
        out.write(hashAlg);
        out.write(bitmap.length);
        out.writeBytes(bitmap);
    }
}
