package dev.attestmesh.policy;

/**
 * One rule of one policy checked against evidence.
 *
 * @param rule rule name: {@code tee}, {@code insecure}, {@code tcbStatus}, {@code advisoryIds},
 *     {@code debug}, {@code reference.<claim>}, {@code minimum.<claim>}, {@code masked.<claim>},
 *     {@code evidenceAge}
 * @param passed whether the evidence satisfied it
 * @param observed what the evidence showed
 * @param expected what the policy requires
 */
public record RuleResult(String rule, boolean passed, String observed, String expected) {}
