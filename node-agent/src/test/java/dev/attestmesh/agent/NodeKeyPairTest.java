package dev.attestmesh.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.junit.jupiter.api.Test;

class NodeKeyPairTest {
    @Test
    void csrIsSelfSignedWithTheNodeKeyAndCarriesItsPublicKey() throws Exception {
        NodeKeyPair k = NodeKeyPair.generate();
        PKCS10CertificationRequest csr = new PKCS10CertificationRequest(k.csrDer("node-1"));
        assertArrayEquals(k.subjectPublicKeyInfoDer(), csr.getSubjectPublicKeyInfo().getEncoded());
        assertTrue(csr.isSignatureValid(new JcaContentVerifierProviderBuilder().build(csr.getSubjectPublicKeyInfo())));
        assertEquals("CN=node-1", csr.getSubject().toString());
    }

    @Test
    void privateKeyPemIsPkcs8() {
        String pem = NodeKeyPair.generate().privateKeyPem();
        assertTrue(pem.startsWith("-----BEGIN PRIVATE KEY-----\n"));
        assertTrue(pem.endsWith("-----END PRIVATE KEY-----\n"));
    }
}
