package dev.attestmesh.quote.intel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationRequest;
import dev.attestmesh.quote.VerifiedEvidence;
import dev.attestmesh.quote.collateral.CollateralProvider;
import dev.attestmesh.quote.collateral.QuoteCollateral;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Optional;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1Sequence;
import org.bouncycastle.cert.X509CertificateHolder;
import org.junit.jupiter.api.Test;

/**
 * The platform id of verified SGX and TDX evidence is {@code sgx-ppid:} and the PPID of the quote's
 * PCK certificate. Expected values come from two paths independent of {@link PckCertificateExtensions}:
 * literals read with {@code openssl asn1parse -strparse} from the first PEM certificate in each quote
 * (the SGX extension 1.2.840.113741.1.13.1, then its PPID entry 1.2.840.113741.1.13.1.1), and a
 * BouncyCastle ASN.1 walk over that certificate done here.
 */
class DcapPlatformIdVectorTest {
    private static final HexFormat HEX = HexFormat.of();
    private static final ASN1ObjectIdentifier SGX_EXTENSIONS = new ASN1ObjectIdentifier("1.2.840.113741.1.13.1");
    private static final ASN1ObjectIdentifier PPID = new ASN1ObjectIdentifier("1.2.840.113741.1.13.1.1");

    /** The PPID of the first certificate (the PCK leaf) in the quote's PEM chain, decoded without the project's parser. */
    static String independentPpid(byte[] quote) throws Exception {
        String text = new String(quote, StandardCharsets.ISO_8859_1);
        int begin = text.indexOf("-----BEGIN CERTIFICATE-----");
        int end = text.indexOf("-----END CERTIFICATE-----", begin);
        assertTrue(begin >= 0 && end > begin, "the quote carries a PEM PCK chain");
        String body = text.substring(begin + "-----BEGIN CERTIFICATE-----".length(), end).replaceAll("\\s", "");
        X509CertificateHolder leaf = new X509CertificateHolder(Base64.getDecoder().decode(body));
        ASN1Sequence ext = ASN1Sequence.getInstance(leaf.getExtension(SGX_EXTENSIONS).getParsedValue());
        for (ASN1Encodable e : ext) {
            ASN1Sequence pair = ASN1Sequence.getInstance(e);
            if (PPID.equals(pair.getObjectAt(0))) {
                return HEX.formatHex(ASN1OctetString.getInstance(pair.getObjectAt(1)).getOctets());
            }
        }
        throw new AssertionError("the PCK leaf has no PPID entry");
    }

    private static void assertPlatformId(String ppidFromOpenssl, byte[] quote, VerifiedEvidence e) throws Exception {
        assertEquals(ppidFromOpenssl, independentPpid(quote), "openssl and BouncyCastle read the same PPID");
        assertEquals(Optional.of("sgx-ppid:" + ppidFromOpenssl), e.platformId());
    }

    @Test
    void independentDecoderReadsThePpidGoTdxGuestAsserts() throws Exception {
        // MANIFEST.md, SOURCE (go-tdx-guest verify_test.go): PPID 089ddfdb9c0359c82a3bc7719239574e.
        assertEquals("089ddfdb9c0359c82a3bc7719239574e",
                independentPpid(IntelVectors.bytes("tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat")));
    }

    @Test
    void dcapQvlSgxQuoteCarriesThePpidOfItsPckCertificate() throws Exception {
        byte[] quote = IntelVectors.bytes("sgx/dcap-qvl-sgx/sgx_quote");
        byte[] json = IntelVectors.bytes("sgx/dcap-qvl-sgx/sgx_quote_collateral.json");
        VerifiedEvidence e = DcapQuoteVerifier.create(TeeType.SGX, IntelVectors.rootOnly(), CollateralProvider.none())
                .verify(new VerificationRequest(TeeType.SGX, quote, Optional.of(json), Instant.ofEpochSecond(1752919277)));
        assertPlatformId("d04ec06d4e6d92dc90d0ad3cf5ee2ddf", quote, e);
    }

    @Test
    void automataSgxV3QuoteCarriesThePpidOfItsPlatformCaPckCertificate() throws Exception {
        byte[] quote = IntelVectors.bytes("sgx/automata-sgx-v3/sampleQuote_v3.bin");
        QuoteCollateral c = IntelVectors.pcsCollateral("sgx/automata-sgx-v3/sgx_tcbinfov3_00606a000000.json",
                "sgx/automata-sgx-v3/sgx_qeidentity_v4.json", "sgx/automata-sgx-v3/platform_crl_0825.der",
                "roots/automata/rootCrlDer.der");
        assertPlatformId("186950b6d8d014d89f0c144d1d90ebad", quote,
                verify(TeeType.SGX, quote, c, Instant.parse("2025-08-15T05:45:00Z")));
    }

    @Test
    void dcapQvlTdxV4QuoteCarriesThePpidOfItsPckCertificate() throws Exception {
        byte[] quote = IntelVectors.bytes("tdx/dcap-qvl-tdx/tdx_quote");
        QuoteCollateral c = IntelVectors.dcapQvlCollateral("tdx/dcap-qvl-tdx/tdx_quote_collateral.json");
        VerifiedEvidence e = DcapQuoteVerifier.create(TeeType.TDX, IntelVectors.rootOnly(), CollateralProvider.fixed(c))
                .verify(VerificationRequest.of(TeeType.TDX, quote, Instant.ofEpochSecond(1752919234)));
        assertPlatformId("811dca2a26b952e85bb6448b097ba4fd", quote, e);
    }

    @Test
    void automataTdxV5QuoteCarriesThePpidOfItsPckCertificate() throws Exception {
        byte[] quote = IntelVectors.bytes("tdx/automata-tdx-v5/alibaba_quote_5.dat");
        QuoteCollateral c = IntelVectors.pcsCollateral("tdx/automata-tdx-v5/tcbinfov3_90C06F000000.json",
                "tdx/automata-tdx-v5/qe_td.json", "tdx/automata-tdx-v5/platformCrl_0625.der", "roots/automata/rootCrlDer.der");
        assertPlatformId("f06984c8d9343452b997c48b36d6e678", quote,
                verify(TeeType.TDX, quote, c, Instant.ofEpochSecond(1749945600)));
    }

    @Test
    void quotesFromTwoMachinesHaveDifferentPlatformIds() throws Exception {
        QuoteCollateral c = IntelVectors.dcapQvlCollateral("tdx/dcap-qvl-tdx-near/quote_collateral.json");
        byte[] quote = IntelVectors.hexFile("tdx/dcap-qvl-tdx-near/quote_hex.txt");
        VerifiedEvidence near = verify(TeeType.TDX, quote, c, Instant.ofEpochSecond(1757462400));
        assertPlatformId("354e2a1c79c98e81723eab4b78b990a7", quote, near);
        byte[] other = IntelVectors.bytes("tdx/dcap-qvl-tdx/tdx_quote");
        QuoteCollateral oc = IntelVectors.dcapQvlCollateral("tdx/dcap-qvl-tdx/tdx_quote_collateral.json");
        VerifiedEvidence e = verify(TeeType.TDX, other, oc, Instant.ofEpochSecond(1752919234));
        assertNotEquals(near.platformId(), e.platformId());
    }

    private static VerifiedEvidence verify(TeeType tee, byte[] quote, QuoteCollateral c, Instant at)
            throws EvidenceVerificationException {
        return DcapQuoteVerifier.create(tee, IntelVectors.anchors(), CollateralProvider.fixed(c))
                .verify(VerificationRequest.of(tee, quote, at));
    }
}
