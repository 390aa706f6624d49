package dev.attestmesh.quote.snp;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Serves VCEKs and VLEKs from certificate files (DER or PEM, any names, up to three directory levels
 * deep) read once at construction. A certificate is chosen by what it certifies, not by its file
 * name: for a VCEK, its hwID must equal the report's chip ID and its SPL extensions the reported TCB;
 * for a VLEK, its product and SPLs. Files that are not VCEKs or VLEKs (ASK, ARK, reports) are skipped.
 */
public final class FileVcekProvider implements VcekProvider {
    private final Path directory;
    private final List<AmdSigningCertificate> certificates;

    private FileVcekProvider(Path directory, List<AmdSigningCertificate> certificates) {
        this.directory = directory;
        this.certificates = List.copyOf(certificates);
    }

    /**
     * Reads every {@code .der}, {@code .pem}, {@code .cer}, {@code .crt}, {@code .testcer} file under
     * {@code directory}.
     *
     * @throws IOException when the directory cannot be read
     */
    public static FileVcekProvider load(Path directory) throws IOException {
        List<AmdSigningCertificate> found = new ArrayList<>();
        try (Stream<Path> files = Files.walk(directory, 3)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                String n = f.getFileName().toString().toLowerCase(Locale.ROOT);
                if (!(n.endsWith(".der") || n.endsWith(".pem") || n.endsWith(".cer") || n.endsWith(".crt")
                        || n.endsWith(".testcer"))) {
                    continue;
                }
                try {
                    for (X509Certificate c : AmdCertificateDecoder.decodeAll(Files.readAllBytes(f))) {
                        try {
                            found.add(AmdSigningCertificate.of(c));
                        } catch (CertificateException notASigningCertificate) {
                            // ASK, ARK and unrelated certificates may share the directory.
                        }
                    }
                } catch (CertificateException notACertificateFile) {
                    // Not a certificate file; the directory may hold other material.
                }
            }
        }
        return new FileVcekProvider(directory, found);
    }

    /** Number of VCEK/VLEK certificates found. */
    public int size() {
        return certificates.size();
    }

    @Override
    public byte[] fetch(VcekRequest request) throws VcekUnavailableException {
        byte[] chip = HexFormat.of().parseHex(request.chipIdHex());
        for (AmdSigningCertificate c : certificates) {
            Optional<SnpProduct> product = c.product();
            if (c.keyType() != request.keyType() || product.isEmpty()
                    || request.product().filter(p -> p != product.get()).isPresent()
                    || !c.certifies(request.reportedTcb(product.get()))) {
                continue;
            }
            if (c.keyType() == SnpSigningKey.VCEK) {
                byte[] hwId = c.hwId().orElse(new byte[0]);
                if (hwId.length == 0 || hwId.length > chip.length
                        || !Arrays.equals(hwId, 0, hwId.length, chip, 0, hwId.length)) {
                    continue;
                }
            }
            try {
                return c.certificate().getEncoded();
            } catch (CertificateEncodingException e) {
                throw new VcekUnavailableException("certificate in " + directory + " cannot be encoded", e);
            }
        }
        throw new VcekUnavailableException("no " + request.keyType() + " under " + directory + " matches chip "
                + request.chipIdHex().substring(0, Math.min(16, request.chipIdHex().length())) + "... and TCB "
                + String.format("0x%016x", request.reportedTcbRaw()) + "; add the certificate from AMD KDS or your cloud provider");
    }
}
