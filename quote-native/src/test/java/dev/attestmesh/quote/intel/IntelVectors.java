package dev.attestmesh.quote.intel;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.attestmesh.quote.collateral.CollateralEncodings;
import dev.attestmesh.quote.collateral.CollateralJsonParser;
import dev.attestmesh.quote.collateral.PckCrl;
import dev.attestmesh.quote.collateral.QuoteCollateral;
import dev.attestmesh.quote.collateral.RootCaCrl;
import dev.attestmesh.quote.collateral.SignedCollateral;
import dev.attestmesh.quote.trust.IntelTrustAnchors;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.List;

/**
 * Access to the shared real-hardware vectors (read in place, never copied), located by the system
 * property {@code attestmesh.vectors}. Tests are skipped when the folder is absent.
 */
public final class IntelVectors {
    private IntelVectors() {}

    public static Path dir() {
        String p = System.getProperty("attestmesh.vectors", "../shared/vectors");
        Path d = Path.of(p);
        if (!Files.isDirectory(d)) {
            d = Path.of("/work/shared/vectors");
        }
        assumeTrue(Files.isDirectory(d.resolve("sgx")) && Files.isDirectory(d.resolve("tdx")),
                "Intel test vectors not found at " + p + " (set -Dattestmesh.vectors); skipping");
        return d;
    }

    public static byte[] bytes(String rel) {
        try {
            return Files.readAllBytes(dir().resolve(rel));
        } catch (java.io.IOException e) {
            throw new IllegalStateException("vector " + rel + " unreadable", e);
        }
    }

    /** A quote stored as hex text (optional 0x prefix). */
    public static byte[] hexFile(String rel) {
        String t = new String(bytes(rel), StandardCharsets.US_ASCII).strip();
        if (t.startsWith("0x")) {
            t = t.substring(2);
        }
        return HexFormat.of().parseHex(t);
    }

    /** The pinned root from the vectors (it has the pinned fingerprint) plus the renewed TCB Signing cert. */
    public static IntelTrustAnchors anchors() {
        try {
            return IntelTrustAnchors.fromRootDer(bytes("roots/automata/rootCaDer.der"))
                    .withTcbSigningCertificates(List.of(renewedSigningCert()));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Only the pinned root: collateral must bring its own TCB Signing chain. */
    public static IntelTrustAnchors rootOnly() {
        try {
            return IntelTrustAnchors.fromRootDer(bytes("roots/automata/rootCaDer.der"));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    public static X509Certificate renewedSigningCert() throws Exception {
        return CollateralEncodings.certificate(bytes("roots/automata/signingDer.der"));
    }

    public static QuoteCollateral dcapQvlCollateral(String rel) throws Exception {
        return CollateralJsonParser.quoteCollateralV3(bytes(rel));
    }

    /** Collateral in Intel PCS response format without issuer chains (Automata, trustee). */
    public static QuoteCollateral pcsCollateral(String tcbInfo, String qeIdentity, String pckCrl, String rootCrl)
            throws Exception {
        SignedCollateral tcb = CollateralJsonParser.pcsTcbInfo(bytes(tcbInfo), List.of());
        SignedCollateral qe = CollateralJsonParser.pcsEnclaveIdentity(bytes(qeIdentity), List.of());
        return new QuoteCollateral(tcb, qe, new PckCrl(CollateralEncodings.crl(bytes(pckCrl)), List.of()),
                new RootCaCrl(CollateralEncodings.crl(bytes(rootCrl))));
    }

    /** go-tdx-guest's 2023 collateral with its (old) issuer chains. */
    public static QuoteCollateral goTdxGuestCollateral(byte[] tcbInfoResponse) throws Exception {
        String g = "tdx/go-tdx-guest/";
        List<X509Certificate> tcbChain = CollateralEncodings.certificateChain(
                new String(bytes(g + "tcbInfoIssuerChain.urlencoded.txt"), StandardCharsets.US_ASCII));
        List<X509Certificate> qeChain = CollateralEncodings.certificateChain(
                new String(bytes(g + "qeIdentityIssuerChain.DERIVED.pem"), StandardCharsets.US_ASCII));
        List<X509Certificate> crlChain = CollateralEncodings.certificateChain(
                new String(bytes(g + "pckCrlIssuerChain.urlencoded.txt"), StandardCharsets.US_ASCII));
        return new QuoteCollateral(CollateralJsonParser.pcsTcbInfo(tcbInfoResponse, tcbChain),
                CollateralJsonParser.pcsEnclaveIdentity(bytes(g + "sample_qeIdentity_response"), qeChain),
                new PckCrl(CollateralEncodings.crl(bytes(g + "pckcrl")), crlChain),
                new RootCaCrl(CollateralEncodings.crl(bytes(g + "rootcrl.der"))));
    }
}
