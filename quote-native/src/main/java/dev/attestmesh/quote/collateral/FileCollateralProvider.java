package dev.attestmesh.quote.collateral;

import dev.attestmesh.quote.TeeType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Locale;

/**
 * Collateral from a directory, for air-gapped deployments and offline verification. Files are read
 * on every call (wrap in {@link CachingCollateralProvider} to cache). Layout, with {@code <tee>}
 * {@code sgx} or {@code tdx} and {@code <FMSPC>} in upper- or lower-case hex:
 *
 * <ul>
 *   <li>{@code tcbinfo-<tee>-<FMSPC>.json}: PCS TCB Info response {@code {"tcbInfo":..,"signature":..}};
 *   <li>{@code qeidentity-<tee>.json}: PCS enclave identity response;
 *   <li>{@code pckcrl-processor.der}, {@code pckcrl-platform.der}: PCK CRLs (DER, PEM or hex);
 *   <li>{@code rootcacrl.der}: the Intel SGX Root CA CRL (DER, PEM or hex);
 *   <li>optional issuer chains {@code tcbinfo-issuer-chain.pem}, {@code qeidentity-issuer-chain.pem},
 *       {@code pckcrl-issuer-chain.pem} (PEM or URL-encoded PEM). Without them the verifier uses its
 *       configured TCB Signing certificate and the quote's own PCK CA.
 * </ul>
 */
public final class FileCollateralProvider implements CollateralProvider {
    private final Path dir;

    public FileCollateralProvider(Path dir) {
        this.dir = dir;
    }

    @Override
    public SignedCollateral tcbInfo(TeeType tee, String fmspc) throws CollateralUnavailableException {
        String base = "tcbinfo-" + tee.wireName() + "-";
        Path upper = dir.resolve(base + fmspc.toUpperCase(Locale.ROOT) + ".json");
        Path file = Files.exists(upper) ? upper : dir.resolve(base + fmspc.toLowerCase(Locale.ROOT) + ".json");
        try {
            return CollateralJsonParser.pcsTcbInfo(read(file), chain("tcbinfo-issuer-chain.pem"));
        } catch (CollateralParseException e) {
            throw new CollateralUnavailableException(file + " is not a PCS TCB Info response: " + e.getMessage(), e);
        }
    }

    @Override
    public SignedCollateral qeIdentity(TeeType tee) throws CollateralUnavailableException {
        Path file = dir.resolve("qeidentity-" + tee.wireName() + ".json");
        try {
            return CollateralJsonParser.pcsEnclaveIdentity(read(file), chain("qeidentity-issuer-chain.pem"));
        } catch (CollateralParseException e) {
            throw new CollateralUnavailableException(file + " is not a PCS enclave identity response: " + e.getMessage(), e);
        }
    }

    @Override
    public PckCrl pckCrl(PckCa ca) throws CollateralUnavailableException {
        Path file = dir.resolve("pckcrl-" + ca.pcsName() + ".der");
        try {
            return new PckCrl(CollateralEncodings.crl(read(file)), chain("pckcrl-issuer-chain.pem"));
        } catch (CollateralParseException e) {
            throw new CollateralUnavailableException(file + " is not a CRL: " + e.getMessage(), e);
        }
    }

    @Override
    public RootCaCrl rootCaCrl() throws CollateralUnavailableException {
        Path file = dir.resolve("rootcacrl.der");
        try {
            return new RootCaCrl(CollateralEncodings.crl(read(file)));
        } catch (CollateralParseException e) {
            throw new CollateralUnavailableException(file + " is not a CRL: " + e.getMessage(), e);
        }
    }

    private List<X509Certificate> chain(String name) throws CollateralUnavailableException {
        Path f = dir.resolve(name);
        if (!Files.exists(f)) {
            return List.of();
        }
        try {
            return CollateralEncodings.certificateChain(new String(read(f), StandardCharsets.US_ASCII));
        } catch (CollateralParseException e) {
            throw new CollateralUnavailableException(f + " is not a PEM certificate chain: " + e.getMessage(), e);
        }
    }

    private static byte[] read(Path f) throws CollateralUnavailableException {
        try {
            return Files.readAllBytes(f);
        } catch (IOException e) {
            throw new CollateralUnavailableException("cannot read collateral file " + f + ": " + e.getMessage(), e);
        }
    }
}
