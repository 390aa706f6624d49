package dev.attestmesh.quote.snp;

import java.util.HexFormat;
import java.util.Objects;
import java.util.Optional;

/**
 * Which VCEK or VLEK a report needs: one per chip and reported TCB. A value type, usable as a cache
 * key.
 *
 * @param product the product, when the report names it (v3+) or the caller knows it; v2 reports
 *     leave it empty and providers try each product whose KDS layout fits
 * @param keyType VCEK or VLEK
 * @param chipIdHex CHIP_ID as lower-case hex (128 digits; all zero for VLEK or masked reports)
 * @param reportedTcbRaw REPORTED_TCB as the raw u64 from the report
 */
public record VcekRequest(Optional<SnpProduct> product, SnpSigningKey keyType, String chipIdHex, long reportedTcbRaw) {
    public VcekRequest {
        Objects.requireNonNull(product, "product");
        Objects.requireNonNull(keyType, "keyType");
        Objects.requireNonNull(chipIdHex, "chipIdHex");
    }

    /** The request for the certificate that signed {@code report}. */
    public static VcekRequest forReport(SnpReport report) {
        return new VcekRequest(report.product(), report.signingKey(), HexFormat.of().formatHex(report.chipId()),
                report.reportedTcbRaw());
    }

    /** The KDS hardware ID for {@code p}: the first {@link SnpProduct#hwIdLength()} bytes of CHIP_ID, hex. */
    public String hwIdHex(SnpProduct p) {
        return chipIdHex.substring(0, Math.min(chipIdHex.length(), 2 * p.hwIdLength()));
    }

    /** REPORTED_TCB decoded for {@code p}. */
    public SnpTcb reportedTcb(SnpProduct p) {
        return SnpTcb.decode(reportedTcbRaw, p);
    }
}
