package dev.attestmesh.quote.device;

import dev.attestmesh.quote.EvidenceParseException;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.azure.AzureVtpmEvidence;
import dev.attestmesh.quote.tpm.PcrSelection;
import dev.attestmesh.quote.tpm.Tpm2Commands;
import dev.attestmesh.quote.tpm.Tpm2Commands.TpmErrorException;
import dev.attestmesh.quote.tpm.TpmsAttest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Collects Azure SEV-SNP vTPM evidence ({@link TeeType#AZ_SNP_VTPM}) through the TPM resource manager
 * {@code /dev/tpmrm0}: the HCL report from NV index {@value #HCL_REPORT_NV_INDEX} (read in chunks of the
 * TPM's NV buffer size, owner authorization with the empty password, as Azure provisions it), a TPM2
 * quote by the attestation key at persistent handle {@value #AK_HANDLE} over the 64 bytes of report data
 * (as qualifying data) and SHA-256 PCRs 0-23, and those PCR values. Writes Trustee's {@code az-snp-vtpm}
 * JSON (see {@link AzureVtpmEvidence}); the VCEK is left out (the control plane gets it from AMD KDS by
 * the report's chip ID and TCB) unless one is configured.
 *
 * <p>PCRs can change between the quote and the read; the collector checks that the values it read
 * hash to the quote's digest and retries the pair a bounded number of times. Collections are
 * serialized.
 */
public final class AzureVtpmCollector implements EvidenceCollector {
    /** The TPM resource manager device. */
    public static final Path DEVICE = Path.of("/dev/tpmrm0");
    /** Azure's NV index holding the HCL report. */
    public static final int HCL_REPORT_NV_INDEX = 0x01400001;
    /** Azure's persistent handle of the vTPM attestation key. */
    public static final int AK_HANDLE = 0x81000003;
    static final int PCR_COUNT = 24;
    static final int ATTEMPTS = 3;
    private static final int FALLBACK_NV_CHUNK = 512;
    private static final int MAX_HCL_REPORT = AzureVtpmEvidence.MAX_HCL_REPORT;

    private final TpmDevice device;
    private final Path path;
    private final Optional<String> vcekPem;

    private AzureVtpmCollector(TpmDevice device, Path path, Optional<String> vcekPem) {
        this.device = Objects.requireNonNull(device, "device");
        this.path = Objects.requireNonNull(path, "path");
        this.vcekPem = Objects.requireNonNull(vcekPem, "vcekPem");
    }

    /** A collector over {@code path} (normally {@link #DEVICE}) through {@code device}. */
    public static AzureVtpmCollector create(TpmDevice device, Path path) {
        return new AzureVtpmCollector(device, path, Optional.empty());
    }

    /** The same collector, adding {@code pem} (the platform's VCEK) to the evidence. */
    public AzureVtpmCollector withVcek(String pem) {
        return new AzureVtpmCollector(device, path, Optional.of(pem));
    }

    @Override
    public TeeType tee() {
        return TeeType.AZ_SNP_VTPM;
    }

    @Override
    public synchronized byte[] collect(byte[] reportData) throws EvidenceCollectionException {
        if (reportData.length != 64) {
            throw new IllegalArgumentException("report data must be 64 bytes, got " + reportData.length);
        }
        try (TpmDevice.Handle tpm = device.open(path)) {
            byte[] hcl = readHclReport(tpm);
            PcrSelection all = PcrSelection.firstPcrs(PcrSelection.SHA256, PCR_COUNT);
            for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
                Tpm2Commands.QuoteResponse q = Tpm2Commands.parseQuote(tpm.transmit(
                        Tpm2Commands.quote(AK_HANDLE, reportData, all)));
                TpmsAttest attest = TpmsAttest.parse(q.attest());
                if (!Arrays.equals(attest.extraData(), reportData)) {
                    throw new EvidenceCollectionException("the TPM's quote does not carry the report data just sent as"
                            + " qualifying data");
                }
                if (q.hashAlg() != PcrSelection.SHA256) {
                    throw new EvidenceCollectionException(String.format("the attestation key signed with hash 0x%04x, not"
                            + " SHA-256; the AK at 0x%08x is not Azure's", q.hashAlg(), AK_HANDLE));
                }
                List<byte[]> pcrs = readPcrs(tpm);
                if (MessageDigest.isEqual(digest(pcrs), attest.pcrDigest())) {
                    return new AzureVtpmEvidence(q.attest(), pcrs, q.signature(), hcl, vcekPem).toJson();
                }
                // A PCR was extended between the quote and the read: quote again.
            }
            throw new EvidenceCollectionException("the PCRs kept changing between TPM2_Quote and TPM2_PCR_Read ("
                    + ATTEMPTS + " attempts)");
        } catch (TpmErrorException e) {
            throw new EvidenceCollectionException(e.getMessage() + " on " + path + hint(e), e);
        } catch (EvidenceParseException e) {
            throw new EvidenceCollectionException("the TPM at " + path + " returned a malformed response: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new EvidenceCollectionException("cannot use the TPM at " + path + " (is this an Azure confidential VM"
                    + " with its vTPM, and may this user open " + path + "?): " + e.getMessage(), e);
        }
    }

    private static String hint(TpmErrorException e) {
        // TPM_RC_HANDLE (0x8b) with a handle/parameter number: the NV index or the AK does not exist.
        return (e.code() & 0xff) == 0x8b ? String.format(" (no NV index 0x%08x or AK 0x%08x: not an Azure"
                + " confidential VM?)", HCL_REPORT_NV_INDEX, AK_HANDLE) : "";
    }

    private static byte[] readHclReport(TpmDevice.Handle tpm) throws IOException, EvidenceParseException,
            TpmErrorException, EvidenceCollectionException {
        int size = Tpm2Commands.parseNvReadPublicSize(tpm.transmit(Tpm2Commands.nvReadPublic(HCL_REPORT_NV_INDEX)),
                HCL_REPORT_NV_INDEX);
        if (size == 0 || size > MAX_HCL_REPORT) {
            throw new EvidenceCollectionException(String.format("NV index 0x%08x holds %d bytes; an HCL report is 1 to %d",
                    HCL_REPORT_NV_INDEX, size, MAX_HCL_REPORT));
        }
        int chunk;
        try {
            chunk = (int) Math.min(4096, Tpm2Commands.parseCapabilityProperty(
                    tpm.transmit(Tpm2Commands.getCapabilityProperty(Tpm2Commands.PT_NV_BUFFER_MAX)),
                    Tpm2Commands.PT_NV_BUFFER_MAX));
        } catch (TpmErrorException | EvidenceParseException e) {
            chunk = FALLBACK_NV_CHUNK;
        }
        if (chunk <= 0) {
            chunk = FALLBACK_NV_CHUNK;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(size);
        while (out.size() < size) {
            int n = Math.min(chunk, size - out.size());
            byte[] part = Tpm2Commands.parseNvRead(tpm.transmit(Tpm2Commands.nvRead(Tpm2Commands.RH_OWNER,
                    HCL_REPORT_NV_INDEX, n, out.size())));
            if (part.length != n) {
                throw new EvidenceCollectionException("TPM2_NV_Read returned " + part.length + " bytes, asked for " + n);
            }
            out.writeBytes(part);
        }
        return out.toByteArray();
    }

    /** PCRs 0-23 of the SHA-256 bank; the TPM may return fewer per call (8 is common), so ask until all are read. */
    private static List<byte[]> readPcrs(TpmDevice.Handle tpm) throws IOException, EvidenceParseException,
            TpmErrorException, EvidenceCollectionException {
        byte[][] values = new byte[PCR_COUNT][];
        for (int round = 0; round < PCR_COUNT; round++) {
            List<Integer> missing = new ArrayList<>();
            for (int i = 0; i < PCR_COUNT; i++) {
                if (values[i] == null) {
                    missing.add(i);
                }
            }
            if (missing.isEmpty()) {
                return Arrays.asList(values);
            }
            byte[] bitmap = new byte[3];
            missing.forEach(i -> bitmap[i / 8] |= (byte) (1 << (i % 8)));
            Tpm2Commands.PcrReadResponse r = Tpm2Commands.parsePcrRead(tpm.transmit(
                    Tpm2Commands.pcrRead(new PcrSelection(PcrSelection.SHA256, bitmap))));
            List<Integer> got = new ArrayList<>();
            for (PcrSelection s : r.selection()) {
                if (s.hashAlg() != PcrSelection.SHA256) {
                    throw new EvidenceCollectionException("TPM2_PCR_Read answered for another bank");
                }
                got.addAll(s.indices());
            }
            if (got.isEmpty() || got.size() != r.values().size()) {
                throw new EvidenceCollectionException("TPM2_PCR_Read returned " + r.values().size() + " values for "
                        + got.size() + " selected PCRs");
            }
            for (int k = 0; k < got.size(); k++) {
                int index = got.get(k);
                byte[] v = r.values().get(k);
                if (index >= PCR_COUNT || values[index] != null || !missing.contains(index) || v.length != 32) {
                    throw new EvidenceCollectionException("TPM2_PCR_Read returned PCR " + index + " unasked or malformed");
                }
                values[index] = v;
            }
        }
        throw new EvidenceCollectionException("TPM2_PCR_Read did not return all " + PCR_COUNT + " PCRs");
    }

    private static byte[] digest(List<byte[]> pcrs) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            pcrs.forEach(d::update);
            return d.digest();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is a mandatory JCA algorithm", e);
        }
    }
}
