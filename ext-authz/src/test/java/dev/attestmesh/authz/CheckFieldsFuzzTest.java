package dev.attestmesh.authz;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;

/**
 * The wire decoder against protobuf's generated parser on arbitrary bytes: the decoder throws nothing but {@link
 * InvalidProtocolBufferException}, and wherever the generated parser accepts the bytes, the decoder accepts them
 * and reads the same fields (the certificate field's UTF-8 aside: the decider checks that one). Without {@code
 * JAZZER_FUZZ=1} this runs the seed inputs only (regression mode).
 */
class CheckFieldsFuzzTest {
    @FuzzTest(maxDuration = "20s")
    void readsWhatTheGeneratedParserReads(FuzzedDataProvider data) throws InvalidProtocolBufferException {
        byte[] wire = data.consumeRemainingAsBytes();
        CheckFields decoded;
        try {
            decoded = CheckFields.decode(wire, 0, wire.length);
        } catch (InvalidProtocolBufferException e) {
            decoded = null;
        }
        CheckRequest parsed;
        try {
            parsed = CheckRequest.parseFrom(wire);
        } catch (InvalidProtocolBufferException e) {
            return; // rejected by the generated parser: the decoder may read its fields or reject it too
        }
        CheckFields expected = CheckFields.of(parsed);
        assertEquals(new CheckFields(expected.certificate(), expected.sourcePrincipal(), expected.destinationPrincipal(),
                expected.destinationPort(), expected.contextPolicyIds(), expected.http(), wire.length), decoded);
    }
}
