package dev.attestmesh.quote.collateral;

import java.util.Optional;

/** The two Intel PCK intermediate CAs; each issues its own PCK CRL. */
public enum PckCa {
    PROCESSOR("processor", "Intel SGX PCK Processor CA"),
    PLATFORM("platform", "Intel SGX PCK Platform CA");

    private final String pcsName;
    private final String commonName;

    PckCa(String pcsName, String commonName) {
        this.pcsName = pcsName;
        this.commonName = commonName;
    }

    /** The value of the PCS {@code ca} query parameter. */
    public String pcsName() {
        return pcsName;
    }

    /** The intermediate certificate's subject common name. */
    public String commonName() {
        return commonName;
    }

    public static Optional<PckCa> fromCommonName(String cn) {
        for (PckCa ca : values()) {
            if (ca.commonName.equals(cn)) {
                return Optional.of(ca);
            }
        }
        return Optional.empty();
    }
}
