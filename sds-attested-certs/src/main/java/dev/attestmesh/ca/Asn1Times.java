package dev.attestmesh.ca;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import org.bouncycastle.asn1.ASN1GeneralizedTime;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.x509.Time;

/**
 * DER times for the certificates and claims this CA writes, built from {@link Instant}s with
 * {@code java.time}. BouncyCastle's {@code Date} constructors format through a new {@code
 * SimpleDateFormat} (and its {@code Calendar}) each time, which on the issuance path of every attestation
 * was about 5% of all allocation; these encode the same bytes (RFC 5280 section 4.1.2.5: UTCTime
 * {@code YYMMDDHHMMSSZ} through 2049, GeneralizedTime {@code YYYYMMDDHHMMSSZ} from 2050, whole seconds,
 * fractions dropped) and are parsed by BouncyCastle's DER reader, which does not go through a date format.
 */
public final class Asn1Times {
    private static final DateTimeFormatter UTC_TIME = DateTimeFormatter.ofPattern("yyMMddHHmmss'Z'");
    private static final DateTimeFormatter GENERALIZED_TIME = DateTimeFormatter.ofPattern("yyyyMMddHHmmss'Z'");
    private static final int UTC_TIME_TAG = 0x17;
    private static final int GENERALIZED_TIME_TAG = 0x18;

    private Asn1Times() {}

    /** An X.509 validity time: UTCTime for 1950-2049, GeneralizedTime otherwise, whole seconds. */
    public static Time x509(Instant instant) {
        ZonedDateTime t = instant.atZone(ZoneOffset.UTC);
        boolean utc = t.getYear() >= 1950 && t.getYear() <= 2049;
        return Time.getInstance(parse(utc ? UTC_TIME_TAG : GENERALIZED_TIME_TAG,
                (utc ? UTC_TIME : GENERALIZED_TIME).format(t)));
    }

    /** A GeneralizedTime of whole seconds ({@code YYYYMMDDHHMMSSZ}); a fraction of a second is dropped. */
    public static ASN1GeneralizedTime generalized(Instant instant) {
        int year = instant.atZone(ZoneOffset.UTC).getYear();
        if (year < 0 || year > 9999) {
            throw new IllegalArgumentException("GeneralizedTime holds years 0000-9999, not " + year);
        }
        return ASN1GeneralizedTime.getInstance(parse(GENERALIZED_TIME_TAG,
                GENERALIZED_TIME.format(instant.atZone(ZoneOffset.UTC))));
    }

    /**
     * The instant of a GeneralizedTime: the whole-second form this class writes is read with {@code java.time};
     * any other form BouncyCastle accepts (fractions, offsets) through BouncyCastle's own reading. A
     * whole-second form that is not a date (month 13) is refused, where BouncyCastle's lenient format would roll it over.
     *
     * @throws java.text.ParseException when it is not a valid time
     */
    public static Instant instant(ASN1GeneralizedTime time) throws java.text.ParseException {
        String text = time.getTimeString();
        if (text.length() == 15 && text.charAt(14) == 'Z' && text.chars().limit(14).allMatch(c -> c >= '0' && c <= '9')) {
            try {
                return java.time.LocalDateTime.parse(text, GENERALIZED_TIME).toInstant(ZoneOffset.UTC);
            } catch (java.time.format.DateTimeParseException e) {
                // not a date (month 13, say): BouncyCastle's lenient reading would roll it over; refuse it
                throw new java.text.ParseException("not a valid GeneralizedTime: " + text, 0);
            }
        }
        return time.getDate().toInstant();
    }

    private static ASN1Primitive parse(int tag, String text) {
        byte[] ascii = text.getBytes(StandardCharsets.US_ASCII);
        byte[] der = new byte[2 + ascii.length]; // both forms are shorter than 128 bytes: one length byte
        der[0] = (byte) tag;
        der[1] = (byte) ascii.length;
        System.arraycopy(ascii, 0, der, 2, ascii.length);
        try {
            return ASN1Primitive.fromByteArray(der);
        } catch (IOException e) {
            throw new UncheckedIOException("could not read back a DER time this class wrote: " + text, e);
        }
    }
}
