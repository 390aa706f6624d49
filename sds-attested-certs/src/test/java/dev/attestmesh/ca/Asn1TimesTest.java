package dev.attestmesh.ca;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.DERGeneralizedTime;
import org.bouncycastle.asn1.x509.Time;
import org.junit.jupiter.api.Test;

/** {@link Asn1Times} writes the bytes BouncyCastle's {@code Date} constructors write, without their date formats. */
class Asn1TimesTest {
    private static final List<Instant> INSTANTS = List.of(
            Instant.parse("2026-12-06T23:30:05.789Z"), Instant.parse("1950-01-01T00:00:00Z"),
            Instant.parse("2049-12-31T23:59:59.999Z"), Instant.parse("2050-01-01T00:00:00Z"),
            Instant.parse("1949-12-31T23:59:59Z"), Instant.parse("2099-07-04T12:00:01Z"),
            Instant.parse("2000-02-29T08:09:10Z"));

    @Test
    void x509TimeMatchesBouncyCastlesDateConstructorToTheSecond() throws Exception {
        for (Instant i : INSTANTS) {
            Instant whole = i.truncatedTo(ChronoUnit.SECONDS);
            assertArrayEquals(new Time(Date.from(whole)).getEncoded(ASN1Encoding.DER),
                    Asn1Times.x509(i).getEncoded(ASN1Encoding.DER), i.toString());
            assertEquals(whole, Asn1Times.x509(i).getDate().toInstant(), i.toString());
        }
    }

    @Test
    void utcTimeThrough2049GeneralizedTimeFrom2050() throws Exception {
        assertEquals(0x17, Asn1Times.x509(Instant.parse("2049-12-31T23:59:59Z")).getEncoded()[0]);
        assertEquals(0x18, Asn1Times.x509(Instant.parse("2050-01-01T00:00:00Z")).getEncoded()[0]);
        assertEquals(0x18, Asn1Times.x509(Instant.parse("1949-12-31T23:59:59Z")).getEncoded()[0]);
    }

    @Test
    void generalizedTimeMatchesBouncyCastleForWholeSecondsAndDropsFractions() throws Exception {
        for (Instant i : INSTANTS) {
            Instant whole = i.truncatedTo(ChronoUnit.SECONDS);
            assertArrayEquals(new DERGeneralizedTime(Date.from(whole)).getEncoded(ASN1Encoding.DER),
                    Asn1Times.generalized(i).getEncoded(ASN1Encoding.DER), i.toString());
            assertEquals(whole, Asn1Times.generalized(i).getDate().toInstant());
        }
    }

    @Test
    void instantReadsWholeSecondsAndDefersOtherFormsToBouncyCastle() throws Exception {
        Instant i = Instant.parse("2026-12-06T23:30:05Z");
        assertEquals(i, Asn1Times.instant(Asn1Times.generalized(i)));
        assertEquals(Instant.parse("2026-12-06T23:30:05.250Z"),
                Asn1Times.instant(new org.bouncycastle.asn1.ASN1GeneralizedTime("20261206233005.25Z")));
        assertThrows(java.text.ParseException.class,
                () -> Asn1Times.instant(new org.bouncycastle.asn1.ASN1GeneralizedTime("20261306233005Z")));
    }

    @Test
    void generalizedTimeRefusesYearsItCannotHold() {
        assertThrows(IllegalArgumentException.class, () -> Asn1Times.generalized(Instant.parse("+10000-01-01T00:00:00Z")));
    }
}
