package dev.attestmesh.ca;

import dev.attestmesh.policy.PolicyRef;
import dev.attestmesh.quote.TeeType;
import java.io.IOException;
import java.math.BigInteger;
import java.security.cert.X509Certificate;
import java.text.ParseException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.bouncycastle.asn1.ASN1Boolean;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1EncodableVector;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1GeneralizedTime;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.ASN1Sequence;
import org.bouncycastle.asn1.ASN1UTF8String;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.DERUTF8String;

/**
 * Encodes and decodes the attestation claims extension. This is the one parser for the extension;
 * the issuer, the control plane and ext_authz all use it. Decoding is strict: DER only (re-encoding
 * must give the same bytes), every field present with its exact type, no trailing data.
 *
 * <p>ASN.1 module (extension OID {@value AttestMeshOids#CLAIMS_EXTENSION}, non-critical):
 *
 * <pre>
 * AttestMeshClaims DEFINITIONS EXPLICIT TAGS ::= BEGIN
 *
 * AttestationClaims ::= SEQUENCE {
 *     version         INTEGER (1),              -- structure version; decoders reject others
 *     nodeId          UTF8String,
 *     tee             UTF8String,               -- "sgx" | "tdx" | "snp" | "sim"
 *     measurements    SEQUENCE OF Measurement,  -- sorted by name, names unique
 *     tcbStatus       UTF8String,               -- Intel spelling, e.g. "UpToDate"
 *     advisoryIds     SEQUENCE OF UTF8String,   -- e.g. "INTEL-SA-00615"
 *     policies        SEQUENCE OF PolicyRef,    -- satisfied policies
 *     evidenceSha256  OCTET STRING (SIZE (32)), -- SHA-256 of the evidence as received
 *     attestedAt      GeneralizedTime,          -- UTC, whole seconds
 *     insecure        BOOLEAN,                  -- TRUE for simulated evidence
 *     debug           BOOLEAN                   -- TEE runs in debug mode
 * }
 *
 * Measurement ::= SEQUENCE {
 *     name            UTF8String,               -- claim name, e.g. "mrtd", "rtmr0", "measurement"
 *     value           OCTET STRING              -- raw bytes, in evidence byte order
 * }
 *
 * PolicyRef ::= SEQUENCE {
 *     id              UTF8String,
 *     version         INTEGER (1..MAX)
 * }
 *
 * END
 * </pre>
 *
 * A later version appends fields and bumps {@code version}; a decoder that does not know the version
 * refuses the extension rather than guessing.
 */
public final class AttestationClaimsCodec {
    private static final int FIELDS_V1 = 11;

    private AttestationClaimsCodec() {}

    /** DER encoding of {@code c}. */
    public static byte[] encode(AttestationClaims c) {
        ASN1EncodableVector v = new ASN1EncodableVector();
        v.add(new ASN1Integer(c.version()));
        v.add(new DERUTF8String(c.nodeId()));
        v.add(new DERUTF8String(c.tee().wireName()));
        ASN1EncodableVector ms = new ASN1EncodableVector();
        HexFormat hex = HexFormat.of();
        for (var e : c.measurements().entrySet()) { // sorted by the record
            ms.add(new DERSequence(new ASN1Encodable[] {new DERUTF8String(e.getKey()),
                    new DEROctetString(hex.parseHex(e.getValue()))}));
        }
        v.add(new DERSequence(ms));
        v.add(new DERUTF8String(c.tcbStatus()));
        ASN1EncodableVector adv = new ASN1EncodableVector();
        c.advisoryIds().forEach(a -> adv.add(new DERUTF8String(a)));
        v.add(new DERSequence(adv));
        ASN1EncodableVector ps = new ASN1EncodableVector();
        for (PolicyRef p : c.policies()) {
            ps.add(new DERSequence(new ASN1Encodable[] {new DERUTF8String(p.id()), new ASN1Integer(p.version())}));
        }
        v.add(new DERSequence(ps));
        v.add(new DEROctetString(c.evidenceSha256()));
        v.add(Asn1Times.generalized(c.attestedAt()));
        v.add(ASN1Boolean.getInstance(c.insecure()));
        v.add(ASN1Boolean.getInstance(c.debug()));
        try {
            return new DERSequence(v).getEncoded(ASN1Encoding.DER);
        } catch (IOException e) {
            throw new IllegalStateException("DER encoding of claims failed", e); // in-memory; cannot happen
        }
    }

    /**
     * Decodes DER produced by {@link #encode}.
     *
     * @throws ClaimsDecodeException naming the field that is missing, mistyped or out of range
     */
    public static AttestationClaims decode(byte[] der) throws ClaimsDecodeException {
        ASN1Primitive prim;
        try {
            prim = ASN1Primitive.fromByteArray(der);
            if (!java.util.Arrays.equals(prim.getEncoded(ASN1Encoding.DER), der)) {
                throw new ClaimsDecodeException("claims extension is not canonical DER (or has trailing bytes)");
            }
        } catch (IOException | RuntimeException e) {
            throw new ClaimsDecodeException("claims extension is not valid DER: " + e.getMessage(), e);
        }
        try {
            return decodeSequence(prim);
        } catch (RuntimeException e) {
            // BouncyCastle reports type mismatches as IllegalArgumentException/ClassCastException
            throw new ClaimsDecodeException("claims extension has a malformed field: " + e.getMessage(), e);
        }
    }

    private static AttestationClaims decodeSequence(ASN1Primitive prim) throws ClaimsDecodeException {
        if (!(prim instanceof ASN1Sequence seq)) {
            throw new ClaimsDecodeException("claims extension is not a SEQUENCE");
        }
        if (seq.size() < 1 || !(seq.getObjectAt(0) instanceof ASN1Integer vi)) {
            throw new ClaimsDecodeException("claims extension does not start with a version INTEGER");
        }
        BigInteger version = vi.getValue();
        if (!version.equals(BigInteger.valueOf(AttestationClaims.CURRENT_VERSION))) {
            throw new ClaimsDecodeException("unsupported claims version " + version + "; this build understands "
                    + AttestationClaims.CURRENT_VERSION);
        }
        if (seq.size() != FIELDS_V1) {
            throw new ClaimsDecodeException("claims version 1 has " + FIELDS_V1 + " fields, found " + seq.size());
        }
        String nodeId = utf8(seq, 1, "nodeId");
        TeeType tee;
        try {
            tee = TeeType.fromWireName(utf8(seq, 2, "tee"));
        } catch (IllegalArgumentException e) {
            throw new ClaimsDecodeException("claims field tee: " + e.getMessage());
        }
        Map<String, String> measurements = new LinkedHashMap<>();
        String previous = null;
        for (ASN1Encodable m : sequence(seq, 3, "measurements")) {
            ASN1Sequence pair = ASN1Sequence.getInstance(m);
            if (pair.size() != 2) {
                throw new ClaimsDecodeException("claims measurement entry must have 2 fields");
            }
            String name = ASN1UTF8String.getInstance(pair.getObjectAt(0)).getString();
            if (previous != null && previous.compareTo(name) >= 0) {
                throw new ClaimsDecodeException("claims measurements not sorted or duplicated at '" + name + "'");
            }
            previous = name;
            measurements.put(name, HexFormat.of().formatHex(ASN1OctetString.getInstance(pair.getObjectAt(1)).getOctets()));
        }
        String tcb = utf8(seq, 4, "tcbStatus");
        List<String> advisories = new ArrayList<>();
        for (ASN1Encodable a : sequence(seq, 5, "advisoryIds")) {
            advisories.add(ASN1UTF8String.getInstance(a).getString());
        }
        List<PolicyRef> policies = new ArrayList<>();
        for (ASN1Encodable p : sequence(seq, 6, "policies")) {
            ASN1Sequence pair = ASN1Sequence.getInstance(p);
            if (pair.size() != 2) {
                throw new ClaimsDecodeException("claims policy entry must have 2 fields");
            }
            String id = ASN1UTF8String.getInstance(pair.getObjectAt(0)).getString();
            BigInteger pv = ASN1Integer.getInstance(pair.getObjectAt(1)).getValue();
            if (pv.signum() <= 0 || pv.bitLength() > 63) {
                throw new ClaimsDecodeException("claims policy '" + id + "' has version out of range: " + pv);
            }
            policies.add(new PolicyRef(id, pv.longValue()));
        }
        if (!(seq.getObjectAt(7) instanceof ASN1OctetString digest) || digest.getOctets().length != 32) {
            throw new ClaimsDecodeException("claims field evidenceSha256 must be a 32-byte OCTET STRING");
        }
        if (!(seq.getObjectAt(8) instanceof ASN1GeneralizedTime time)) {
            throw new ClaimsDecodeException("claims field attestedAt must be GeneralizedTime");
        }
        Instant attestedAt;
        try {
            attestedAt = Asn1Times.instant(time);
        } catch (ParseException e) {
            throw new ClaimsDecodeException("claims field attestedAt is not a valid time", e);
        }
        if (!(seq.getObjectAt(9) instanceof ASN1Boolean insecure) || !(seq.getObjectAt(10) instanceof ASN1Boolean debug)) {
            throw new ClaimsDecodeException("claims fields insecure and debug must be BOOLEAN");
        }
        return new AttestationClaims(1, nodeId, tee, measurements, tcb, advisories, policies, digest.getOctets(),
                attestedAt, insecure.isTrue(), debug.isTrue());
    }

    /**
     * The claims in {@code cert}'s extension, or empty when the certificate has none.
     *
     * @throws ClaimsDecodeException when the extension is present but malformed
     */
    public static Optional<AttestationClaims> fromCertificate(X509Certificate cert) throws ClaimsDecodeException {
        byte[] wrapped = cert.getExtensionValue(AttestMeshOids.CLAIMS_EXTENSION);
        if (wrapped == null) {
            return Optional.empty();
        }
        byte[] inner;
        try {
            inner = ASN1OctetString.getInstance(wrapped).getOctets();
        } catch (RuntimeException e) {
            throw new ClaimsDecodeException("claims extension value is not an OCTET STRING", e);
        }
        return Optional.of(decode(inner));
    }

    private static String utf8(ASN1Sequence seq, int i, String field) throws ClaimsDecodeException {
        if (!(seq.getObjectAt(i) instanceof ASN1UTF8String s)) {
            throw new ClaimsDecodeException("claims field " + field + " must be UTF8String");
        }
        return s.getString();
    }

    private static ASN1Sequence sequence(ASN1Sequence seq, int i, String field) throws ClaimsDecodeException {
        if (!(seq.getObjectAt(i) instanceof ASN1Sequence s)) {
            throw new ClaimsDecodeException("claims field " + field + " must be a SEQUENCE");
        }
        return s;
    }
}
