/**
 * AttestMesh quote-native: TEE evidence parse, verify and collect. The front door is {@link
 * dev.attestmesh.quote.Verifiers#builder()} (verifiers from configuration) and {@link
 * dev.attestmesh.quote.EvidenceFormat} (what a byte string is). Every package is exported because each
 * is imported by another AttestMesh module (grep of {@code import dev.attestmesh.quote} over the
 * reactor, recorded in docs/architecture.md); none is open, so no consumer reflects into it.
 */
module dev.attestmesh.quote {
    requires transitive java.net.http;
    requires java.naming;
    requires org.bouncycastle.provider;
    requires org.bouncycastle.pkix;
    requires com.sun.jna;
    requires com.github.benmanes.caffeine;
    requires com.fasterxml.jackson.databind;
    requires org.slf4j;

    exports dev.attestmesh.quote;
    exports dev.attestmesh.quote.azure;
    exports dev.attestmesh.quote.collateral;
    exports dev.attestmesh.quote.device;
    exports dev.attestmesh.quote.intel;
    exports dev.attestmesh.quote.limits;
    exports dev.attestmesh.quote.sgx;
    exports dev.attestmesh.quote.sim;
    exports dev.attestmesh.quote.snp;
    exports dev.attestmesh.quote.tdx;
    exports dev.attestmesh.quote.tpm;
    exports dev.attestmesh.quote.trust;
}
