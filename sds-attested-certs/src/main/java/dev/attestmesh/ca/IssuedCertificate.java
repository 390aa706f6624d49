package dev.attestmesh.ca;

import java.io.ByteArrayInputStream;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * A leaf certificate issued for an attested node: its DER, the issuing chain above it, and what the
 * registry keeps of it. The JDK's {@link X509Certificate} of the leaf is parsed only when asked for
 * ({@link #leaf()}, {@link #chain()}): admission needs the encodings only (the registry's PEM, the
 * answer's DER), and parsing every issued leaf again was 3% of an attestation's CPU.
 */
public final class IssuedCertificate {
    private final byte[] leafDer;
    private final List<X509Certificate> issuers;
    private final BigInteger serial;
    private final Instant notBefore;
    private final Instant notAfter;
    private final byte[] sha256;
    private volatile X509Certificate leaf;

    /**
     * @param leaf the leaf certificate
     * @param chain leaf first, then the issuing intermediate
     * @param serial the leaf's serial number
     * @param notBefore leaf validity start
     * @param notAfter leaf validity end
     * @param sha256 SHA-256 of the leaf's DER encoding (the fingerprint ext_authz and the registry use)
     */
    public IssuedCertificate(X509Certificate leaf, List<X509Certificate> chain, BigInteger serial,
            Instant notBefore, Instant notAfter, byte[] sha256) {
        this(encoded(Objects.requireNonNull(leaf, "leaf")), issuersOf(leaf, chain), serial, notBefore, notAfter, sha256);
        this.leaf = leaf;
    }

    private IssuedCertificate(byte[] leafDer, List<X509Certificate> issuers, BigInteger serial, Instant notBefore,
            Instant notAfter, byte[] sha256) {
        this.leafDer = leafDer;
        this.issuers = List.copyOf(issuers);
        this.serial = Objects.requireNonNull(serial, "serial");
        this.notBefore = Objects.requireNonNull(notBefore, "notBefore");
        this.notAfter = Objects.requireNonNull(notAfter, "notAfter");
        this.sha256 = sha256.clone();
    }

    /**
     * A certificate this CA has just encoded: {@code leafDer} is kept as is and parsed on first use.
     *
     * @param issuers the chain above the leaf, the issuing intermediate first
     */
    public static IssuedCertificate ofDer(byte[] leafDer, List<X509Certificate> issuers, BigInteger serial,
            Instant notBefore, Instant notAfter, byte[] sha256) {
        return new IssuedCertificate(leafDer.clone(), issuers, serial, notBefore, notAfter, sha256);
    }

    /** The leaf certificate (parsed from its DER on first call). */
    public X509Certificate leaf() {
        X509Certificate l = leaf;
        if (l == null) {
            try {
                l = (X509Certificate) CertificateFactory.getInstance("X.509")
                        .generateCertificate(new ByteArrayInputStream(leafDer));
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("the CA's own certificate does not parse: " + e.getMessage(), e);
            }
            leaf = l;
        }
        return l;
    }

    /** Leaf first, then the issuing intermediate. */
    public List<X509Certificate> chain() {
        List<X509Certificate> chain = new ArrayList<>(1 + issuers.size());
        chain.add(leaf());
        chain.addAll(issuers);
        return List.copyOf(chain);
    }

    /** The leaf's DER encoding (a copy). */
    public byte[] leafDer() {
        return leafDer.clone();
    }

    /** The chain as PEM {@code CERTIFICATE} blocks, leaf first, without parsing the leaf. */
    public String chainPem() {
        StringBuilder sb = new StringBuilder(Pem.certificate(leafDer));
        sb.append(Pem.certificates(issuers));
        return sb.toString();
    }

    /** The certificates above the leaf, the issuing intermediate first. */
    public List<X509Certificate> issuers() {
        return issuers;
    }

    public BigInteger serial() {
        return serial;
    }

    public Instant notBefore() {
        return notBefore;
    }

    public Instant notAfter() {
        return notAfter;
    }

    /** SHA-256 of the leaf's DER encoding (the fingerprint ext_authz and the registry use). */
    public byte[] sha256() {
        return sha256.clone();
    }

    public String sha256Hex() {
        return HexFormat.of().formatHex(sha256);
    }

    public String serialHex() {
        return serial.toString(16);
    }

    @Override
    public String toString() {
        return "IssuedCertificate[serial=" + serialHex() + ", notBefore=" + notBefore + ", notAfter=" + notAfter
                + ", sha256=" + sha256Hex() + "]";
    }

    private static byte[] encoded(X509Certificate c) {
        try {
            return c.getEncoded();
        } catch (CertificateEncodingException e) {
            throw new IllegalArgumentException("certificate cannot be encoded: " + e.getMessage(), e);
        }
    }

    private static List<X509Certificate> issuersOf(X509Certificate leaf, List<X509Certificate> chain) {
        if (chain.isEmpty() || !chain.get(0).equals(leaf)) {
            throw new IllegalArgumentException("the chain must start with the leaf");
        }
        return chain.subList(1, chain.size());
    }
}
