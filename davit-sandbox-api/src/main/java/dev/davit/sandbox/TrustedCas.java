package dev.davit.sandbox;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * CA certificates the operator adds to the trust stores of long-lived sandboxes (workspaces among them): a named PEM
 * file's, or the host's own trust store's, e.g. behind a TLS-intercepting company proxy, whose CA nothing in a
 * sandbox trusts otherwise. Off by default ({@link #NONE}); set on {@link SandboxOptions#withTrustedCas} by the
 * operator (the CLI's {@code --trust-ca}, the MCP server's, {@code DAVIT_TRUST_CA}), never by a model. Each
 * certificate is parsed and written again as PEM, so nothing else of the file (a key, text) reaches a sandbox.
 *
 * <p>At each start of a sandbox ({@code Sandboxes.start}) an exec in it appends them, each after a mark line, to the
 * trust stores it has ({@code /etc/ssl/certs/ca-certificates.crt}, {@code /etc/pki/tls/certs/ca-bundle.crt}), once
 * (the mark of the set is looked for first), or writes Debian's when it has none; a commit or a snapshot that
 * travels takes them out again, as it does the egress CA (the same mark). The exec runs as the image's user, who
 * must be able to write those files (root, as the egress CA needs).
 */
public final class TrustedCas {
    /** No certificates: nothing is added. */
    public static final TrustedCas NONE = new TrustedCas(List.of(), "");

    /** The environment variable of the operator's setting: files and/or {@value #HOST}, {@code :}-separated. */
    public static final String ENV = "DAVIT_TRUST_CA";
    /** The word of {@link #parse} for the host's own trust store. */
    public static final String HOST = "host";
    /** The host's trust stores, the first that exists (Debian's and Alpine's, Fedora's). */
    static final List<Path> HOST_STORES = List.of(Path.of("/etc/ssl/certs/ca-certificates.crt"),
            Path.of("/etc/pki/tls/certs/ca-bundle.crt"));
    /** The most bytes a CA file may have, and the most certificates all of them together. */
    static final long MAX_FILE = 4L << 20;
    static final int MAX_CERTS = 2000;
    private static final String BEGIN = "-----BEGIN CERTIFICATE-----";
    private static final String END = "-----END CERTIFICATE-----";
    /** The prefix of each certificate's mark line: the egress CA's, so a commit takes them out too. */
    static final String MARK = "# davit egress CA operator-";

    private final List<X509Certificate> certs;
    private final String source;

    private TrustedCas(List<X509Certificate> certs, String source) {
        this.certs = List.copyOf(certs);
        this.source = source;
    }

    /**
     * The certificates of {@code entries}: each a PEM file's path, or {@value #HOST} for the host's trust store.
     *
     * @param entries the files (and/or {@value #HOST}); empty for {@link #NONE}
     * @param option  how the caller names the setting, for an error (e.g. {@code --trust-ca})
     * @return the certificates, each once
     * @throws DavitException USAGE for a file that is missing, too large, or holds no certificate, and a host with
     *                        no trust store
     */
    public static TrustedCas parse(List<String> entries, String option) {
        if (entries == null || entries.isEmpty()) {
            return NONE;
        }
        LinkedHashSet<X509Certificate> all = new LinkedHashSet<>();
        List<String> from = new ArrayList<>();
        for (String e : entries) {
            Path file;
            if (HOST.equals(e)) {
                file = HOST_STORES.stream().filter(Files::isRegularFile).findFirst().orElseThrow(() ->
                        new DavitException(Kind.USAGE, option + " host: this host has no trust store (" + String.join(
                                ", ", HOST_STORES.stream().map(Path::toString).toList()) + "); name a CA file"));
            } else {
                file = Path.of(e);
            }
            all.addAll(read(file, option));
            from.add(file.toString());
            if (all.size() > MAX_CERTS) {
                throw new DavitException(Kind.USAGE, option + ": more than " + MAX_CERTS + " certificates; name"
                        + " fewer files");
            }
        }
        return new TrustedCas(new ArrayList<>(all), String.join(", ", from));
    }

    /**
     * The certificates {@value #ENV} names in {@code env} ({@link #parse}); {@link #NONE} when it is not set.
     *
     * @param env the environment (davit's own, the operator's)
     * @return the certificates
     * @throws DavitException USAGE as {@link #parse}, naming {@value #ENV}
     */
    public static TrustedCas fromEnv(java.util.Map<String, String> env) {
        String v = env == null ? null : env.get(ENV);
        if (v == null || v.isBlank()) {
            return NONE;
        }
        return parse(java.util.Arrays.stream(v.split(":")).map(String::trim).filter(x -> !x.isEmpty()).toList(), ENV);
    }

    private static List<X509Certificate> read(Path file, String option) {
        byte[] bytes;
        try {
            if (!Files.isRegularFile(file)) {
                throw new DavitException(Kind.USAGE, option + " " + file + (Files.exists(file) ? " is not a regular"
                        + " file" : " does not exist") + "; name a file of CA certificates (PEM)");
            }
            if (Files.size(file) > MAX_FILE) {
                throw new DavitException(Kind.USAGE, option + " " + file + " is larger than " + (MAX_FILE >> 20)
                        + " MiB; name a file of CA certificates (PEM)");
            }
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new DavitException(Kind.USAGE, option + " " + file + " cannot be read (" + e.getMessage()
                    + "); name a file of CA certificates (PEM)");
        }
        // only the certificate blocks: a key or text beside them is neither read nor carried
        List<X509Certificate> out = new ArrayList<>();
        String text = new String(bytes, StandardCharsets.ISO_8859_1);
        try {
            CertificateFactory f = CertificateFactory.getInstance("X.509");
            for (int at = text.indexOf(BEGIN); at >= 0; at = text.indexOf(BEGIN, at + 1)) {
                int end = text.indexOf(END, at);
                if (end < 0) {
                    throw new CertificateException("a certificate block has no end line");
                }
                byte[] der = Base64.getMimeDecoder().decode(text.substring(at + BEGIN.length(), end));
                try (InputStream in = new ByteArrayInputStream(der)) {
                    out.add((X509Certificate) f.generateCertificate(in));
                }
            }
        } catch (CertificateException | IllegalArgumentException | IOException e) {
            throw new DavitException(Kind.USAGE, option + " " + file + " holds no valid PEM certificate ("
                    + dev.davit.oci.internal.Text.shorten(e.getMessage(), 120) + "); name a file of CA certificates"
                    + " (PEM)");
        }
        if (out.isEmpty()) {
            throw new DavitException(Kind.USAGE, option + " " + file + " holds no certificate; name a file of CA"
                    + " certificates (PEM)");
        }
        return out;
    }

    /**
     * Whether there are none.
     *
     * @return true for none
     */
    public boolean isEmpty() {
        return certs.isEmpty();
    }

    /**
     * How many certificates there are.
     *
     * @return the count
     */
    public int size() {
        return certs.size();
    }

    /**
     * Where they came from, for a notice: the files' paths.
     *
     * @return the paths, comma-separated; empty for none
     */
    public String source() {
        return source;
    }

    /** The mark of this set's first certificate: what a sandbox's store holds once they are in. */
    String mark() {
        return MARK + id() + "-0";
    }

    /** A short id of the set: the first 12 hex digits of the sha256 of their DER encodings. */
    private String id() {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (X509Certificate c : certs) {
                sha.update(c.getEncoded());
            }
            return HexFormat.of().formatHex(sha.digest()).substring(0, 12);
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * What is appended, the standard input of {@link #command}: each certificate as PEM after a blank line and its
     * mark line.
     *
     * @return the bytes
     */
    public byte[] blocks() {
        StringBuilder b = new StringBuilder();
        String id = id();
        Base64.Encoder mime = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII));
        for (int i = 0; i < certs.size(); i++) {
            try {
                b.append('\n').append(MARK).append(id).append('-').append(i).append('\n')
                        .append(BEGIN).append('\n').append(mime.encodeToString(certs.get(i).getEncoded()))
                        .append('\n').append(END).append('\n');
            } catch (java.security.cert.CertificateEncodingException e) {
                throw new IllegalStateException(e);
            }
        }
        return b.toString().getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * The script that adds them in a sandbox: the blocks on its standard input, {@code $1} a prefix that runs a tool
     * (a microVM guest's {@code t}, else nothing), {@code $2} the set's mark.
     */
    static final String SCRIPT = "found=; for f in /etc/ssl/certs/ca-certificates.crt"
            + " /etc/pki/tls/certs/ca-bundle.crt; do if [ -f \"$f\" ]; then found=1; if ! $1 grep -qxF \"$2\" \"$f\";"
            + " then $1 cat >> \"$f\" || exit 1; fi; break; fi; done;"
            + " if [ -z \"$found\" ]; then $1 mkdir -p /etc/ssl/certs && $1 cat > /etc/ssl/certs/ca-certificates.crt"
            + " || exit 1; fi";

    /**
     * The exec that adds them in a running sandbox, reading {@link #blocks} on its standard input.
     *
     * @param vm whether the sandbox is a microVM (whose image may lack a tool: davit's busybox then serves)
     * @return its argv
     */
    public List<String> command(boolean vm) {
        return List.of("/bin/sh", "-c", (vm ? GUEST_TOOLS : "") + SCRIPT, "davit-trust-ca", vm ? "t" : "", mark());
    }

    /**
     * A shell function {@code t} in a microVM guest: the image's tool, else davit's static busybox's.
     */
    static final String GUEST_TOOLS = "t() { if command -v \"$1\" >/dev/null 2>&1; then \"$@\"; else"
            + " /.davit/busybox \"$@\"; fi; }; ";
}
