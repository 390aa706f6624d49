package dev.attestmesh.quote.tpm;

import dev.attestmesh.quote.EvidenceParseException;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Marshals the few TPM 2.0 commands AttestMesh sends (TPM 2.0 Library, Part 3) and unmarshals their
 * responses. Every response length is checked; a malformed response is an {@link EvidenceParseException}
 * naming the command, a TPM error is a {@link TpmErrorException} with the response code.
 */
public final class Tpm2Commands {
    public static final int ST_NO_SESSIONS = 0x8001;
    public static final int ST_SESSIONS = 0x8002;
    public static final int CC_NV_READ = 0x14E;
    public static final int CC_QUOTE = 0x158;
    public static final int CC_NV_READ_PUBLIC = 0x169;
    public static final int CC_GET_CAPABILITY = 0x17A;
    public static final int CC_PCR_READ = 0x17E;
    /** The password authorization session (empty password). */
    public static final int RS_PW = 0x40000009;
    public static final int RH_OWNER = 0x40000001;
    public static final int CAP_TPM_PROPERTIES = 6;
    public static final int PT_NV_BUFFER_MAX = 0x12C;
    public static final int ALG_NULL = 0x0010;
    public static final int ALG_RSASSA = 0x0014;
    /** Largest response read: every response here is far smaller. */
    public static final int MAX_RESPONSE = 8192;

    private Tpm2Commands() {
    }

    /** A TPM answered with a non-zero response code. */
    public static final class TpmErrorException extends Exception {
        private final long code;

        public TpmErrorException(String command, long code) {
            super(String.format("TPM2_%s failed with response code 0x%x", command, code));
            this.code = code;
        }

        public long code() {
            return code;
        }
    }

    private static final class Writer {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Writer u8(int v) {
            out.write(v);
            return this;
        }

        Writer u16(int v) {
            out.write(v >>> 8);
            out.write(v);
            return this;
        }

        Writer u32(long v) {
            out.write((int) (v >>> 24));
            out.write((int) (v >>> 16));
            out.write((int) (v >>> 8));
            out.write((int) v);
            return this;
        }

        Writer tpm2b(byte[] b) {
            u16(b.length);
            out.writeBytes(b);
            return this;
        }
    }

    private static byte[] command(int tag, int code, byte[] body) {
        Writer w = new Writer().u16(tag).u32(10L + body.length).u32(code);
        w.out.writeBytes(body);
        return w.out.toByteArray();
    }

    /** The authorization area with one empty-password session. */
    private static void passwordAuth(Writer w) {
        w.u32(9); // TPMS_AUTH_COMMAND: handle 4, nonce 2, attributes 1, hmac 2
        w.u32(RS_PW).tpm2b(new byte[0]).u8(0).tpm2b(new byte[0]);
    }

    /** TPM2_GetCapability(TPM_CAP_TPM_PROPERTIES, property, 1). */
    public static byte[] getCapabilityProperty(int property) {
        return command(ST_NO_SESSIONS, CC_GET_CAPABILITY, new Writer().u32(CAP_TPM_PROPERTIES).u32(property).u32(1).out.toByteArray());
    }

    /** TPM2_NV_ReadPublic(nvIndex). */
    public static byte[] nvReadPublic(int nvIndex) {
        return command(ST_NO_SESSIONS, CC_NV_READ_PUBLIC, new Writer().u32(nvIndex).out.toByteArray());
    }

    /** TPM2_NV_Read(authHandle, nvIndex, size, offset) with an empty-password session. */
    public static byte[] nvRead(int authHandle, int nvIndex, int size, int offset) {
        Writer w = new Writer().u32(authHandle).u32(nvIndex);
        passwordAuth(w);
        w.u16(size).u16(offset);
        return command(ST_SESSIONS, CC_NV_READ, w.out.toByteArray());
    }

    /** TPM2_Quote(signHandle, qualifyingData, the key's own scheme, selection) with an empty-password session. */
    public static byte[] quote(int signHandle, byte[] qualifyingData, PcrSelection selection) {
        Writer w = new Writer().u32(signHandle);
        passwordAuth(w);
        w.tpm2b(qualifyingData).u16(ALG_NULL).u32(1);
        selection.writeTo(w.out);
        return command(ST_SESSIONS, CC_QUOTE, w.out.toByteArray());
    }

    /** TPM2_PCR_Read(selection). */
    public static byte[] pcrRead(PcrSelection selection) {
        Writer w = new Writer().u32(1);
        selection.writeTo(w.out);
        return command(ST_NO_SESSIONS, CC_PCR_READ, w.out.toByteArray());
    }

    /** Checks a response header and returns a reader over its parameters (after parameterSize for sessions). */
    private static TpmReader parameters(byte[] response, String command, boolean sessions)
            throws EvidenceParseException, TpmErrorException {
        String structure = "TPM2_" + command + " response";
        if (response.length > MAX_RESPONSE) {
            throw new EvidenceParseException(structure, -1, response.length + " bytes; at most " + MAX_RESPONSE);
        }
        TpmReader r = new TpmReader(response, structure);
        int tag = r.u16("tag");
        long size = r.u32("responseSize");
        long rc = r.u32("responseCode");
        if (size != response.length) {
            throw new EvidenceParseException(structure, 2, "responseSize " + size + " but " + response.length
                    + " bytes were returned");
        }
        if (rc != 0) {
            throw new TpmErrorException(command, rc);
        }
        if (tag != (sessions ? ST_SESSIONS : ST_NO_SESSIONS)) {
            throw new EvidenceParseException(structure, 0, String.format("unexpected tag 0x%04x", tag));
        }
        if (!sessions) {
            return r;
        }
        int at = r.position();
        long paramSize = r.u32("parameterSize");
        if (paramSize > r.remaining()) {
            throw new EvidenceParseException(structure, at, "parameterSize " + paramSize + " runs past the response");
        }
        return new TpmReader(response, r.position(), r.position() + (int) paramSize, structure);
    }

    /** The value of the one property asked for with {@link #getCapabilityProperty}. */
    public static long parseCapabilityProperty(byte[] response, int property) throws EvidenceParseException, TpmErrorException {
        TpmReader r = parameters(response, "GetCapability", false);
        r.u8("moreData");
        long cap = r.u32("capability");
        long count = r.u32("count");
        if (cap != CAP_TPM_PROPERTIES || count < 1) {
            throw new EvidenceParseException("TPM2_GetCapability response", -1, "no TPM property returned");
        }
        long p = r.u32("property");
        long v = r.u32("value");
        if (p != property) {
            throw new EvidenceParseException("TPM2_GetCapability response", -1, String.format(
                    "property 0x%x returned instead of 0x%x", p, property));
        }
        return v;
    }

    /** The data size of an NV index from its public area. */
    public static int parseNvReadPublicSize(byte[] response, int nvIndex) throws EvidenceParseException, TpmErrorException {
        TpmReader r = parameters(response, "NV_ReadPublic", false);
        byte[] pub = r.tpm2b(4096, "nvPublic");
        TpmReader p = new TpmReader(pub, "TPMS_NV_PUBLIC");
        long index = p.u32("nvIndex");
        if (index != (nvIndex & 0xffffffffL)) {
            throw new EvidenceParseException("TPMS_NV_PUBLIC", 0, String.format("index 0x%x, asked for 0x%x", index, nvIndex));
        }
        p.u16("nameAlg");
        p.u32("attributes");
        p.tpm2b(64, "authPolicy");
        return p.u16("dataSize");
    }

    /** The bytes of a TPM2_NV_Read response. */
    public static byte[] parseNvRead(byte[] response) throws EvidenceParseException, TpmErrorException {
        return parameters(response, "NV_Read", true).tpm2b(MAX_RESPONSE, "data");
    }

    /**
     * A TPM2_Quote response.
     *
     * @param attest the signed TPMS_ATTEST bytes
     * @param signatureAlg TPMT_SIGNATURE.sigAlg
     * @param hashAlg the signature's hash
     * @param signature the raw signature (RSA) bytes
     */
    public record QuoteResponse(byte[] attest, int signatureAlg, int hashAlg, byte[] signature) {
    }

    public static QuoteResponse parseQuote(byte[] response) throws EvidenceParseException, TpmErrorException {
        TpmReader r = parameters(response, "Quote", true);
        byte[] attest = r.tpm2b(TpmsAttest.MAX_LENGTH, "quoted");
        int sigAlg = r.u16("signature.sigAlg");
        if (sigAlg != ALG_RSASSA) {
            throw new EvidenceParseException("TPM2_Quote response", -1, String.format("signature algorithm 0x%04x;"
                    + " the attestation key must sign with RSASSA (0x0014)", sigAlg));
        }
        int hash = r.u16("signature.hash");
        byte[] sig = r.tpm2b(512, "signature.sig");
        return new QuoteResponse(attest, sigAlg, hash, sig);
    }

    /** A TPM2_PCR_Read response: the selection actually read and the values in its order. */
    public record PcrReadResponse(List<PcrSelection> selection, List<byte[]> values) {
    }

    public static PcrReadResponse parsePcrRead(byte[] response) throws EvidenceParseException, TpmErrorException {
        TpmReader r = parameters(response, "PCR_Read", false);
        r.u32("pcrUpdateCounter");
        List<PcrSelection> sel = PcrSelection.readList(r, 8);
        long count = r.u32("pcrValues count");
        if (count > 8) {
            throw new EvidenceParseException("TPM2_PCR_Read response", -1, count + " digests; a TPML_DIGEST holds at most 8");
        }
        List<byte[]> values = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            values.add(r.tpm2b(64, "pcrValues[" + i + "]"));
        }
        return new PcrReadResponse(sel, values);
    }
}
