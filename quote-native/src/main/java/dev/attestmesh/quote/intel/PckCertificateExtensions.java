package dev.attestmesh.quote.intel;

import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Enumerated;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.ASN1Sequence;

/**
 * The Intel SGX extension (OID 1.2.840.113741.1.13.1) of a PCK leaf certificate: the platform's
 * TCB components, PCESVN, CPUSVN, PCE-ID, FMSPC and SGX type, as certified by Intel.
 *
 * @param ppid 16 bytes, when present
 * @param sgxTcbComponents the 16 SGX TCB component SVNs
 * @param pceSvn certified PCESVN
 * @param cpuSvn 16 bytes
 * @param pceId 2 bytes
 * @param fmspc 6 bytes
 * @param sgxType 0 Standard, 1 Scalable, 2 Scalable with Integrity
 */
public record PckCertificateExtensions(Optional<byte[]> ppid, List<Integer> sgxTcbComponents, int pceSvn,
        byte[] cpuSvn, byte[] pceId, byte[] fmspc, int sgxType) {

    public static final String SGX_EXTENSION_OID = "1.2.840.113741.1.13.1";

    public PckCertificateExtensions {
        sgxTcbComponents = List.copyOf(sgxTcbComponents);
    }

    public String fmspcHex() {
        return HexFormat.of().withUpperCase().formatHex(fmspc);
    }

    public String pceIdHex() {
        return HexFormat.of().withUpperCase().formatHex(pceId);
    }

    /** Reads the extension; {@link IllegalArgumentException} says what is missing or malformed. */
    public static PckCertificateExtensions read(X509Certificate leaf) {
        byte[] ext = leaf.getExtensionValue(SGX_EXTENSION_OID);
        if (ext == null) {
            throw new IllegalArgumentException("PCK certificate has no Intel SGX extension (" + SGX_EXTENSION_OID + ")");
        }
        try {
            ASN1Sequence seq = ASN1Sequence.getInstance(
                    ASN1Primitive.fromByteArray(ASN1OctetString.getInstance(ext).getOctets()));
            byte[] ppid = null;
            byte[] cpuSvn = null;
            byte[] pceId = null;
            byte[] fmspc = null;
            Integer pceSvn = null;
            int sgxType = 0;
            Integer[] comps = new Integer[16];
            for (ASN1Encodable e : seq) {
                ASN1Sequence pair = ASN1Sequence.getInstance(e);
                String oid = ASN1ObjectIdentifier.getInstance(pair.getObjectAt(0)).getId();
                ASN1Encodable v = pair.getObjectAt(1);
                switch (oid.substring(SGX_EXTENSION_OID.length())) {
                    case ".1" -> ppid = octets(v, 16, "PPID");
                    case ".2" -> {
                        for (ASN1Encodable t : ASN1Sequence.getInstance(v)) {
                            ASN1Sequence tp = ASN1Sequence.getInstance(t);
                            String toid = ASN1ObjectIdentifier.getInstance(tp.getObjectAt(0)).getId();
                            int n = Integer.parseInt(toid.substring(toid.lastIndexOf('.') + 1));
                            if (n >= 1 && n <= 16) {
                                comps[n - 1] = ASN1Integer.getInstance(tp.getObjectAt(1)).intValueExact();
                            } else if (n == 17) {
                                pceSvn = ASN1Integer.getInstance(tp.getObjectAt(1)).intValueExact();
                            } else if (n == 18) {
                                cpuSvn = octets(tp.getObjectAt(1), 16, "CPUSVN");
                            }
                        }
                    }
                    case ".3" -> pceId = octets(v, 2, "PCE-ID");
                    case ".4" -> fmspc = octets(v, 6, "FMSPC");
                    case ".5" -> sgxType = ASN1Enumerated.getInstance(v).intValueExact();
                    default -> { } // platform instance ID and configuration are not used for verification
                }
            }
            if (pceSvn == null || cpuSvn == null || pceId == null || fmspc == null || Arrays.asList(comps).contains(null)) {
                throw new IllegalArgumentException("PCK certificate's SGX extension lacks TCB, PCE-ID or FMSPC");
            }
            return new PckCertificateExtensions(Optional.ofNullable(ppid), Arrays.asList(comps), pceSvn, cpuSvn,
                    pceId, fmspc, sgxType);
        } catch (java.io.IOException | RuntimeException e) {
            if (e instanceof IllegalArgumentException iae && iae.getMessage() != null
                    && iae.getMessage().startsWith("PCK certificate")) {
                throw iae;
            }
            throw new IllegalArgumentException("PCK certificate's SGX extension is malformed: " + e.getMessage(), e);
        }
    }

    private static byte[] octets(ASN1Encodable v, int len, String what) {
        byte[] b = ASN1OctetString.getInstance(v).getOctets();
        if (b.length != len) {
            throw new IllegalArgumentException(what + " must be " + len + " bytes, got " + b.length);
        }
        return b;
    }
}
