package dev.attestmesh.agent.coco;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.attestmesh.agent.CollectedEvidence;
import dev.attestmesh.quote.EvidenceParseException;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.azure.AzureVtpmEvidence;
import dev.attestmesh.quote.intel.QuoteHeader;
import dev.attestmesh.quote.sgx.SgxQuoteParser;
import dev.attestmesh.quote.snp.SnpReport;
import dev.attestmesh.quote.tdx.TdxQuoteParser;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Maps the Confidential Containers attestation-agent's evidence JSON (its {@code GetEvidence} answer) to
 * AttestMesh's native evidence encoding, losslessly, so that the control plane verifies it with the
 * verifiers it already has and needs no new format. The TEE type is read from the evidence (the JSON's shape,
 * then the quote header or report the parser accepts), never from what the attestation-agent says it is.
 *
 * <table>
 * <caption>shapes (guest-components attestation-agent/attester)</caption>
 * <tr><th>attester</th><th>JSON</th><th>becomes</th></tr>
 * <tr><td>tdx</td><td>{@code {"cc_eventlog": base64 | null, "quote": base64}}</td><td>tdx: the quote (the event
 * log is dropped: the Attest protocol carries none)</td></tr>
 * <tr><td>sgx</td><td>{@code {"quote": base64}}</td><td>sgx: the quote (header TEE type 0)</td></tr>
 * <tr><td>snp</td><td>{@code {"attestation_report": {sev AttestationReport} | hex | [bytes], "cert_chain":
 * [{"cert_type": "VCEK", "data": [bytes]}, ...] | null}}</td><td>snp: the 1184-byte report; the VCEK (or VLEK)
 * as collateral</td></tr>
 * <tr><td>az-snp-vtpm, version 1</td><td>{@code {"quote": {"message", "pcrs", "signature"}, "report",
 * "vcek"}}</td><td>az-snp-vtpm: the same document</td></tr>
 * <tr><td>az-snp-vtpm, version 2</td><td>{@code {"version": 2, "tpm_quote": {hex}, "hcl_report": base64url,
 * "vcek": base64url DER}}</td><td>az-snp-vtpm: rewritten in the version 1 layout</td></tr>
 * <tr><td>az-tdx-vtpm</td><td>{@code {"tpm_quote", "hcl_report", "td_quote"}}</td><td>refused: AttestMesh does
 * not verify Azure TDX HCL reports</td></tr>
 * </table>
 */
public final class CocoEvidence {
    /** The largest document accepted: a ttrpc frame's limit. */
    public static final int MAX_DOCUMENT_BYTES = TtrpcFrame.MAX_DATA_LENGTH;
    static final String STRUCTURE = "CoCo attestation-agent evidence";
    private static final int MAX_QUOTE = 64 * 1024;
    private static final int MAX_CERT = 16 * 1024;
    private static final int MAX_CERTS = 16;
    private static final ObjectMapper JSON = new ObjectMapper(JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(8).maxNumberLength(24)
                    .maxStringLength(MAX_DOCUMENT_BYTES).build())
            .build())
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private CocoEvidence() {}

    /**
     * Maps {@code json} to native evidence.
     *
     * @throws EvidenceParseException naming what is wrong or unsupported; nothing is partially returned
     */
    public static CollectedEvidence toNative(byte[] json) throws EvidenceParseException {
        if (json.length > MAX_DOCUMENT_BYTES) {
            throw new EvidenceParseException(STRUCTURE, -1, json.length + " bytes; at most " + MAX_DOCUMENT_BYTES);
        }
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            String m = String.valueOf(e.getMessage());
            throw new EvidenceParseException(STRUCTURE, -1, "not valid JSON: "
                    + TtrpcClient.printable(m.lines().findFirst().orElse(""), 200));
        }
        if (root == null || !root.isObject()) {
            throw new EvidenceParseException(STRUCTURE, -1, "must be a JSON object");
        }
        if (root.has("td_quote")) {
            throw new EvidenceParseException(STRUCTURE, -1, "this is az-tdx-vtpm evidence (an Azure TDX confidential "
                    + "VM); AttestMesh does not verify Azure TDX HCL reports, so it cannot be admitted");
        }
        if (root.has("attestation_report")) {
            return snp(root);
        }
        if (root.has("tpm_quote")) {
            return azureV2(root);
        }
        JsonNode quote = root.get("quote");
        if (quote != null && quote.isObject()) {
            AzureVtpmEvidence.parse(json); // validates the whole document: its layout is the native one
            return new CollectedEvidence(TeeType.AZ_SNP_VTPM, json, Optional.empty());
        }
        if (quote != null && quote.isTextual()) {
            return dcap(root);
        }
        List<String> names = new ArrayList<>();
        root.fieldNames().forEachRemaining(f -> names.add(CocoJson.shortName(f)));
        throw new EvidenceParseException(STRUCTURE, -1, "unsupported evidence with fields " + names.stream()
                .limit(8).toList() + "; AttestMesh maps tdx, sgx, snp and az-snp-vtpm evidence");
    }

    private static CollectedEvidence dcap(JsonNode root) throws EvidenceParseException {
        onlyFields(root, Set.of("quote", "cc_eventlog"));
        byte[] quote = CocoJson.base64(root.get("quote"), "quote", MAX_QUOTE, false, STRUCTURE);
        if (quote.length < QuoteHeader.SIZE) {
            throw new EvidenceParseException(STRUCTURE, -1, "quote is " + quote.length + " bytes; shorter than a "
                    + "quote header");
        }
        long teeType = Integer.toUnsignedLong(ByteBuffer.wrap(quote, 4, 4).order(ByteOrder.LITTLE_ENDIAN).getInt());
        if (teeType == QuoteHeader.TEE_TYPE_TDX) {
            TdxQuoteParser.parse(quote);
            return new CollectedEvidence(TeeType.TDX, quote, Optional.empty());
        }
        if (teeType == QuoteHeader.TEE_TYPE_SGX && !root.has("cc_eventlog")) {
            SgxQuoteParser.parse(quote);
            return new CollectedEvidence(TeeType.SGX, quote, Optional.empty());
        }
        throw new EvidenceParseException(STRUCTURE, -1, "quote header names TEE type 0x" + Long.toHexString(teeType)
                + (root.has("cc_eventlog") ? "; TDX evidence (with cc_eventlog) must carry a TDX quote (0x81)"
                        : "; expected 0x81 (TDX) or 0 (SGX)"));
    }

    private static CollectedEvidence snp(JsonNode root) throws EvidenceParseException {
        onlyFields(root, Set.of("attestation_report", "cert_chain"));
        JsonNode r = root.get("attestation_report");
        byte[] report;
        if (r.isTextual()) {
            report = CocoJson.hex(r, "attestation_report", SevSnpReportJson.LENGTH, STRUCTURE);
        } else if (r.isArray()) {
            report = CocoJson.byteArray(r, "attestation_report", SevSnpReportJson.LENGTH, SevSnpReportJson.LENGTH,
                    STRUCTURE);
        } else {
            report = SevSnpReportJson.encode(r);
        }
        SnpReport.parse(report);
        Optional<byte[]> vcek = Optional.empty();
        Optional<byte[]> vlek = Optional.empty();
        JsonNode chain = root.get("cert_chain");
        if (chain != null && !chain.isNull()) {
            if (!chain.isArray() || chain.size() > MAX_CERTS) {
                throw new EvidenceParseException(STRUCTURE, -1, "cert_chain must be an array of at most " + MAX_CERTS
                        + " entries");
            }
            for (int i = 0; i < chain.size(); i++) {
                JsonNode e = chain.get(i);
                if (!e.isObject()) {
                    throw new EvidenceParseException(STRUCTURE, -1, "cert_chain[" + i + "] must be an object");
                }
                onlyFields(e, Set.of("cert_type", "data"));
                JsonNode type = CocoJson.required(e, "cert_type", STRUCTURE);
                byte[] data = CocoJson.byteArray(CocoJson.required(e, "data", STRUCTURE), "cert_chain[" + i + "].data",
                        0, MAX_CERT, STRUCTURE);
                // Unit variants are strings; OTHER(uuid) is an object. Only the signing key's certificate is used:
                // the control plane holds the pinned ARK and fetches or caches the ASK itself.
                if (type.isTextual() && type.textValue().equals("VCEK") && vcek.isEmpty()) {
                    vcek = Optional.of(data);
                } else if (type.isTextual() && type.textValue().equals("VLEK") && vlek.isEmpty()) {
                    vlek = Optional.of(data);
                }
            }
        }
        return new CollectedEvidence(TeeType.SNP, report, vcek.isPresent() ? vcek : vlek);
    }

    private static CollectedEvidence azureV2(JsonNode root) throws EvidenceParseException {
        onlyFields(root, Set.of("version", "tpm_quote", "hcl_report", "vcek"));
        JsonNode version = CocoJson.required(root, "version", STRUCTURE);
        if (!version.isIntegralNumber() || version.asInt() != 2) {
            throw new EvidenceParseException(STRUCTURE, -1, "az-snp-vtpm evidence version " + CocoJson.shortName(
                    version.toString()) + " is not understood; expected 2");
        }
        JsonNode q = CocoJson.required(root, "tpm_quote", STRUCTURE);
        if (!q.isObject()) {
            throw new EvidenceParseException(STRUCTURE, -1, "tpm_quote must be an object with signature, message and "
                    + "pcrs");
        }
        onlyFields(q, Set.of("signature", "message", "pcrs"));
        byte[] signature = CocoJson.hex(CocoJson.required(q, "signature", STRUCTURE), "tpm_quote.signature",
                AzureVtpmEvidence.MAX_SIGNATURE, STRUCTURE);
        byte[] message = CocoJson.hex(CocoJson.required(q, "message", STRUCTURE), "tpm_quote.message",
                dev.attestmesh.quote.tpm.TpmsAttest.MAX_LENGTH, STRUCTURE);
        JsonNode pcrsNode = CocoJson.required(q, "pcrs", STRUCTURE);
        if (!pcrsNode.isArray() || pcrsNode.size() > AzureVtpmEvidence.MAX_PCRS) {
            throw new EvidenceParseException(STRUCTURE, -1, "tpm_quote.pcrs must be an array of at most "
                    + AzureVtpmEvidence.MAX_PCRS + " hex PCR values");
        }
        List<byte[]> pcrs = new ArrayList<>();
        for (int i = 0; i < pcrsNode.size(); i++) {
            byte[] pcr = CocoJson.hex(pcrsNode.get(i), "tpm_quote.pcrs[" + i + "]", 32, STRUCTURE);
            if (pcr.length != 32) {
                throw new EvidenceParseException(STRUCTURE, -1, "tpm_quote.pcrs[" + i + "] is " + pcr.length
                        + " bytes; SHA-256 PCR values are 32");
            }
            pcrs.add(pcr);
        }
        byte[] hcl = CocoJson.base64(CocoJson.required(root, "hcl_report", STRUCTURE), "hcl_report",
                AzureVtpmEvidence.MAX_HCL_REPORT, true, STRUCTURE);
        byte[] vcekDer = CocoJson.base64(CocoJson.required(root, "vcek", STRUCTURE), "vcek", MAX_CERT, true,
                STRUCTURE);
        String pem = "-----BEGIN CERTIFICATE-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(vcekDer)
                + "\n-----END CERTIFICATE-----\n";
        byte[] nativeJson = new AzureVtpmEvidence(message, pcrs, signature, hcl,
                vcekDer.length == 0 ? Optional.empty() : Optional.of(pem)).toJson();
        AzureVtpmEvidence.parse(nativeJson);
        return new CollectedEvidence(TeeType.AZ_SNP_VTPM, nativeJson, Optional.empty());
    }

    private static void onlyFields(JsonNode n, Set<String> allowed) throws EvidenceParseException {
        for (Iterator<String> it = n.fieldNames(); it.hasNext();) {
            String f = it.next();
            if (!allowed.contains(f)) {
                throw new EvidenceParseException(STRUCTURE, -1, "unknown field '" + CocoJson.shortName(f)
                        + "'; expected " + allowed);
            }
        }
    }
}
