package dev.attestmesh.quote.snp;

import java.util.Locale;
import java.util.Optional;

/**
 * AMD EPYC generations that produce SEV-SNP attestation reports. The generation decides the
 * TCB_VERSION byte layout, the hardware ID length used by AMD KDS, and which AMD root key (ARK)
 * anchors the certificate chain.
 */
public enum SnpProduct {
    /** EPYC 7003 (Zen 3), CPUID family 0x19, models 0x00-0x0F. */
    MILAN("Milan", 64, false),
    /** EPYC 9004/8004 (Zen 4: Genoa, Bergamo, Siena), CPUID family 0x19, models 0x10-0x1F and 0xA0-0xAF. */
    GENOA("Genoa", 64, false),
    /** EPYC 9005 (Zen 5), CPUID family 0x1A, models 0x00-0x11. */
    TURIN("Turin", 8, true);

    private final String kdsName;
    private final int hwIdLength;
    private final boolean turinTcbLayout;

    SnpProduct(String kdsName, int hwIdLength, boolean turinTcbLayout) {
        this.kdsName = kdsName;
        this.hwIdLength = hwIdLength;
        this.turinTcbLayout = turinTcbLayout;
    }

    /** The product name as AMD KDS spells it in URLs and certificate names ("Milan", "Genoa", "Turin"). */
    public String kdsName() {
        return kdsName;
    }

    /** Bytes of CHIP_ID that form the hardware ID in KDS requests and the VCEK hwID extension. */
    public int hwIdLength() {
        return hwIdLength;
    }

    /** Whether TCB_VERSION uses the Turin layout (FMC first) rather than the Milan/Genoa one. */
    public boolean turinTcbLayout() {
        return turinTcbLayout;
    }

    /** The product for a CPUID family and (extended) model as carried by v3+ reports, if known. */
    public static Optional<SnpProduct> fromCpuid(int family, int model) {
        if (family == 0x19) {
            if (model <= 0x0F) {
                return Optional.of(MILAN);
            }
            if (model <= 0x1F || (model >= 0xA0 && model <= 0xAF)) {
                return Optional.of(GENOA);
            }
        } else if (family == 0x1A && model <= 0x11) {
            return Optional.of(TURIN);
        }
        return Optional.empty();
    }

    /**
     * The product named by a KDS product name or certificate product name such as "Milan-B0",
     * "Genoa" or the common-name suffix of "SEV-Milan" / "ARK-Turin"; case-insensitive.
     */
    public static Optional<SnpProduct> fromName(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT);
        for (SnpProduct p : values()) {
            String k = p.kdsName.toLowerCase(Locale.ROOT);
            if (n.equals(k) || n.startsWith(k + "-")) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }
}
