package dev.davit.mcp;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * The HTTP door's certificate and key ({@code --tls-cert}, {@code --tls-key}): PEM files as a Kubernetes TLS Secret
 * or cert-manager gives them (the chain, leaf first; the key in PKCS#1, SEC1 or PKCS#8, unencrypted). Read at start,
 * where a bad file is the operator's one-line error, and again whenever either file changes (a renewed Secret is a new
 * file behind the same path): new connections get the new certificate, a bad renewal is logged and the old one kept.
 */
final class TlsFiles {
    /** How often the files are looked at for a renewal. */
    static final long CHECK_SECONDS = 30;
    private static final char[] NO_PASSWORD = new char[0];

    private final Path cert;
    private final Path key;

    TlsFiles(Path cert, Path key) {
        this.cert = cert;
        this.key = key;
    }

    /** The key store of the files as they are now; a one-line usage error naming the file and the fix otherwise. */
    KeyStore read() {
        List<Certificate> chain = chain();
        PrivateKey privateKey = privateKey();
        try {
            proveMatch(privateKey, (X509Certificate) chain.getFirst());
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("davit", privateKey, NO_PASSWORD, chain.toArray(new Certificate[0]));
            return ks;
        } catch (GeneralSecurityException | IOException | IllegalArgumentException e) {
            throw new DavitException(Kind.USAGE, "the key in --tls-key " + key + " is not the key of the certificate"
                    + " in --tls-cert " + cert + " (" + e.getMessage() + "); give the key the certificate was made for");
        }
    }

    /** Signs with the key and verifies with the certificate's public key: they are one pair, or this throws. */
    private static void proveMatch(PrivateKey privateKey, X509Certificate leaf) throws GeneralSecurityException {
        String alg = switch (privateKey.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC", "ECDSA" -> "SHA256withECDSA";
            case "Ed25519", "EdDSA" -> "Ed25519";
            default -> throw new GeneralSecurityException("a " + privateKey.getAlgorithm() + " key is not served");
        };
        byte[] probe = "davit tls key check".getBytes(StandardCharsets.US_ASCII);
        java.security.Signature sign = java.security.Signature.getInstance(alg);
        sign.initSign(privateKey);
        sign.update(probe);
        byte[] signature = sign.sign();
        java.security.Signature verify = java.security.Signature.getInstance(alg);
        verify.initVerify(leaf.getPublicKey());
        verify.update(probe);
        if (!verify.verify(signature)) {
            throw new GeneralSecurityException("they are not one pair");
        }
    }

    private List<Certificate> chain() {
        List<Certificate> chain = new ArrayList<>();
        try (var in = Files.newInputStream(cert)) {
            chain.addAll(CertificateFactory.getInstance("X.509").generateCertificates(in));
        } catch (IOException e) {
            throw new DavitException(Kind.USAGE, "cannot read --tls-cert " + cert + ": " + reason(e));
        } catch (GeneralSecurityException e) {
            chain.clear();
        }
        if (chain.isEmpty() || !(chain.getFirst() instanceof X509Certificate)) {
            throw new DavitException(Kind.USAGE, "--tls-cert " + cert + " holds no PEM certificate; give the"
                    + " server's certificate chain, leaf first (a TLS Secret's tls.crt)");
        }
        return chain;
    }

    private PrivateKey privateKey() {
        Object pem;
        try (Reader r = Files.newBufferedReader(key, StandardCharsets.US_ASCII); PEMParser p = new PEMParser(r)) {
            pem = p.readObject();
        } catch (IOException | RuntimeException e) {
            if (e instanceof java.nio.file.NoSuchFileException || e instanceof java.nio.file.AccessDeniedException) {
                throw new DavitException(Kind.USAGE, "cannot read --tls-key " + key + ": " + reason(e));
            }
            pem = null;
        }
        try {
            JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
            if (pem instanceof PEMKeyPair pair) {
                return converter.getPrivateKey(pair.getPrivateKeyInfo());
            }
            if (pem instanceof PrivateKeyInfo info) {
                return converter.getPrivateKey(info);
            }
        } catch (IOException | RuntimeException e) {
            // said below
        }
        throw new DavitException(Kind.USAGE, "--tls-key " + key + " holds no unencrypted PEM private key; give the"
                + " certificate's key (a TLS Secret's tls.key: PKCS#1, SEC1 or PKCS#8)");
    }

    /** Jetty's TLS of the files, checked now and reloaded when they change (on a thread of the returned watcher). */
    SslContextFactory.Server server() {
        SslContextFactory.Server ssl = new SslContextFactory.Server();
        ssl.setKeyStore(read());
        ssl.setKeyStorePassword("");
        ssl.setKeyManagerPassword("");
        ssl.setIncludeProtocols("TLSv1.3", "TLSv1.2");
        return ssl;
    }

    /** What the files are now: their paths' targets' sizes and times (a Secret's renewal swaps a link). */
    String stamp() {
        StringBuilder sb = new StringBuilder();
        for (Path p : List.of(cert, key)) {
            try {
                Path real = p.toRealPath();
                sb.append(real).append(' ').append(Files.size(real)).append(' ')
                        .append(Files.getLastModifiedTime(real).toMillis()).append(';');
            } catch (IOException e) {
                sb.append(p).append(" missing;");
            }
        }
        return sb.toString();
    }

    /**
     * Reloads {@code ssl} whenever the files change, looked at every {@link #CHECK_SECONDS} s on a daemon thread
     * until the process ends; {@code log} says what was reloaded or why a renewal was refused.
     */
    void watch(SslContextFactory.Server ssl, java.util.function.Consumer<String> log) {
        String[] seen = {stamp()};
        Thread.ofPlatform().daemon().name("davit-mcp-tls").start(() -> {
            while (true) {
                try {
                    TimeUnit.SECONDS.sleep(CHECK_SECONDS);
                } catch (InterruptedException e) {
                    return;
                }
                seen[0] = reloadIfChanged(ssl, seen[0], log);
            }
        });
    }

    /** One look of {@link #watch}: reloads {@code ssl} if the files are no longer {@code seen}; their stamp now. */
    String reloadIfChanged(SslContextFactory.Server ssl, String seen, java.util.function.Consumer<String> log) {
        String now = stamp();
        if (!now.equals(seen)) {
            try {
                KeyStore ks = read();
                ssl.reload(f -> f.setKeyStore(ks));
                log.accept("the HTTP door's certificate was reloaded from " + cert);
            } catch (Exception e) {
                log.accept("the renewed certificate was refused, the old one kept: " + e.getMessage());
            }
        }
        return now;
    }

    private static String reason(Exception e) {
        return e instanceof java.nio.file.NoSuchFileException ? "no such file"
                : e instanceof java.nio.file.AccessDeniedException ? "permission denied" : String.valueOf(e.getMessage());
    }
}
