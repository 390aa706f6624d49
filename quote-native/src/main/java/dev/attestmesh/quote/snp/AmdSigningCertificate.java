package dev.attestmesh.quote.snp;

import java.io.IOException;
import java.math.BigInteger;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Optional;
import java.util.OptionalInt;
import org.bouncycastle.asn1.ASN1IA5String;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1Primitive;

/**
 * A VCEK or VLEK certificate with its AMD extensions decoded (AMD pub. 57230). Decoding says nothing
 * about trust: the chain is checked by {@link SnpReportVerifier}.
 *
 * @param certificate the certificate
 * @param keyType VCEK or VLEK, from the subject common name
 * @param productName the productName extension (e.g. "Milan-B0", "Genoa"), if present
 * @param bootloaderSpl blSPL
 * @param teeSpl teeSPL
 * @param snpSpl snpSPL
 * @param microcodeSpl ucodeSPL
 * @param fmcSpl fmcSPL (Turin)
 * @param hwId the hwID extension (VCEK only): 64 bytes, or 8 on Turin
 * @param cspId the cspID extension (VLEK only)
 */
public record AmdSigningCertificate(
        X509Certificate certificate,
        SnpSigningKey keyType,
        Optional<String> productName,
        int bootloaderSpl,
        int teeSpl,
        int snpSpl,
        int microcodeSpl,
        OptionalInt fmcSpl,
        Optional<byte[]> hwId,
        Optional<String> cspId) {

    private static final String AMD = "1.3.6.1.4.1.3704.1.";

    /**
     * Decodes the AMD extensions of a VCEK or VLEK.
     *
     * @throws CertificateException when the subject is not SEV-VCEK/SEV-VLEK or an SPL extension is
     *     missing or malformed
     */
    public static AmdSigningCertificate of(X509Certificate certificate) throws CertificateException {
        String cn = AmdCertificateDecoder.commonName(certificate.getSubjectX500Principal());
        SnpSigningKey keyType = switch (cn) {
            case "SEV-VCEK" -> SnpSigningKey.VCEK;
            case "SEV-VLEK" -> SnpSigningKey.VLEK;
            default -> throw new CertificateException("certificate subject CN '" + cn
                    + "' is neither SEV-VCEK nor SEV-VLEK; supply the report's signing certificate first");
        };
        OptionalInt fmc = optionalInt(certificate, AMD + "3.9");
        Optional<byte[]> hwId = Optional.ofNullable(inner(certificate, AMD + "4")).map(AmdSigningCertificate::unwrapHwId);
        return new AmdSigningCertificate(certificate, keyType,
                optionalString(certificate, AMD + "2"),
                requiredInt(certificate, AMD + "3.1", "blSPL"),
                requiredInt(certificate, AMD + "3.2", "teeSPL"),
                requiredInt(certificate, AMD + "3.3", "snpSPL"),
                requiredInt(certificate, AMD + "3.8", "ucodeSPL"),
                fmc, hwId, optionalString(certificate, AMD + "5"));
    }

    /** The product named by the productName extension or else by the issuer ("SEV-Milan", "SEV-VLEK-Genoa"). */
    public Optional<SnpProduct> product() {
        Optional<SnpProduct> byName = productName.flatMap(SnpProduct::fromName);
        if (byName.isPresent()) {
            return byName;
        }
        String issuer = AmdCertificateDecoder.commonName(certificate.getIssuerX500Principal());
        for (String prefix : new String[] {"SEV-VLEK-", "SEV-"}) {
            if (issuer.startsWith(prefix)) {
                return SnpProduct.fromName(issuer.substring(prefix.length()));
            }
        }
        return Optional.empty();
    }

    /** The stepping named by the product name ("Milan-B1" gives 1), if the name carries one. */
    public OptionalInt stepping() {
        if (productName.isEmpty()) {
            return OptionalInt.empty();
        }
        String n = productName.get();
        int dash = n.indexOf('-');
        if (dash < 0 || n.length() != dash + 3 || !Character.isLetter(n.charAt(dash + 1))
                || !Character.isDigit(n.charAt(dash + 2))) {
            return OptionalInt.empty();
        }
        return OptionalInt.of(n.charAt(dash + 2) - '0');
    }

    /** Whether this certificate was issued for {@code tcb}: every SPL equal (FMC too, when either has one). */
    public boolean certifies(SnpTcb tcb) {
        return tcb.bootloader() == bootloaderSpl && tcb.tee() == teeSpl && tcb.snp() == snpSpl
                && tcb.microcode() == microcodeSpl && tcb.fmc().equals(fmcSpl);
    }

    @Override
    public Optional<byte[]> hwId() {
        return hwId.map(byte[]::clone);
    }

    @Override
    public String toString() {
        return keyType + " " + productName.orElse("?") + " bl=" + bootloaderSpl + " tee=" + teeSpl + " snp=" + snpSpl
                + " ucode=" + microcodeSpl + (fmcSpl.isPresent() ? " fmc=" + fmcSpl.getAsInt() : "")
                + hwId.map(h -> " hwID=" + HexFormat.of().formatHex(h)).orElse("");
    }

    private static byte[] inner(X509Certificate c, String oid) {
        byte[] ext = c.getExtensionValue(oid);
        return ext == null ? null : ASN1OctetString.getInstance(ext).getOctets();
    }

    // Some VCEKs carry the raw hwID bytes, others wrap them in a DER OCTET STRING; accept both.
    private static byte[] unwrapHwId(byte[] raw) {
        if (raw.length >= 2 && raw[0] == 0x04 && Byte.toUnsignedInt(raw[1]) == raw.length - 2
                && (raw.length - 2 == 64 || raw.length - 2 == 8)) {
            return Arrays.copyOfRange(raw, 2, raw.length);
        }
        return raw;
    }

    private static int requiredInt(X509Certificate c, String oid, String name) throws CertificateException {
        OptionalInt v = optionalInt(c, oid);
        if (v.isEmpty()) {
            throw new CertificateException("AMD signing certificate lacks the " + name + " extension (" + oid + ")");
        }
        return v.getAsInt();
    }

    private static OptionalInt optionalInt(X509Certificate c, String oid) throws CertificateException {
        byte[] inner = inner(c, oid);
        if (inner == null) {
            return OptionalInt.empty();
        }
        try {
            BigInteger v = ASN1Integer.getInstance(ASN1Primitive.fromByteArray(inner)).getValue();
            if (v.signum() < 0 || v.bitLength() > 8) {
                throw new CertificateException("extension " + oid + " holds " + v + ", outside 0..255");
            }
            return OptionalInt.of(v.intValue());
        } catch (IOException | IllegalArgumentException e) {
            throw new CertificateException("extension " + oid + " is not a DER INTEGER", e);
        }
    }

    private static Optional<String> optionalString(X509Certificate c, String oid) throws CertificateException {
        byte[] inner = inner(c, oid);
        if (inner == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(ASN1IA5String.getInstance(ASN1Primitive.fromByteArray(inner)).getString());
        } catch (IOException | IllegalArgumentException e) {
            throw new CertificateException("extension " + oid + " is not a DER IA5String", e);
        }
    }
}
