package dev.attestmesh.quote.collateral;

import java.math.BigInteger;
import java.security.cert.X509CRL;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.x509.Extension;

/**
 * How recent one collateral item is: its sequence number (TCB Info / QE Identity {@code
 * tcbEvaluationDataNumber}, a CRL's CRL Number extension) and its issue time ({@code issueDate},
 * {@code thisUpdate}). Two versions of the same item are ordered by number first, then by issue time;
 * when either lacks a number (a CRL without the extension), by issue time alone.
 *
 * @param kind which item
 * @param number the sequence number, when the item carries one
 * @param issued when the item was issued
 */
public record CollateralVersion(Kind kind, Optional<BigInteger> number, Instant issued) {

    /** The four collateral items, with the names Intel gives their number and issue time. */
    public enum Kind {
        TCB_INFO("TCB Info", "tcbEvaluationDataNumber", "issueDate"),
        QE_IDENTITY("QE Identity", "tcbEvaluationDataNumber", "issueDate"),
        PCK_CRL("PCK CRL", "CRL number", "thisUpdate"),
        ROOT_CA_CRL("Root CA CRL", "CRL number", "thisUpdate");

        private final String item;
        private final String numberName;
        private final String issuedName;

        Kind(String item, String numberName, String issuedName) {
            this.item = item;
            this.numberName = numberName;
            this.issuedName = issuedName;
        }

        public String item() {
            return item;
        }
    }

    public CollateralVersion {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(number, "number");
        Objects.requireNonNull(issued, "issued");
    }

    /** The version of a parsed TCB Info. */
    public static CollateralVersion of(TcbInfo t) {
        return new CollateralVersion(Kind.TCB_INFO, Optional.of(BigInteger.valueOf(t.tcbEvaluationDataNumber())),
                t.issueDate());
    }

    /** The version of a parsed QE Identity. */
    public static CollateralVersion of(QeIdentity q) {
        return new CollateralVersion(Kind.QE_IDENTITY, Optional.of(BigInteger.valueOf(q.tcbEvaluationDataNumber())),
                q.issueDate());
    }

    /** The version of a decoded CRL ({@link Kind#PCK_CRL} or {@link Kind#ROOT_CA_CRL}). */
    public static CollateralVersion of(Kind kind, X509CRL crl) {
        if (kind != Kind.PCK_CRL && kind != Kind.ROOT_CA_CRL) {
            throw new IllegalArgumentException(kind + " is not a CRL");
        }
        return new CollateralVersion(kind, crlNumber(crl), crl.getThisUpdate().toInstant());
    }

    /** The CRL Number extension (RFC 5280 5.2.3), if present and well-formed. */
    static Optional<BigInteger> crlNumber(X509CRL crl) {
        byte[] ext = crl.getExtensionValue(Extension.cRLNumber.getId());
        if (ext == null) {
            return Optional.empty();
        }
        try {
            ASN1Primitive inner = ASN1Primitive.fromByteArray(ASN1OctetString.getInstance(ext).getOctets());
            return Optional.of(ASN1Integer.getInstance(inner).getValue());
        } catch (java.io.IOException | IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /**
     * Why this (supplied) version is older than {@code floor} (the provider's), or empty when it is
     * not: equal or newer. Both must be of the same kind.
     */
    public Optional<String> olderThan(CollateralVersion floor) {
        if (floor.kind != kind) {
            throw new IllegalArgumentException("comparing " + kind + " with " + floor.kind);
        }
        if (number.isPresent() && floor.number.isPresent()) {
            int c = number.get().compareTo(floor.number.get());
            if (c < 0) {
                return Optional.of("supplied " + kind.item + " " + kind.numberName + " " + number.get()
                        + " is older than the provider's " + floor.number.get());
            }
            if (c > 0) {
                return Optional.empty();
            }
        }
        if (issued.isBefore(floor.issued)) {
            return Optional.of("supplied " + kind.item + " " + kind.issuedName + " " + issued
                    + " is older than the provider's " + floor.issued
                    + number.map(n -> " (both " + kind.numberName + " " + n + ")").orElse(""));
        }
        return Optional.empty();
    }

    /** A short description, e.g. "TCB Info tcbEvaluationDataNumber 17, issueDate 2025-06-19T10:16:03Z". */
    public String describe() {
        return kind.item + number.map(n -> " " + kind.numberName + " " + n + ",").orElse("") + " " + kind.issuedName
                + " " + issued;
    }
}
