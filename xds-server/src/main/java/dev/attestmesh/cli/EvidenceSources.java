package dev.attestmesh.cli;

import dev.attestmesh.quote.EvidenceVerifier;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.azure.AzureVtpmVerifier;
import dev.attestmesh.quote.collateral.CollateralProvider;
import dev.attestmesh.quote.collateral.FileCollateralProvider;
import dev.attestmesh.quote.collateral.PcsCollateralProvider;
import dev.attestmesh.quote.intel.DcapQuoteVerifier;
import dev.attestmesh.quote.sim.SimulatedEvidenceVerifier;
import dev.attestmesh.quote.snp.KdsVcekProvider;
import dev.attestmesh.quote.snp.SnpReportVerifier;
import dev.attestmesh.quote.snp.VcekProvider;
import dev.attestmesh.quote.trust.AmdTrustAnchors;
import dev.attestmesh.quote.trust.IntelTrustAnchors;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import picocli.CommandLine.Option;

/**
 * Where evidence verifiers get their trust anchors and collateral (files, PCCS/PCS, AMD KDS): the options
 * shared by {@code attestmesh evidence verify} and {@code attestmesh verify}.
 */
final class EvidenceSources {
    private static final Duration HTTP_TIMEOUT = Duration.ofSeconds(20);

    @Option(names = {"--collateral", "--collateral-dir"}, description = "Intel collateral: a QuoteCollateralV3 JSON file, or a directory "
            + "laid out as for the control plane (tcbinfo-<tee>-<FMSPC>.json, qeidentity-<tee>.json, pckcrl-*.der, "
            + "rootcacrl.der). For SNP: the VCEK/VLEK, optionally followed by ASK/ARK.")
    Path collateral;

    @Option(names = "--pccs", description = "Fetch Intel collateral from this PCCS or Intel PCS base URL (API v4).")
    URI pccs;

    @Option(names = "--vcek", description = "SNP: the VCEK or VLEK (DER or PEM), optionally followed by ASK/ARK.")
    Path vcek;

    @Option(names = "--intel-root", description = "The Intel SGX Root CA certificate (DER or PEM; refused unless its "
            + "SHA-256 is the pinned one), or a directory holding it (default: download from Intel).")
    Path intelRoot;

    @Option(names = "--tcb-signing", description = "Additional Intel TCB Signing certificates (e.g. the renewed one) "
            + "for collateral that does not carry a current issuer chain.")
    List<Path> tcbSigning = List.of();

    @Option(names = "--amd-roots", description = "Directory with AMD ARK/ASK certificates (pinned by fingerprint; "
            + "default: those given with --vcek, else AMD KDS).")
    Path amdRoots;

    @Option(names = "--amd-crl-dir", description = "SNP: check revocation with AMD's CRLs from this directory "
            + "(crl-<Product>.der, crl-vlek-<Product>.der, as served by KDS /vcek/v1/<Product>/crl).")
    Path amdCrlDir;

    @Option(names = "--snp-current-tcb", description = "SNP: JSON of AMD's current TCB per product; a report below it"
            + " is OutOfDate (docs/evidence.md).")
    Path snpCurrentTcb;

    Optional<byte[]> suppliedCollateral(TeeType type) throws IOException {
        if (type == TeeType.SNP || type == TeeType.AZ_SNP_VTPM) {
            Path p = vcek != null ? vcek : collateral;
            return p == null ? Optional.empty() : Optional.of(Files.readAllBytes(p));
        }
        if (collateral != null && Files.isRegularFile(collateral)) {
            return Optional.of(Files.readAllBytes(collateral));
        }
        return Optional.empty();
    }

    EvidenceVerifier verifier(TeeType type) throws ConfigurationException {
        return switch (type) {
            case SGX, TDX -> DcapQuoteVerifier.create(type, intelAnchors(), intelCollateral());
            case SNP -> SnpReportVerifier.create(amdAnchors(), vcek != null || collateral != null ? VcekProvider.none()
                    : KdsVcekProvider.create(HttpClient.newHttpClient(), AmdTrustAnchors.AMD_KDS, HTTP_TIMEOUT), snpOptions());
            case AZ_SNP_VTPM -> AzureVtpmVerifier.create(verifier(TeeType.SNP));
            case SIM -> SimulatedEvidenceVerifier.withDefaultKey();
        };
    }

    private dev.attestmesh.quote.snp.SnpVerifierOptions snpOptions() throws ConfigurationException {
        var options = dev.attestmesh.quote.snp.SnpVerifierOptions.none();
        if (amdCrlDir != null) {
            options = options.withCrls(new dev.attestmesh.quote.snp.FileAmdCrlProvider(amdCrlDir));
        }
        if (snpCurrentTcb != null) {
            try {
                options = options.withCurrentTcb(dev.attestmesh.quote.snp.SnpCurrentTcb.parse(
                        Files.readAllBytes(snpCurrentTcb), snpCurrentTcb.toString()));
            } catch (IOException | IllegalArgumentException e) {
                throw new ConfigurationException("cannot read --snp-current-tcb: " + e.getMessage());
            }
        }
        return options;
    }

    private CollateralProvider intelCollateral() {
        if (collateral != null && Files.isDirectory(collateral)) {
            return new FileCollateralProvider(collateral);
        }
        if (pccs != null) {
            return PcsCollateralProvider.pccs(pccs, HttpClient.newHttpClient());
        }
        return CollateralProvider.none();
    }

    private IntelTrustAnchors intelAnchors() throws ConfigurationException {
        IntelTrustAnchors anchors;
        try {
            if (intelRoot == null) {
                anchors = IntelTrustAnchors.fromUrl(IntelTrustAnchors.INTEL_ROOT_URL, HttpClient.newHttpClient());
            } else if (Files.isDirectory(intelRoot)) {
                anchors = IntelTrustAnchors.fromDirectory(intelRoot);
            } else {
                anchors = IntelTrustAnchors.fromRootDer(derOf(Files.readAllBytes(intelRoot)));
            }
        } catch (Exception e) {
            throw new ConfigurationException("cannot load the Intel SGX Root CA: " + e.getMessage()
                    + " (pass --intel-root FILE|DIR)");
        }
        List<java.security.cert.X509Certificate> signing = new java.util.ArrayList<>();
        for (Path p : tcbSigning) {
            try {
                signing.addAll(dev.attestmesh.quote.snp.AmdCertificateDecoder.decodeAll(Files.readAllBytes(p)));
            } catch (Exception e) {
                throw new ConfigurationException("cannot read TCB Signing certificate " + p + ": " + e.getMessage());
            }
        }
        return signing.isEmpty() ? anchors : anchors.withTcbSigningCertificates(signing);
    }

    private AmdTrustAnchors amdAnchors() throws ConfigurationException {
        try {
            if (amdRoots != null) {
                return AmdTrustAnchors.fromDirectory(amdRoots);
            }
            if (vcek != null || collateral != null) {
                return AmdTrustAnchors.fromCertificates(List.of()); // ASK/ARK come with the VCEK, ARK pinned
            }
            return AmdTrustAnchors.fromKds(HttpClient.newHttpClient(), AmdTrustAnchors.AMD_KDS, HTTP_TIMEOUT);
        } catch (Exception e) {
            throw new ConfigurationException("cannot load AMD trust anchors: " + e.getMessage());
        }
    }

    /** DER bytes of a certificate given as DER or PEM. */
    private static byte[] derOf(byte[] bytes) throws Exception {
        return dev.attestmesh.quote.snp.AmdCertificateDecoder.decodeAll(bytes).getFirst().getEncoded();
    }

    /** The verifier could not be set up (trust anchors, collateral source). */
    static final class ConfigurationException extends Exception {
        ConfigurationException(String message) {
            super(message);
        }
    }
}
