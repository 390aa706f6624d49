package dev.attestmesh.ca;

import java.math.BigInteger;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * A leaf certificate issued for an attested node.
 *
 * @param leaf the leaf certificate
 * @param chain leaf first, then the issuing intermediate
 * @param serial the leaf's serial number
 * @param notBefore leaf validity start
 * @param notAfter leaf validity end
 * @param sha256 SHA-256 of the leaf's DER encoding (the fingerprint ext_authz and the registry use)
 */
public record IssuedCertificate(X509Certificate leaf, List<X509Certificate> chain, BigInteger serial,
        Instant notBefore, Instant notAfter, byte[] sha256) {
    public IssuedCertificate {
        Objects.requireNonNull(leaf, "leaf");
        chain = List.copyOf(chain);
        Objects.requireNonNull(serial, "serial");
        Objects.requireNonNull(notBefore, "notBefore");
        Objects.requireNonNull(notAfter, "notAfter");
        sha256 = sha256.clone();
    }

    @Override
    public byte[] sha256() {
        return sha256.clone();
    }

    public String sha256Hex() {
        return HexFormat.of().formatHex(sha256);
    }

    public String serialHex() {
        return serial.toString(16);
    }
}
