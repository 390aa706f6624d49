package dev.attestmesh.cli;

import dev.attestmesh.quote.EvidenceVerifier;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerifierSetupException;
import dev.attestmesh.quote.Verifiers;
import dev.attestmesh.quote.snp.AmdCertificateDecoder;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import picocli.CommandLine.Option;

/**
 * Where evidence verifiers get their trust anchors and collateral (files, PCCS/PCS, AMD KDS): the options
 * shared by {@code attestmesh evidence verify} and {@code attestmesh verify}.
 */
final class EvidenceSources {

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

    /** The verifier of {@code type}, assembled by quote-native's front door from these options. */
    EvidenceVerifier verifier(TeeType type) throws ConfigurationException {
        Verifiers.Builder b = Verifiers.builder().settingNames("--intel-root FILE|DIR", "--amd-roots DIR");
        if (intelRoot != null) {
            b.intelRoot(intelRoot);
        }
        List<X509Certificate> signing = new ArrayList<>();
        for (Path p : tcbSigning) {
            try {
                signing.addAll(AmdCertificateDecoder.decodeAll(Files.readAllBytes(p)));
            } catch (Exception e) {
                throw new ConfigurationException("cannot read TCB Signing certificate " + p + ": " + e.getMessage());
            }
        }
        b.intelTcbSigning(signing);
        if (collateral != null && Files.isDirectory(collateral)) {
            b.intelCollateralDir(collateral);
        } else if (pccs != null) {
            b.pccs(pccs);
        }
        boolean vcekGiven = vcek != null || collateral != null;
        if (amdRoots != null) {
            b.amdRoots(amdRoots);
        } else if (vcekGiven) {
            b.amdRootsWithVcek();
        }
        b.vcekFromKds(!vcekGiven);
        if (amdCrlDir != null) {
            b.amdCrlDir(amdCrlDir);
        }
        if (snpCurrentTcb != null) {
            b.snpCurrentTcb(snpCurrentTcb);
        }
        try {
            return b.verifier(type);
        } catch (VerifierSetupException e) {
            throw new ConfigurationException(e.getMessage());
        }
    }

    /** The verifier could not be set up (trust anchors, collateral source). */
    static final class ConfigurationException extends Exception {
        ConfigurationException(String message) {
            super(message);
        }
    }
}
