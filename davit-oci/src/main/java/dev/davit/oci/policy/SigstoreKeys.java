package dev.davit.oci.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;
import org.bouncycastle.crypto.engines.XSalsa20Engine;
import org.bouncycastle.crypto.generators.SCrypt;
import org.bouncycastle.crypto.macs.Poly1305;
import org.bouncycastle.crypto.params.KeyParameter;
import org.bouncycastle.crypto.params.ParametersWithIV;

/**
 * Sigstore (cosign) keys in the files cosign and skopeo read and write: a public key as a PEM {@code PUBLIC KEY}
 * (X.509 SubjectPublicKeyInfo), a private key as a PEM {@code ENCRYPTED SIGSTORE PRIVATE KEY} (or cosign's older
 * {@code ENCRYPTED COSIGN PRIVATE KEY}): a JSON document whose key, PKCS#8, is sealed with NaCl's secretbox
 * (XSalsa20-Poly1305) under a key scrypt derives from the passphrase. The primitives are Bouncy Castle's and the
 * JDK's; only the file format is written here.
 */
public final class SigstoreKeys {
    private static final String PRIVATE = "ENCRYPTED SIGSTORE PRIVATE KEY";
    private static final String COSIGN_PRIVATE = "ENCRYPTED COSIGN PRIVATE KEY";
    private static final String PUBLIC = "PUBLIC KEY";
    /** scrypt's cost as cosign sets it: N = 2^15, r = 8, p = 1. */
    private static final int SCRYPT_N = 1 << 15;
    private static final int SCRYPT_R = 8;
    private static final int SCRYPT_P = 1;
    /** The most scrypt memory a key file may ask for (N * r * 128 bytes): 256 MiB. */
    private static final long MAX_SCRYPT_BYTES = 256L << 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    private SigstoreKeys() {
    }

    /**
     * A new ECDSA P-256 key pair, as {@code cosign generate-key-pair} makes.
     *
     * @return the pair
     */
    public static KeyPair generate() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK has no P-256", e);
        }
    }

    /**
     * {@code key} as a PEM {@code PUBLIC KEY}.
     *
     * @param key the public key
     * @return the PEM text
     */
    public static String publicPem(PublicKey key) {
        return pem(PUBLIC, key.getEncoded());
    }

    /**
     * The public key of a PEM {@code PUBLIC KEY} (EC or RSA; Ed25519 too).
     *
     * @param pem    the file's bytes
     * @param source what to call it in errors
     * @return the key
     * @throws DavitException USAGE when it is not one
     */
    public static PublicKey readPublic(byte[] pem, String source) {
        byte[] der = unpem(new String(pem, StandardCharsets.US_ASCII), PUBLIC, source);
        for (String alg : new String[] {"EC", "RSA", "Ed25519"}) {
            try {
                return KeyFactory.getInstance(alg).generatePublic(new X509EncodedKeySpec(der));
            } catch (GeneralSecurityException e) {
                // the next kind
            }
        }
        throw new DavitException(Kind.USAGE, source + " is not an EC, RSA or Ed25519 public key");
    }

    /**
     * {@code key} sealed under {@code passphrase} as a PEM {@code ENCRYPTED SIGSTORE PRIVATE KEY}, as cosign and
     * skopeo write it (and read it: {@code skopeo copy --sign-by-sigstore-private-key}).
     *
     * @param key        the private key
     * @param passphrase the passphrase (may be empty)
     * @return the PEM text
     */
    public static String encryptPrivate(PrivateKey key, char[] passphrase) {
        SecureRandom random = new SecureRandom();
        byte[] salt = new byte[32];
        byte[] nonce = new byte[24];
        random.nextBytes(salt);
        random.nextBytes(nonce);
        byte[] box = key(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P);
        byte[] sealed;
        try {
            sealed = seal(box, nonce, key.getEncoded());
        } finally {
            Arrays.fill(box, (byte) 0);
        }
        ObjectNode doc = JSON.createObjectNode();
        ObjectNode kdf = doc.putObject("kdf");
        kdf.put("name", "scrypt");
        ObjectNode params = kdf.putObject("params");
        params.put("N", SCRYPT_N);
        params.put("r", SCRYPT_R);
        params.put("p", SCRYPT_P);
        kdf.put("salt", Base64.getEncoder().encodeToString(salt));
        ObjectNode cipher = doc.putObject("cipher");
        cipher.put("name", "nacl/secretbox");
        cipher.put("nonce", Base64.getEncoder().encodeToString(nonce));
        doc.put("ciphertext", Base64.getEncoder().encodeToString(sealed));
        return pem(PRIVATE, doc.toString().getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The private key of an encrypted sigstore (or cosign) private key file.
     *
     * @param pem        the file's bytes
     * @param passphrase its passphrase
     * @param source     what to call it in errors (never its content)
     * @return the key
     * @throws DavitException USAGE when it is not such a file, asks for more scrypt memory than 256 MiB, or the
     *                        passphrase does not open it
     */
    public static PrivateKey decryptPrivate(byte[] pem, char[] passphrase, String source) {
        String text = new String(pem, StandardCharsets.US_ASCII);
        byte[] json = text.contains("BEGIN " + COSIGN_PRIVATE) ? unpem(text, COSIGN_PRIVATE, source)
                : unpem(text, PRIVATE, source);
        JsonNode doc;
        try {
            doc = JSON.readTree(json);
        } catch (IOException e) {
            throw new DavitException(Kind.USAGE, source + " is not an encrypted sigstore private key");
        }
        JsonNode p = doc.path("kdf").path("params");
        if (!"scrypt".equals(doc.path("kdf").path("name").asText()) || !"nacl/secretbox".equals(
                doc.path("cipher").path("name").asText()) || !p.path("N").canConvertToLong()) {
            throw new DavitException(Kind.USAGE, source + " is not sealed with scrypt and nacl/secretbox");
        }
        long n = p.path("N").asLong();
        int r = p.path("r").asInt();
        int par = p.path("p").asInt();
        if (n < 2 || (n & (n - 1)) != 0 || r < 1 || par < 1 || par > 16 || n * r * 128 > MAX_SCRYPT_BYTES) {
            throw new DavitException(Kind.USAGE, source + " asks for scrypt parameters davit does not use (N a power"
                    + " of two, at most 256 MiB of memory)");
        }
        byte[] salt;
        byte[] nonce;
        byte[] sealed;
        try {
            salt = Base64.getDecoder().decode(doc.path("kdf").path("salt").asText());
            nonce = Base64.getDecoder().decode(doc.path("cipher").path("nonce").asText());
            sealed = Base64.getDecoder().decode(doc.path("ciphertext").asText());
        } catch (IllegalArgumentException e) {
            throw new DavitException(Kind.USAGE, source + " has a field that is not base64");
        }
        if (nonce.length != 24 || sealed.length < 16) {
            throw new DavitException(Kind.USAGE, source + " is not an encrypted sigstore private key");
        }
        byte[] box = key(passphrase, salt, (int) n, r, par);
        byte[] der;
        try {
            der = open(box, nonce, sealed);
        } finally {
            Arrays.fill(box, (byte) 0);
        }
        if (der == null) {
            throw new DavitException(Kind.USAGE, "the passphrase does not open " + source);
        }
        try {
            for (String alg : new String[] {"EC", "RSA", "Ed25519"}) {
                try {
                    return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der));
                } catch (GeneralSecurityException e) {
                    // the next kind
                }
            }
        } finally {
            Arrays.fill(der, (byte) 0);
        }
        throw new DavitException(Kind.USAGE, source + " holds no EC, RSA or Ed25519 private key");
    }

    private static byte[] key(char[] passphrase, byte[] salt, int n, int r, int p) {
        ByteBuffer b = StandardCharsets.UTF_8.encode(CharBuffer.wrap(passphrase));
        byte[] pass = new byte[b.remaining()];
        b.get(pass);
        try {
            return SCrypt.generate(pass, salt, n, r, p, 32);
        } finally {
            Arrays.fill(pass, (byte) 0);
        }
    }

    /** NaCl's crypto_secretbox: the Poly1305 tag, then the message XORed with XSalsa20's stream from byte 32. */
    private static byte[] seal(byte[] key, byte[] nonce, byte[] message) {
        XSalsa20Engine x = new XSalsa20Engine();
        x.init(true, new ParametersWithIV(new KeyParameter(key), nonce));
        byte[] stream = new byte[32 + message.length];
        System.arraycopy(message, 0, stream, 32, message.length);
        x.processBytes(stream, 0, stream.length, stream, 0);
        byte[] out = new byte[16 + message.length];
        System.arraycopy(stream, 32, out, 16, message.length);
        Poly1305 mac = new Poly1305();
        mac.init(new KeyParameter(Arrays.copyOf(stream, 32)));
        mac.update(out, 16, message.length);
        mac.doFinal(out, 0);
        Arrays.fill(stream, (byte) 0);
        return out;
    }

    /** crypto_secretbox_open: the message, or null when the tag does not match. */
    private static byte[] open(byte[] key, byte[] nonce, byte[] sealed) {
        XSalsa20Engine x = new XSalsa20Engine();
        x.init(false, new ParametersWithIV(new KeyParameter(key), nonce));
        byte[] first = new byte[32];
        x.processBytes(first, 0, 32, first, 0);
        Poly1305 mac = new Poly1305();
        mac.init(new KeyParameter(first));
        mac.update(sealed, 16, sealed.length - 16);
        byte[] tag = new byte[16];
        mac.doFinal(tag, 0);
        if (!MessageDigest.isEqual(tag, Arrays.copyOf(sealed, 16))) {
            return null;
        }
        byte[] out = new byte[sealed.length - 16];
        x.processBytes(sealed, 16, out.length, out, 0);
        return out;
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    private static byte[] unpem(String text, String type, String source) {
        int begin = text.indexOf("-----BEGIN " + type + "-----");
        int end = text.indexOf("-----END " + type + "-----");
        if (begin < 0 || end < begin) {
            throw new DavitException(Kind.USAGE, source + " is not a PEM " + type);
        }
        String body = text.substring(begin + type.length() + 16, end).replaceAll("\\s", "");
        try {
            return Base64.getDecoder().decode(body);
        } catch (IllegalArgumentException e) {
            throw new DavitException(Kind.USAGE, source + " is not a PEM " + type + " (its base64 is broken)");
        }
    }
}
