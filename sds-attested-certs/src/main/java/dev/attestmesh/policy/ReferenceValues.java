package dev.attestmesh.policy;

import java.util.Collections;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Reference values for one TEE type within a policy. Every configured entry must hold for the
 * evidence to pass; claims not mentioned are not checked.
 *
 * @param allowedValues byte-string claim name (e.g. {@code mrenclave}, {@code mrtd}, {@code rtmr0},
 *     {@code measurement}, {@code host_data}) to the set of allowed lower-case hex values, each of
 *     the claim's exact length
 * @param allowedNumbers integer claim name (e.g. {@code isvprodid}) to the set of allowed values
 * @param minimums integer claim name (e.g. {@code isvsvn}, {@code reported_tcb.snp}, {@code
 *     guest_svn}) to the smallest accepted value
 * @param masked attribute-like claim name to masked expected bits
 * @param minimumTeeTcbSvn TDX {@code tee_tcb_svn} minimum (lower-case hex, 16 bytes); each byte
 *     (component) of the evidence's value must be at least the corresponding byte here
 */
public record ReferenceValues(Map<String, Set<String>> allowedValues, Map<String, Set<Long>> allowedNumbers,
        Map<String, Long> minimums, Map<String, MaskedValue> masked, Optional<String> minimumTeeTcbSvn) {

    public ReferenceValues {
        TreeMap<String, Set<String>> av = new TreeMap<>();
        allowedValues.forEach((k, v) -> av.put(k, Collections.unmodifiableSortedSet(new TreeSet<>(v))));
        allowedValues = Collections.unmodifiableSortedMap(av);
        TreeMap<String, Set<Long>> an = new TreeMap<>();
        allowedNumbers.forEach((k, v) -> an.put(k, Collections.unmodifiableSortedSet(new TreeSet<>(v))));
        allowedNumbers = Collections.unmodifiableSortedMap(an);
        minimums = Collections.unmodifiableSortedMap(new TreeMap<>(minimums));
        masked = Collections.unmodifiableSortedMap(new TreeMap<>(masked));
        java.util.Objects.requireNonNull(minimumTeeTcbSvn, "minimumTeeTcbSvn");
    }

    /** No reference values: any measurement is accepted. */
    public static ReferenceValues none() {
        return new ReferenceValues(Map.of(), Map.of(), Map.of(), Map.of(), Optional.empty());
    }

    /** Only allowed byte-string values, e.g. {@code Map.of("measurement", Set.of(hex))}. */
    public static ReferenceValues ofAllowed(Map<String, Set<String>> allowedValues) {
        return new ReferenceValues(allowedValues, Map.of(), Map.of(), Map.of(), Optional.empty());
    }

    public boolean isEmpty() {
        return allowedValues.isEmpty() && allowedNumbers.isEmpty() && minimums.isEmpty() && masked.isEmpty()
                && minimumTeeTcbSvn.isEmpty();
    }
}
