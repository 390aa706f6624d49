package dev.attestmesh.quote.trust;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * The Intel SGX Root CA, pinned by the SHA-256 fingerprint of its DER encoding, plus optionally
 * configured Intel SGX TCB Signing certificates.
 *
 * <p>Guarantee: an instance only ever holds a root whose fingerprint equals {@link
 * #PINNED_ROOT_SHA256}; every loader refuses anything else. Configured TCB Signing certificates are
 * not trusted by being configured: verification still checks that they chain to the root and are
 * valid at the verification time. Configuring one is how a deployment supplies the 2025 re-issued
 * TCB Signing certificate (same key, new validity) for collateral whose delivered chain is absent
 * or older.
 */
public final class IntelTrustAnchors {
    /** SHA-256 of the DER of "Intel SGX Root CA" (valid 2018-05-21..2049-12-31), published by Intel. */
    public static final String PINNED_ROOT_SHA256 = "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3";
    /** Where Intel publishes the root certificate. */
    public static final URI INTEL_ROOT_URL =
            URI.create("https://certificates.trustedservices.intel.com/Intel_SGX_Provisioning_Certification_RootCA.der");
    /** File name looked up first in a trust directory (Intel's published name). */
    public static final String ROOT_FILE_NAME = "Intel_SGX_Provisioning_Certification_RootCA.der";
    private static final String TCB_SIGNING_CN = "Intel SGX TCB Signing";

    private final X509Certificate root;
    private final EcdsaP256.VerifyingKey rootVerifyingKey;
    private final List<X509Certificate> tcbSigningCertificates;

    private IntelTrustAnchors(X509Certificate root, List<X509Certificate> tcbSigning) throws TrustAnchorException {
        this.root = root;
        // Decoded once: every verifier built on these anchors shares the key and its precomputation.
        this.rootVerifyingKey = EcdsaP256.fromPublicKey(root.getPublicKey()).orElseThrow(() ->
                new TrustAnchorException("the pinned Intel SGX Root CA does not carry an ECDSA P-256 key"));
        this.tcbSigningCertificates = List.copyOf(tcbSigning);
    }

    /** The pinned Intel SGX Root CA. */
    public X509Certificate root() {
        return root;
    }

    public PublicKey rootKey() {
        return root.getPublicKey();
    }

    /** The root's key, decoded once for fast repeated verification. */
    public EcdsaP256.VerifyingKey rootVerifyingKey() {
        return rootVerifyingKey;
    }

    /** Configured TCB Signing certificates (still to be chained to the root by the verifier). */
    public List<X509Certificate> tcbSigningCertificates() {
        return tcbSigningCertificates;
    }

    /** A copy that also offers {@code certs} as TCB Signing certificates. */
    public IntelTrustAnchors withTcbSigningCertificates(Collection<X509Certificate> certs) {
        List<X509Certificate> all = new ArrayList<>(tcbSigningCertificates);
        all.addAll(certs);
        try {
            return new IntelTrustAnchors(root, all);
        } catch (TrustAnchorException e) {
            throw new IllegalStateException("the root was already accepted", e);
        }
    }

    /** Accepts {@code rootDer} only if its SHA-256 equals the pinned fingerprint. */
    public static IntelTrustAnchors fromRootDer(byte[] rootDer) throws TrustAnchorException {
        String fp = sha256Hex(rootDer);
        if (!PINNED_ROOT_SHA256.equals(fp)) {
            throw new TrustAnchorException("refusing Intel root certificate with SHA-256 " + fp
                    + ": it is not the pinned Intel SGX Root CA (" + PINNED_ROOT_SHA256 + "); check the configured trust source");
        }
        return new IntelTrustAnchors(parse(rootDer), List.of());
    }

    /**
     * Loads the root from a directory: {@value #ROOT_FILE_NAME} if present, else the one
     * certificate file ({@code .der}, {@code .pem}, {@code .crt}, {@code .cer}) that has the pinned
     * fingerprint. Certificates whose subject is "Intel SGX TCB Signing" are taken as configured TCB
     * Signing certificates. A self-signed "Intel SGX Root CA" with another fingerprint is refused.
     */
    public static IntelTrustAnchors fromDirectory(Path dir) throws TrustAnchorException {
        Path named = dir.resolve(ROOT_FILE_NAME);
        X509Certificate pinned = null;
        List<X509Certificate> signing = new ArrayList<>();
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(Files::isRegularFile).filter(p -> {
                String n = p.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
                return n.endsWith(".der") || n.endsWith(".pem") || n.endsWith(".crt") || n.endsWith(".cer");
            }).sorted().toList();
        } catch (IOException e) {
            throw new TrustAnchorException("cannot list trust directory " + dir + ": " + e.getMessage(), e);
        }
        if (Files.isRegularFile(named)) {
            return fromRootDer(read(named)).withTcbSigningCertificates(tcbSigningIn(files));
        }
        for (Path f : files) {
            for (X509Certificate c : parseAll(read(f), f)) {
                boolean selfSigned = c.getSubjectX500Principal().equals(c.getIssuerX500Principal());
                if (selfSigned && "Intel SGX Root CA".equals(commonName(c))) {
                    pinned = fromRootDer(encoded(c)).root; // refuses a differing fingerprint
                }
            }
        }
        if (pinned == null) {
            throw new TrustAnchorException("no Intel SGX Root CA certificate in " + dir + "; place " + ROOT_FILE_NAME
                    + " there (download it from " + INTEL_ROOT_URL + ")");
        }
        signing.addAll(tcbSigningIn(files));
        return new IntelTrustAnchors(pinned, signing);
    }

    /** Downloads the root (DER) from {@code url}, normally {@link #INTEL_ROOT_URL}, and checks the pin. */
    public static IntelTrustAnchors fromUrl(URI url, HttpClient client) throws TrustAnchorException {
        try {
            HttpResponse<byte[]> r = client.send(HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(30)).GET().build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            if (r.statusCode() != 200) {
                throw new TrustAnchorException("fetching the Intel root from " + url + " returned HTTP " + r.statusCode());
            }
            return fromRootDer(r.body());
        } catch (IOException e) {
            throw new TrustAnchorException("cannot fetch the Intel root from " + url + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TrustAnchorException("interrupted while fetching the Intel root from " + url, e);
        }
    }

    private static List<X509Certificate> tcbSigningIn(List<Path> files) throws TrustAnchorException {
        List<X509Certificate> out = new ArrayList<>();
        for (Path f : files) {
            for (X509Certificate c : parseAll(read(f), f)) {
                if (TCB_SIGNING_CN.equals(commonName(c))) {
                    out.add(c);
                }
            }
        }
        return out;
    }

    private static byte[] read(Path p) throws TrustAnchorException {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new TrustAnchorException("cannot read " + p + ": " + e.getMessage(), e);
        }
    }

    private static byte[] encoded(X509Certificate c) throws TrustAnchorException {
        try {
            return c.getEncoded();
        } catch (java.security.cert.CertificateEncodingException e) {
            throw new TrustAnchorException("certificate cannot be encoded", e);
        }
    }

    private static X509Certificate parse(byte[] der) throws TrustAnchorException {
        try {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(der));
        } catch (CertificateException e) {
            throw new TrustAnchorException("the pinned root bytes are not a certificate", e);
        }
    }

    private static List<X509Certificate> parseAll(byte[] bytes, Path from) throws TrustAnchorException {
        try {
            List<X509Certificate> out = new ArrayList<>();
            for (var c : CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(bytes))) {
                out.add((X509Certificate) c);
            }
            return out;
        } catch (CertificateException e) {
            throw new TrustAnchorException(from + " is not a DER or PEM certificate file: " + e.getMessage(), e);
        }
    }

    /** The subject common name, or "" when there is none. */
    static String commonName(X509Certificate c) {
        try {
            for (javax.naming.ldap.Rdn rdn : new javax.naming.ldap.LdapName(c.getSubjectX500Principal().getName()).getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) {
                    return rdn.getValue().toString();
                }
            }
        } catch (javax.naming.InvalidNameException e) {
            return "";
        }
        return "";
    }

    static String sha256Hex(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by every Java platform", e);
        }
    }
}
