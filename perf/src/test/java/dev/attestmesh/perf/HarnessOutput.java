package dev.attestmesh.perf;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** Runs a harness's {@code main} in the test's JVM and returns what it printed. */
final class HarnessOutput {
    interface Main {
        void run(String[] args) throws Exception;
    }

    private HarnessOutput() {}

    static String of(Main main, String... args) throws Exception {
        PrintStream out = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            main.run(args);
        } finally {
            System.setOut(out);
        }
        return captured.toString(StandardCharsets.UTF_8);
    }
}
