package dev.attestmesh.quote.device;

import dev.attestmesh.quote.TeeType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Objects;

/**
 * Collects an SGX DCAP quote inside a Gramine enclave through Gramine's pseudo-files: writes the 64
 * bytes of report data to {@code /dev/attestation/user_report_data}, then reads the quote from
 * {@code /dev/attestation/quote}. Requires {@code sgx.remote_attestation = "dcap"} in the manifest
 * ({@code /dev/attestation/attestation_type} then reads {@code dcap}). Gramine serializes these files
 * per enclave, so concurrent collections are serialized here too.
 */
public final class GramineAttestationCollector implements EvidenceCollector {
    /** Gramine's attestation directory. */
    public static final Path ROOT = Path.of("/dev/attestation");
    // A v3 quote is at least the header, the report body and the signature length.
    private static final int MINIMUM_QUOTE = 436;
    // REPORTDATA of the enclave report body: header 48 + body offset 320.
    private static final int REPORT_DATA_OFFSET = 368;
    private final Path root;

    private GramineAttestationCollector(Path root) {
        this.root = Objects.requireNonNull(root, "root");
    }

    /** A collector over {@code root} (normally {@link #ROOT}). */
    public static GramineAttestationCollector create(Path root) {
        return new GramineAttestationCollector(root);
    }

    @Override
    public TeeType tee() {
        return TeeType.SGX;
    }

    @Override
    public synchronized byte[] collect(byte[] reportData) throws EvidenceCollectionException {
        if (reportData.length != 64) {
            throw new IllegalArgumentException("report data must be 64 bytes, got " + reportData.length);
        }
        Path type = root.resolve("attestation_type");
        if (Files.exists(type)) {
            String t;
            try {
                t = Files.readString(type, StandardCharsets.US_ASCII).trim();
            } catch (IOException e) {
                throw new EvidenceCollectionException("cannot read " + type + ": " + e.getMessage(), e);
            }
            if (!t.equals("dcap")) {
                throw new EvidenceCollectionException("Gramine attestation type is '" + t + "'; set sgx.remote_attestation"
                        + " = \"dcap\" in the enclave manifest");
            }
        }
        Path userData = root.resolve("user_report_data");
        try {
            Files.write(userData, reportData, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new EvidenceCollectionException("cannot write " + userData + " (is this running inside Gramine?): "
                    + e.getMessage(), e);
        }
        Path quoteFile = root.resolve("quote");
        byte[] quote;
        try {
            quote = Files.readAllBytes(quoteFile);
        } catch (IOException e) {
            throw new EvidenceCollectionException("cannot read " + quoteFile + " (is the AESM/DCAP quote provider "
                    + "reachable?): " + e.getMessage(), e);
        }
        if (quote.length < MINIMUM_QUOTE) {
            throw new EvidenceCollectionException("Gramine returned " + quote.length + " bytes from " + quoteFile
                    + ", too short for an SGX quote");
        }
        if (!java.util.Arrays.equals(quote, REPORT_DATA_OFFSET, REPORT_DATA_OFFSET + 64, reportData, 0, 64)) {
            throw new EvidenceCollectionException("the quote from " + quoteFile + " does not carry the report data just"
                    + " written; another thread of the enclave may be using " + userData);
        }
        return quote;
    }
}
