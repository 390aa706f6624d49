package dev.attestmesh.quote.snp;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalInt;

/**
 * One decoded SEV-SNP TCB_VERSION: the security patch levels of the firmware components. Milan and
 * Genoa lay the 8 bytes out as [0] boot loader, [1] TEE, [6] SNP, [7] microcode; Turin as [0] FMC,
 * [1] boot loader, [2] TEE, [3] SNP, [7] microcode.
 *
 * @param raw the TCB_VERSION as the little-endian u64 it is in the report
 * @param bootloader boot loader SPL
 * @param tee PSP OS (TEE) SPL
 * @param snp SNP firmware SPL
 * @param microcode CPU microcode SPL
 * @param fmc Turin's FMC SPL; empty for Milan and Genoa
 */
public record SnpTcb(long raw, int bootloader, int tee, int snp, int microcode, OptionalInt fmc) {

    /** Decodes {@code raw} with the byte layout of {@code product}. */
    public static SnpTcb decode(long raw, SnpProduct product) {
        if (product.turinTcbLayout()) {
            return new SnpTcb(raw, b(raw, 1), b(raw, 2), b(raw, 3), b(raw, 7), OptionalInt.of(b(raw, 0)));
        }
        return new SnpTcb(raw, b(raw, 0), b(raw, 1), b(raw, 6), b(raw, 7), OptionalInt.empty());
    }

    /**
     * Whether every component is at least {@code other}'s (fmc only when both have one).
     */
    public boolean atLeast(SnpTcb other) {
        return bootloader >= other.bootloader && tee >= other.tee && snp >= other.snp && microcode >= other.microcode
                && (fmc.isEmpty() || other.fmc.isEmpty() || fmc.getAsInt() >= other.fmc.getAsInt());
    }

    /** A TCB from its components (Milan/Genoa layout when {@code fmc} is empty, else Turin's). */
    public static SnpTcb of(int bootloader, int tee, int snp, int microcode, OptionalInt fmc) {
        long raw;
        if (fmc.isPresent()) {
            raw = (long) fmc.getAsInt() | (long) bootloader << 8 | (long) tee << 16 | (long) snp << 24 | (long) microcode << 56;
        } else {
            raw = (long) bootloader | (long) tee << 8 | (long) snp << 48 | (long) microcode << 56;
        }
        return new SnpTcb(raw, bootloader, tee, snp, microcode, fmc);
    }

    private static int b(long raw, int index) {
        return (int) ((raw >>> (8 * index)) & 0xFF);
    }

    /** Claim entries under {@code prefix}, e.g. {@code reported_tcb.snp}. */
    public Map<String, Long> claims(String prefix) {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put(prefix + ".bootloader", (long) bootloader);
        m.put(prefix + ".tee", (long) tee);
        m.put(prefix + ".snp", (long) snp);
        m.put(prefix + ".microcode", (long) microcode);
        fmc.ifPresent(f -> m.put(prefix + ".fmc", (long) f));
        return m;
    }

    @Override
    public String toString() {
        return "bl=" + bootloader + " tee=" + tee + " snp=" + snp + " ucode=" + microcode
                + (fmc.isPresent() ? " fmc=" + fmc.getAsInt() : "") + String.format(" (0x%016x)", raw);
    }
}
