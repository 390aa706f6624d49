package dev.attestmesh.ca;

import java.security.PublicKey;
import java.util.Objects;

/**
 * A CSR whose self-signature verified and whose key is ECDSA P-256. Only the key matters: subject
 * and requested extensions are ignored, because the certificate's identity comes from attestation.
 *
 * @param publicKey the requester's key
 * @param subjectPublicKeyInfoDer DER SubjectPublicKeyInfo of that key (the bytes bound into report data)
 */
public record ValidatedCsr(PublicKey publicKey, byte[] subjectPublicKeyInfoDer) {
    public ValidatedCsr {
        Objects.requireNonNull(publicKey, "publicKey");
        subjectPublicKeyInfoDer = subjectPublicKeyInfoDer.clone();
    }

    @Override
    public byte[] subjectPublicKeyInfoDer() {
        return subjectPublicKeyInfoDer.clone();
    }
}
