package dev.attestmesh.ca;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class CaVaultTest {
    private static final char[] SECRET = "correct horse battery staple".toCharArray();

    @Test
    void unsealsWhatWasSealedIncludingRetiredIntermediates() throws Exception {
        TestKeys.MutableClock clock = new TestKeys.MutableClock(Instant.parse("2026-03-01T12:00:00Z"));
        MeshCa ca = MeshCa.generate("mesh.example", clock).rotateIntermediate(Duration.ofHours(1));
        byte[] sealed = CaVault.seal(ca, SECRET);
        MeshCa back = CaVault.unseal(sealed, SECRET, clock);
        assertEquals(ca.trustDomain(), back.trustDomain());
        assertEquals(ca.trustBundle(), back.trustBundle());
        assertEquals(3, back.trustBundle().size());
        assertArrayEquals(ca.rootKey().getEncoded(), back.rootKey().getEncoded());
        assertArrayEquals(ca.issuingKey().getEncoded(), back.issuingKey().getEncoded());
        // the restored CA can still issue
        new AttestationBoundIssuer(back, clock).issue(CsrValidator.validate(TestKeys.p256Csr(TestKeys.ec("secp256r1"))),
                SpiffeId.forNode("mesh.example", "n"), AttestationBoundIssuerTest.claims("n", java.util.List.of()),
                Duration.ofMinutes(5)).leaf().verify(back.issuingIntermediate().getPublicKey());
        assertFalse(java.util.Arrays.equals(sealed, CaVault.seal(ca, SECRET)), "fresh salt and nonce per seal");
    }

    @Test
    void wrongSecretSaysSoWithoutDetail() throws Exception {
        TestKeys.MutableClock clock = new TestKeys.MutableClock(Instant.parse("2026-03-01T12:00:00Z"));
        byte[] sealed = CaVault.seal(MeshCa.generate("mesh.example", clock), SECRET);
        var e = assertThrows(CaVaultException.class, () -> CaVault.unseal(sealed, "wrong".toCharArray(), clock));
        assertEquals("wrong CA encryption key or corrupted CA file", e.getMessage());
    }

    @Test
    void tamperedHeaderOrCiphertextIsRejected() throws Exception {
        TestKeys.MutableClock clock = new TestKeys.MutableClock(Instant.parse("2026-03-01T12:00:00Z"));
        byte[] sealed = CaVault.seal(MeshCa.generate("mesh.example", clock), SECRET);
        byte[] salt = sealed.clone();
        salt[14] ^= 1; // inside the salt
        assertThrows(CaVaultException.class, () -> CaVault.unseal(salt, SECRET, clock));
        byte[] body = sealed.clone();
        body[body.length - 20] ^= 1;
        assertEquals("wrong CA encryption key or corrupted CA file",
                assertThrows(CaVaultException.class, () -> CaVault.unseal(body, SECRET, clock)).getMessage());
        byte[] magic = sealed.clone();
        magic[0] = 'X';
        assertThrows(CaVaultException.class, () -> CaVault.unseal(magic, SECRET, clock));
        assertThrows(CaVaultException.class, () -> CaVault.unseal(new byte[10], SECRET, clock));
    }

    @Test
    void sealsToATeeKeyThatOnlyTheSameKeyOpens() throws Exception {
        TestKeys.MutableClock clock = new TestKeys.MutableClock(Instant.parse("2026-03-01T12:00:00Z"));
        MeshCa ca = MeshCa.generate("mesh.example", clock);
        byte[] k = new byte[32];
        k[0] = 1;
        TeeSealingKey key = new TeeSealingKey(TeeSealingKey.Source.SEV_SNP_DERIVED, k);
        byte[] sealed = CaVault.sealToTee(ca, key);
        assertEquals(java.util.Optional.of(TeeSealingKey.Source.SEV_SNP_DERIVED), CaVault.teeSource(sealed));
        assertEquals(ca.trustBundle(), CaVault.unsealFromTee(sealed, key, clock).trustBundle());
        k[0] = 2; // another measurement derives another key
        var other = assertThrows(CaVaultException.class, () -> CaVault.unsealFromTee(sealed,
                new TeeSealingKey(TeeSealingKey.Source.SEV_SNP_DERIVED, k), clock));
        assertEquals(true, other.getMessage().contains("another measurement"), other.getMessage());
        var kind = assertThrows(CaVaultException.class, () -> CaVault.unsealFromTee(sealed,
                new TeeSealingKey(TeeSealingKey.Source.SGX_MRENCLAVE, new byte[16]), clock));
        assertEquals(true, kind.getMessage().contains("sealed to a sev-snp-derived-key"), kind.getMessage());
        var operator = assertThrows(CaVaultException.class, () -> CaVault.unseal(sealed, SECRET, clock));
        assertEquals(true, operator.getMessage().contains("sealed to a TEE key"), operator.getMessage());
        byte[] header = sealed.clone();
        header[8] = 2; // claim the SGX source: the header is authenticated, and the kind is checked first
        assertThrows(CaVaultException.class, () -> CaVault.unsealFromTee(header, key, clock));
        assertEquals(java.util.Optional.empty(), CaVault.teeSource(CaVault.seal(ca, SECRET)), "format 1: operator key");
        assertEquals("TeeSealingKey[sev-snp-derived-key]", key.toString(), "no key material in messages");
    }
}
