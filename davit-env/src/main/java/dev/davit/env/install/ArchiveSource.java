package dev.davit.env.install;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Set;

/**
 * Archive sources: a {@code file://} or {@code http(s)://} URL of a tar (optionally gzip-compressed) holding the
 * artifacts at its top level ({@code vmlinux}, {@code rootfs.ext4}, ... or {@code rootfs/...}). Only regular
 * files and directories with plain relative names are accepted; links, devices, absolute names and {@code ..}
 * are refused before anything escapes the install directory. Entries outside the environment's artifacts are
 * ignored.
 */
final class ArchiveSource {
    private ArchiveSource() {
    }

    static void fetch(String url, Path to) {
        URI uri;
        try {
            uri = URI.create(url);
        } catch (IllegalArgumentException ex) {
            throw new DavitException(Kind.USAGE, "archive URL '" + url + "' is malformed; use file:// or https://");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(java.util.Locale.ROOT);
        try {
            switch (scheme) {
                case "file" -> {
                    Path p = Path.of(uri);
                    if (!Files.isRegularFile(p)) {
                        throw new DavitException(Kind.NOT_FOUND, "archive " + url + " does not exist; fix the"
                                + " environment's archive URL");
                    }
                    Files.copy(p, to, StandardCopyOption.REPLACE_EXISTING);
                }
                case "http", "https" -> {
                    try (HttpClient http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NORMAL)
                            .connectTimeout(Duration.ofSeconds(30)).build()) {
                        HttpResponse<Path> r = http.send(HttpRequest.newBuilder(uri).GET().build(),
                                HttpResponse.BodyHandlers.ofFile(to));
                        if (r.statusCode() != 200) {
                            throw new DavitException(r.statusCode() == 404 ? Kind.NOT_FOUND : Kind.NETWORK,
                                    "archive " + url + " answered HTTP " + r.statusCode()
                                            + "; check the environment's archive URL");
                        }
                    }
                }
                default -> throw new DavitException(Kind.USAGE, "archive URL '" + url
                        + "' has an unsupported scheme; use file://, http:// or https://");
            }
        } catch (IOException ex) {
            throw new DavitException(Kind.NETWORK, "cannot fetch archive " + url + ": " + ex.getMessage()
                    + "; check the URL and the network");
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new DavitException(Kind.CANCELLED, "interrupted while fetching archive " + url);
        }
    }

    /** Extracts the entries under the top-level names {@code wanted} into {@code dir}. */
    static void extract(Path archive, Path dir, Set<String> wanted, String url) {
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(archive))) {
            raw.mark(2);
            int b1 = raw.read();
            int b2 = raw.read();
            raw.reset();
            InputStream in = b1 == 0x1f && b2 == 0x8b ? new GzipCompressorInputStream(raw, true) : raw;
            try (TarArchiveInputStream tar = new TarArchiveInputStream(in)) {
                TarArchiveEntry entry;
                while ((entry = tar.getNextEntry()) != null) {
                    String name = safeName(entry.getName(), url);
                    if (name == null) {
                        continue;
                    }
                    int slash = name.indexOf('/');
                    String top = slash < 0 ? name : name.substring(0, slash);
                    if (!wanted.contains(top)) {
                        continue;
                    }
                    Path target = dir.resolve(name);
                    if (entry.isDirectory()) {
                        Files.createDirectories(target);
                    } else if (entry.isFile() && !entry.isLink() && !entry.isSymbolicLink()) {
                        Files.createDirectories(target.getParent());
                        if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
                            throw unsafe(url, entry.getName(), "appears twice");
                        }
                        Files.copy(tar, target);
                    } else {
                        throw unsafe(url, entry.getName(), "is a link or special file");
                    }
                }
            }
        } catch (IOException ex) {
            throw new DavitException(Kind.VERIFICATION, "archive " + url + " is not a readable tar or tar.gz: "
                    + ex.getMessage() + "; fix the archive");
        }
    }

    /** The normalised relative name, null for the root entry; refuses absolute names and '..'. */
    private static String safeName(String raw, String url) {
        String n = raw;
        while (n.startsWith("./")) {
            n = n.substring(2);
        }
        if (n.endsWith("/")) {
            n = n.substring(0, n.length() - 1);
        }
        if (n.isEmpty() || n.equals(".")) {
            return null;
        }
        if (n.startsWith("/") || n.contains("\\") || n.indexOf('\0') >= 0) {
            throw unsafe(url, raw, "is not a plain relative name");
        }
        for (String part : n.split("/", -1)) {
            if (part.isEmpty() || part.equals(".") || part.equals("..")) {
                throw unsafe(url, raw, "is not a plain relative name");
            }
        }
        return n;
    }

    private static DavitException unsafe(String url, String entry, String why) {
        return new DavitException(Kind.VERIFICATION, "archive " + url + " entry '"
                + dev.davit.oci.internal.Text.shorten(entry, 80) + "' " + why + "; refusing to extract it");
    }
}
