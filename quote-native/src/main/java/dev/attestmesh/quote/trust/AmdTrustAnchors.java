package dev.attestmesh.quote.trust;

import dev.attestmesh.quote.snp.AmdCertificateDecoder;
import dev.attestmesh.quote.snp.SnpProduct;
import dev.attestmesh.quote.snp.SnpSigningKey;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import javax.security.auth.x500.X500Principal;

/**
 * AMD's SEV-SNP roots of trust. The ARK (AMD Root Key) of each product is pinned by the SHA-256 of its
 * DER encoding, a fact AMD publishes; the ARK, ASK (VCEK issuer) and ASVK (VLEK issuer) certificates
 * themselves come from a configured directory or from AMD KDS, and are accepted only if the ARK matches
 * its pin, is self-signed, and signs the intermediate (RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48).
 *
 * <p>Instances are immutable in configuration and thread-safe. The KDS-backed instance fetches a
 * product's chain on first use and keeps it; a failed load is answered from memory for {@link
 * #FAILURE_RETRY_AFTER} and then retried, so reports naming a product whose chain cannot be had do not
 * each cause a fetch.
 */
public final class AmdTrustAnchors {

    /** SHA-256 of the DER encoding of each product's ARK (lower-case hex). */
    public static final Map<SnpProduct, String> PINNED_ARK_SHA256 = Map.of(
            SnpProduct.MILAN, "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd",
            SnpProduct.GENOA, "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1",
            SnpProduct.TURIN, "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a");

    /** AMD's Key Distribution Service. */
    public static final URI AMD_KDS = URI.create("https://kdsintf.amd.com");

    /**
     * A verified anchor chain for one product and key type.
     *
     * @param product the product
     * @param keyType VCEK (intermediate = ASK) or VLEK (intermediate = ASVK)
     * @param ark the pinned, self-signed root
     * @param intermediate the ASK or ASVK, verified to be signed by {@code ark}
     */
    public record AnchorChain(SnpProduct product, SnpSigningKey keyType, X509Certificate ark, X509Certificate intermediate) {
    }

    /** The anchors for a product could not be obtained, or were refused. */
    public static final class AnchorException extends Exception {
        private final boolean rejected;

        AnchorException(String message, boolean rejected) {
            super(message);
            this.rejected = rejected;
        }

        AnchorException(String message, boolean rejected, Throwable cause) {
            super(message, cause);
            this.rejected = rejected;
        }

        /** True when certificates were found but refused (pin, self-signature, issuance); false when missing. */
        public boolean rejected() {
            return rejected;
        }
    }

    private record Key(SnpProduct product, SnpSigningKey keyType) {
    }

    private interface ChainSource {
        List<X509Certificate> load(Key key) throws AnchorException;
    }

    /** How long a failed chain load is remembered before it is tried again. */
    public static final Duration FAILURE_RETRY_AFTER = Duration.ofSeconds(30);

    private record Failure(AnchorException error, long atNanos) {
    }

    private final ChainSource source;
    private final Map<Key, AnchorChain> loaded = new ConcurrentHashMap<>();
    private final Map<Key, Failure> failed = new ConcurrentHashMap<>();

    private AmdTrustAnchors(ChainSource source) {
        this.source = source;
    }

    /**
     * Anchors from certificates already in hand (for example read from the vectors or bundled files).
     * Certificates are sorted by subject name ("ARK-Milan", "SEV-Milan", "SEV-VLEK-Milan"); others are
     * ignored. Chains are checked on first use.
     */
    public static AmdTrustAnchors fromCertificates(Collection<X509Certificate> certificates) {
        List<X509Certificate> all = List.copyOf(certificates);
        return new AmdTrustAnchors(key -> all);
    }

    /**
     * Anchors from every certificate file ({@code *.pem}, {@code *.der}, {@code *.cer}, {@code *.crt},
     * {@code cert_chain*}) directly inside {@code directory}, read once now.
     *
     * @throws AnchorException when the directory cannot be read or a file there is not a certificate
     */
    public static AmdTrustAnchors fromDirectory(Path directory) throws AnchorException {
        List<X509Certificate> all = new ArrayList<>();
        try (Stream<Path> files = Files.list(directory)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                String name = f.getFileName().toString().toLowerCase(Locale.ROOT);
                if (name.endsWith(".pem") || name.endsWith(".der") || name.endsWith(".cer") || name.endsWith(".crt")
                        || name.startsWith("cert_chain")) {
                    try {
                        all.addAll(AmdCertificateDecoder.decodeAll(Files.readAllBytes(f)));
                    } catch (CertificateException e) {
                        throw new AnchorException("AMD anchor file " + f + " is not a certificate file: "
                                + e.getMessage() + "; remove it or fix it", true, e);
                    }
                }
            }
        } catch (IOException e) {
            throw new AnchorException("cannot read AMD anchor directory " + directory + ": " + e.getMessage(), false, e);
        }
        return fromCertificates(all);
    }

    /**
     * Anchors fetched from AMD KDS ({@code {base}/vcek/v1/{product}/cert_chain} for the ASK and ARK,
     * {@code {base}/vlek/v1/{product}/cert_chain} for the ASVK and ARK) on first use per product.
     *
     * @param client the HTTP client to use
     * @param base KDS base URI, normally {@link #AMD_KDS}
     * @param timeout per-request timeout
     */
    public static AmdTrustAnchors fromKds(HttpClient client, URI base, Duration timeout) {
        Objects.requireNonNull(client);
        String root = base.toString().replaceAll("/+$", "");
        return new AmdTrustAnchors(key -> {
            URI uri = URI.create(root + "/" + (key.keyType() == SnpSigningKey.VLEK ? "vlek" : "vcek") + "/v1/"
                    + key.product().kdsName() + "/cert_chain");
            try {
                HttpResponse<byte[]> r = client.send(HttpRequest.newBuilder(uri).timeout(timeout).GET().build(),
                        HttpResponse.BodyHandlers.ofByteArray());
                if (r.statusCode() != 200) {
                    throw new AnchorException("AMD KDS answered HTTP " + r.statusCode() + " for " + uri, false);
                }
                return AmdCertificateDecoder.decodeAll(r.body());
            } catch (IOException e) {
                throw new AnchorException("cannot fetch " + uri + ": " + e.getMessage(), false, e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AnchorException("interrupted while fetching " + uri, false, e);
            } catch (CertificateException e) {
                throw new AnchorException("AMD KDS response from " + uri + " is not a PEM chain: " + e.getMessage(), true, e);
            }
        });
    }

    /**
     * The verified ARK and intermediate for {@code product} and {@code keyType}.
     *
     * @throws AnchorException when the certificates are missing ({@code rejected() == false}) or fail the
     *     pin, the self-signature, or the issuance check ({@code rejected() == true})
     */
    public AnchorChain chain(SnpProduct product, SnpSigningKey keyType) throws AnchorException {
        if (keyType == SnpSigningKey.NONE) {
            throw new AnchorException("an unsigned report has no certificate chain", true);
        }
        Key key = new Key(product, keyType);
        AnchorChain c = loaded.get(key);
        if (c != null) {
            return c;
        }
        Failure f = failed.get(key);
        if (f != null && System.nanoTime() - f.atNanos() < FAILURE_RETRY_AFTER.toNanos()) {
            throw new AnchorException(f.error().getMessage() + " (a recent failure; retried after "
                    + FAILURE_RETRY_AFTER.toSeconds() + " s)", f.error().rejected(), f.error());
        }
        try {
            c = build(key, source.load(key));
        } catch (AnchorException e) {
            // At most 6 keys (3 products x 2 key types), so this map stays tiny.
            failed.put(key, new Failure(e, System.nanoTime()));
            throw e;
        }
        failed.remove(key);
        loaded.putIfAbsent(key, c);
        return loaded.get(key);
    }

    /** The expected subject common name of the intermediate: "SEV-Milan" (ASK) or "SEV-VLEK-Milan" (ASVK). */
    public static String intermediateName(SnpProduct product, SnpSigningKey keyType) {
        return (keyType == SnpSigningKey.VLEK ? "SEV-VLEK-" : "SEV-") + product.kdsName();
    }

    /** Whether {@code ark} is the pinned ARK of {@code product}. */
    public static boolean isPinnedArk(SnpProduct product, X509Certificate ark) {
        try {
            return PINNED_ARK_SHA256.get(product).equals(sha256Hex(ark.getEncoded()));
        } catch (CertificateEncodingException e) {
            return false;
        }
    }

    /**
     * Verifies that {@code issuer} signed {@code subject} with RSASSA-PSS, SHA-384, MGF1-SHA-384 and a
     * 48-byte salt, as AMD signs the ARK, ASK, ASVK, VCEK and VLEK; and that the names chain.
     *
     * @throws GeneralSecurityException when the algorithm, its parameters, the names or the signature are wrong
     */
    public static void verifyAmdSignature(X509Certificate subject, X509Certificate issuer) throws GeneralSecurityException {
        if (!subject.getIssuerX500Principal().equals(issuer.getSubjectX500Principal())) {
            throw new CertificateException("issuer name '" + cn(subject.getIssuerX500Principal())
                    + "' does not match the signer '" + cn(issuer.getSubjectX500Principal()) + "'");
        }
        if (!"1.2.840.113549.1.1.10".equals(subject.getSigAlgOID())) {
            throw new CertificateException("signature algorithm " + subject.getSigAlgName() + " is not RSASSA-PSS");
        }
        AlgorithmParameters params = AlgorithmParameters.getInstance("RSASSA-PSS");
        try {
            params.init(subject.getSigAlgParams());
        } catch (IOException e) {
            throw new CertificateException("malformed RSASSA-PSS parameters", e);
        }
        PSSParameterSpec pss = params.getParameterSpec(PSSParameterSpec.class);
        boolean sha384 = "SHA-384".equals(pss.getDigestAlgorithm()) && pss.getMGFParameters() instanceof MGF1ParameterSpec mgf
                && "SHA-384".equals(mgf.getDigestAlgorithm());
        if (!sha384 || pss.getSaltLength() != 48) {
            throw new CertificateException("RSASSA-PSS parameters are not SHA-384 with a 48-byte salt");
        }
        subject.verify(issuer.getPublicKey());
    }

    /** Lower-case hex SHA-256 of {@code bytes}. */
    public static String sha256Hex(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is a mandatory JCA algorithm", e);
        }
    }

    private static AnchorChain build(Key key, List<X509Certificate> candidates) throws AnchorException {
        String arkName = "ARK-" + key.product().kdsName();
        String interName = intermediateName(key.product(), key.keyType());
        X509Certificate ark = null;
        X509Certificate inter = null;
        for (X509Certificate c : candidates) {
            String cn = cn(c.getSubjectX500Principal());
            if (cn.equals(arkName)) {
                if (!isPinnedArk(key.product(), c)) {
                    throw new AnchorException("refusing certificate '" + arkName + "' with SHA-256 "
                            + sha256Hex(encoded(c)) + ": AMD's " + key.product().kdsName() + " ARK has SHA-256 "
                            + PINNED_ARK_SHA256.get(key.product()) + "; replace the file with AMD's ARK", true);
                }
                ark = c;
            } else if (cn.equals(interName) && inter == null) {
                inter = c;
            }
        }
        if (ark == null || inter == null) {
            throw new AnchorException("no " + (ark == null ? arkName : interName) + " certificate is configured; add AMD's "
                    + key.product().kdsName() + (key.keyType() == SnpSigningKey.VLEK ? " VLEK" : " VCEK")
                    + " cert_chain to the anchor directory or enable AMD KDS", false);
        }
        try {
            verifyAmdSignature(ark, ark);
        } catch (GeneralSecurityException e) {
            throw new AnchorException(arkName + " is not a valid self-signed certificate: " + e.getMessage(), true, e);
        }
        try {
            verifyAmdSignature(inter, ark);
        } catch (GeneralSecurityException e) {
            throw new AnchorException(interName + " is not signed by the pinned " + arkName + ": " + e.getMessage(), true, e);
        }
        return new AnchorChain(key.product(), key.keyType(), ark, inter);
    }

    private static byte[] encoded(X509Certificate c) {
        try {
            return c.getEncoded();
        } catch (CertificateEncodingException e) {
            return new byte[0];
        }
    }

    private static String cn(X500Principal p) {
        return AmdCertificateDecoder.commonName(p);
    }
}
