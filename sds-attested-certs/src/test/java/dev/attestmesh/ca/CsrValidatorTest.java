package dev.attestmesh.ca;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.attestmesh.ca.CsrRejectedException.Reason;
import java.security.KeyPair;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class CsrValidatorTest {
    @Test
    void acceptsP256CsrAndReturnsItsKey() throws Exception {
        KeyPair kp = TestKeys.ec("secp256r1");
        ValidatedCsr v = CsrValidator.validate(TestKeys.p256Csr(kp));
        assertEquals(kp.getPublic(), v.publicKey());
        assertArrayEquals(kp.getPublic().getEncoded(), v.subjectPublicKeyInfoDer());
    }

    @Test
    void rejectsGarbage() {
        assertEquals(Reason.MALFORMED, reason(new byte[] {0x30, 0x03, 1, 2, 3}));
        assertEquals(Reason.MALFORMED, reason(new byte[0]));
        assertEquals(Reason.MALFORMED, reason("hello".getBytes()));
    }

    @Test
    void rejectsTrailingBytes() throws Exception {
        byte[] csr = TestKeys.p256Csr(TestKeys.ec("secp256r1"));
        assertEquals(Reason.MALFORMED, reason(Arrays.copyOf(csr, csr.length + 2)));
    }

    @Test
    void rejectsBadSignature() throws Exception {
        byte[] csr = TestKeys.p256Csr(TestKeys.ec("secp256r1"));
        csr[40] ^= 0x01; // inside the subject / key info, covered by the signature
        Reason r = reason(csr);
        // flipping a key byte may also move the point off the curve; both are refusals of that CSR
        assertEquals(true, r == Reason.BAD_SIGNATURE || r == Reason.UNSUPPORTED_KEY || r == Reason.MALFORMED, r.toString());
        byte[] csr2 = TestKeys.p256Csr(TestKeys.ec("secp256r1"));
        csr2[csr2.length - 5] ^= 0x01; // inside the signature value
        assertEquals(Reason.BAD_SIGNATURE, reason(csr2));
    }

    @Test
    void rejectsCsrSignedByAnotherKey() throws Exception {
        KeyPair a = TestKeys.ec("secp256r1");
        KeyPair b = TestKeys.ec("secp256r1");
        byte[] csr = new org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder(
                new org.bouncycastle.asn1.x500.X500Name("CN=x"), a.getPublic())
                .build(new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder("SHA256withECDSA").build(b.getPrivate()))
                .getEncoded();
        assertEquals(Reason.BAD_SIGNATURE, reason(csr));
    }

    @Test
    void rejectsRsaKey() throws Exception {
        assertEquals(Reason.UNSUPPORTED_KEY, reason(TestKeys.csr(TestKeys.rsa(), "SHA256withRSA")));
    }

    @Test
    void rejectsP384Key() throws Exception {
        assertEquals(Reason.UNSUPPORTED_KEY, reason(TestKeys.csr(TestKeys.ec("secp384r1"), "SHA384withECDSA")));
    }

    @Test
    void rejectsOversizedCsr() {
        byte[] big = new byte[CsrValidator.MAX_CSR_BYTES + 1];
        CsrRejectedException e = assertThrows(CsrRejectedException.class, () -> CsrValidator.validate(big));
        assertEquals(Reason.OVERSIZED, e.reason());
    }

    private static Reason reason(byte[] csr) {
        return assertThrows(CsrRejectedException.class, () -> CsrValidator.validate(csr)).reason();
    }
}
