package dev.attestmesh.quote.collateral;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.List;

/**
 * Intel QE Identity (enclave identity v2) for the SGX QE ({@code id = "QE"}) or the TD QE ({@code
 * id = "TD_QE"}). Only meaningful once its signature has been verified.
 *
 * @param tcbEvaluationDataNumber Intel's TCB evaluation data number (0 when the document has none)
 */
public record QeIdentity(String id, int version, Instant issueDate, Instant nextUpdate, long miscSelect,
        long miscSelectMask, byte[] attributes, byte[] attributesMask, byte[] mrSigner, int isvProdId,
        List<IsvSvnTcbLevel> tcbLevels, int tcbEvaluationDataNumber) {

    private static final String WHAT = "QE Identity";

    public QeIdentity {
        tcbLevels = List.copyOf(tcbLevels);
    }

    /** Parses the exact {@code enclaveIdentity} body bytes. */
    public static QeIdentity parse(byte[] body) throws CollateralParseException {
        JsonNode n = CollateralJson.tree(body, WHAT);
        return new QeIdentity(CollateralJson.text(n, "id", WHAT), CollateralJson.integer(n, "version", WHAT),
                CollateralJson.instant(n, "issueDate", WHAT), CollateralJson.instant(n, "nextUpdate", WHAT),
                u32(CollateralJson.hex(n, "miscselect", 4, WHAT)), u32(CollateralJson.hex(n, "miscselectMask", 4, WHAT)),
                CollateralJson.hex(n, "attributes", 16, WHAT), CollateralJson.hex(n, "attributesMask", 16, WHAT),
                CollateralJson.hex(n, "mrsigner", 32, WHAT), CollateralJson.integer(n, "isvprodid", WHAT),
                CollateralJson.isvSvnLevels(n, WHAT),
                n.has("tcbEvaluationDataNumber") ? CollateralJson.integer(n, "tcbEvaluationDataNumber", WHAT) : 0);
    }

    /** Intel writes MISCSELECT as big-endian hex of the 32-bit value. */
    private static long u32(byte[] b) {
        return (b[0] & 0xffL) << 24 | (b[1] & 0xffL) << 16 | (b[2] & 0xffL) << 8 | (b[3] & 0xffL);
    }
}
