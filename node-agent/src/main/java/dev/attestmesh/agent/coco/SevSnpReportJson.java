package dev.attestmesh.agent.coco;

import com.fasterxml.jackson.databind.JsonNode;
import dev.attestmesh.quote.EvidenceParseException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Iterator;
import java.util.Set;

/**
 * Re-encodes the SEV-SNP attestation report that the CoCo attestation-agent sends as JSON (the serde form
 * of the {@code sev} crate's {@code AttestationReport}, version 6: named fields, byte arrays as arrays of
 * integers, bit fields as integers, TCB versions as {@code {fmc, bootloader, tee, snp, microcode}}) into
 * the 1184-byte ATTESTATION_REPORT of the SEV-SNP ABI, at the ABI's offsets. The report's signature covers
 * bytes [0, 0x2A0), so the re-encoding is right only if it is exact: every signed byte comes from a field
 * (reserved areas are zero by the ABI, and the verifier refuses a report whose reserved area is not), and
 * the signature then verifies or the report is refused by the control plane. Nothing here is trusted.
 */
final class SevSnpReportJson {
    static final int LENGTH = 0x4A0;
    private static final String STRUCTURE = "CoCo SNP attestation_report";
    private static final Set<String> FIELDS = Set.of("version", "guest_svn", "policy", "family_id", "image_id",
            "vmpl", "sig_algo", "current_tcb", "plat_info", "key_info", "report_data", "measurement", "host_data",
            "id_key_digest", "author_key_digest", "report_id", "report_id_ma", "reported_tcb", "cpuid_fam_id",
            "cpuid_mod_id", "cpuid_step", "chip_id", "committed_tcb", "current", "committed", "launch_tcb",
            "launch_mit_vector", "current_mit_vector", "signature");

    private SevSnpReportJson() {}

    static byte[] encode(JsonNode r) throws EvidenceParseException {
        if (!r.isObject()) {
            throw new EvidenceParseException(STRUCTURE, -1, "must be an object, a hex string or a byte array");
        }
        for (Iterator<String> it = r.fieldNames(); it.hasNext();) {
            String f = it.next();
            if (!FIELDS.contains(f)) {
                throw new EvidenceParseException(STRUCTURE, -1, "unknown field '" + CocoJson.shortName(f) + "'");
            }
        }
        ByteBuffer b = ByteBuffer.allocate(LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        long version = uint(r, "version", 0xffffffffL);
        b.putInt(0x000, (int) version);
        b.putInt(0x004, (int) uint(r, "guest_svn", 0xffffffffL));
        b.putLong(0x008, uint64(r, "policy"));
        put(b, 0x010, CocoJson.byteArray(CocoJson.required(r, "family_id", STRUCTURE), "family_id", 16, 16, STRUCTURE));
        put(b, 0x020, CocoJson.byteArray(CocoJson.required(r, "image_id", STRUCTURE), "image_id", 16, 16, STRUCTURE));
        b.putInt(0x030, (int) uint(r, "vmpl", 0xffffffffL));
        b.putInt(0x034, (int) uint(r, "sig_algo", 0xffffffffL));
        JsonNode fam = r.get("cpuid_fam_id");
        boolean turin = fam != null && fam.isIntegralNumber() && fam.asInt() == 0x1A;
        b.putLong(0x038, tcb(r, "current_tcb", turin));
        b.putLong(0x040, uint64(r, "plat_info"));
        b.putInt(0x048, (int) uint(r, "key_info", 0xffffffffL));
        put(b, 0x050, bytes(r, "report_data", 64));
        put(b, 0x090, bytes(r, "measurement", 48));
        put(b, 0x0C0, bytes(r, "host_data", 32));
        put(b, 0x0E0, bytes(r, "id_key_digest", 48));
        put(b, 0x110, bytes(r, "author_key_digest", 48));
        put(b, 0x140, bytes(r, "report_id", 32));
        put(b, 0x160, bytes(r, "report_id_ma", 32));
        b.putLong(0x180, tcb(r, "reported_tcb", turin));
        if (version >= 3) {
            b.put(0x188, (byte) optionalByte(r, "cpuid_fam_id"));
            b.put(0x189, (byte) optionalByte(r, "cpuid_mod_id"));
            b.put(0x18A, (byte) optionalByte(r, "cpuid_step"));
        }
        put(b, 0x1A0, bytes(r, "chip_id", 64));
        b.putLong(0x1E0, tcb(r, "committed_tcb", turin));
        firmwareVersion(b, 0x1E8, CocoJson.required(r, "current", STRUCTURE), "current");
        firmwareVersion(b, 0x1EC, CocoJson.required(r, "committed", STRUCTURE), "committed");
        b.putLong(0x1F0, tcb(r, "launch_tcb", turin));
        if (version >= 5) {
            b.putLong(0x1F8, optionalLong(r, "launch_mit_vector"));
            b.putLong(0x200, optionalLong(r, "current_mit_vector"));
        }
        JsonNode sig = CocoJson.required(r, "signature", STRUCTURE);
        if (!sig.isObject() || sig.size() != 2) {
            throw new EvidenceParseException(STRUCTURE, -1, "signature must be an object with r and s");
        }
        put(b, 0x2A0, CocoJson.byteArray(CocoJson.required(sig, "r", STRUCTURE), "signature.r", 72, 72, STRUCTURE));
        put(b, 0x2E8, CocoJson.byteArray(CocoJson.required(sig, "s", STRUCTURE), "signature.s", 72, 72, STRUCTURE));
        return b.array();
    }

    /** TCB_VERSION: Milan/Genoa {bootloader, tee, 4 reserved, snp, microcode}; Turin {fmc, bootloader, tee, snp, 3 reserved, microcode}. */
    private static long tcb(JsonNode r, String field, boolean turin) throws EvidenceParseException {
        JsonNode t = CocoJson.required(r, field, STRUCTURE);
        if (!t.isObject()) {
            throw new EvidenceParseException(STRUCTURE, -1, field + " must be an object {fmc, bootloader, tee, snp, "
                    + "microcode}");
        }
        for (Iterator<String> it = t.fieldNames(); it.hasNext();) {
            String f = it.next();
            if (!Set.of("fmc", "bootloader", "tee", "snp", "microcode").contains(f)) {
                throw new EvidenceParseException(STRUCTURE, -1, "unknown field '" + field + "." + CocoJson.shortName(f)
                        + "'");
            }
        }
        byte[] out = new byte[8];
        JsonNode fmc = t.get("fmc");
        boolean hasFmc = fmc != null && !fmc.isNull();
        if (hasFmc != turin) {
            throw new EvidenceParseException(STRUCTURE, -1, field + ".fmc must be present exactly on Turin (CPUID "
                    + "family 0x1A) reports");
        }
        if (turin) {
            out[0] = (byte) uint(t, "fmc", 0xff);
            out[1] = (byte) uint(t, "bootloader", 0xff);
            out[2] = (byte) uint(t, "tee", 0xff);
            out[3] = (byte) uint(t, "snp", 0xff);
        } else {
            out[0] = (byte) uint(t, "bootloader", 0xff);
            out[1] = (byte) uint(t, "tee", 0xff);
            out[6] = (byte) uint(t, "snp", 0xff);
        }
        out[7] = (byte) uint(t, "microcode", 0xff);
        return ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    /** A firmware version is stored build, minor, major. */
    private static void firmwareVersion(ByteBuffer b, int at, JsonNode v, String field) throws EvidenceParseException {
        if (!v.isObject()) {
            throw new EvidenceParseException(STRUCTURE, -1, field + " must be an object {major, minor, build}");
        }
        b.put(at, (byte) uint(v, "build", 0xff));
        b.put(at + 1, (byte) uint(v, "minor", 0xff));
        b.put(at + 2, (byte) uint(v, "major", 0xff));
    }

    private static byte[] bytes(JsonNode r, String field, int n) throws EvidenceParseException {
        return CocoJson.byteArray(CocoJson.required(r, field, STRUCTURE), field, n, n, STRUCTURE);
    }

    private static void put(ByteBuffer b, int at, byte[] v) {
        b.put(at, v);
    }

    private static long uint(JsonNode r, String field, long max) throws EvidenceParseException {
        JsonNode v = CocoJson.required(r, field, STRUCTURE);
        if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < 0 || v.asLong() > max) {
            throw new EvidenceParseException(STRUCTURE, -1, field + " must be an integer 0.." + max);
        }
        return v.asLong();
    }

    /** A u64 as serde writes it: up to 2^64-1, which Jackson reads as a BigInteger above Long.MAX_VALUE. */
    private static long uint64(JsonNode r, String field) throws EvidenceParseException {
        JsonNode v = CocoJson.required(r, field, STRUCTURE);
        if (!v.isIntegralNumber() || v.bigIntegerValue().signum() < 0 || v.bigIntegerValue().bitLength() > 64) {
            throw new EvidenceParseException(STRUCTURE, -1, field + " must be an unsigned 64-bit integer");
        }
        return v.bigIntegerValue().longValue();
    }

    private static int optionalByte(JsonNode r, String field) throws EvidenceParseException {
        JsonNode v = r.get(field);
        return v == null || v.isNull() ? 0 : (int) uint(r, field, 0xff);
    }

    private static long optionalLong(JsonNode r, String field) throws EvidenceParseException {
        JsonNode v = r.get(field);
        return v == null || v.isNull() ? 0 : uint64(r, field);
    }
}
