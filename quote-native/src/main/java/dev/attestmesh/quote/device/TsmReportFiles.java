package dev.attestmesh.quote.device;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The file operations {@link ConfigfsTsmCollector} performs on configfs. In production they are plain
 * file system calls, and the kernel gives them their meaning (mkdir creates a report entry with its
 * attributes, reading {@code outblob} generates evidence). Tests substitute an emulation of that
 * behaviour over a temporary directory.
 */
interface TsmReportFiles {
    void createDirectory(Path dir) throws IOException;

    void write(Path file, byte[] data) throws IOException;

    byte[] read(Path file) throws IOException;

    void deleteDirectory(Path dir) throws IOException;

    /** Direct file system calls, as the kernel's configfs expects them. */
    static TsmReportFiles system() {
        return new TsmReportFiles() {
            @Override
            public void createDirectory(Path dir) throws IOException {
                Files.createDirectory(dir);
            }

            @Override
            public void write(Path file, byte[] data) throws IOException {
                // No CREATE or TRUNCATE: configfs attributes exist already and take one write each.
                Files.write(file, data, StandardOpenOption.WRITE);
            }

            @Override
            public byte[] read(Path file) throws IOException {
                return Files.readAllBytes(file);
            }

            @Override
            public void deleteDirectory(Path dir) throws IOException {
                // configfs removes an entry's attributes itself on rmdir.
                Files.delete(dir);
            }
        };
    }
}
