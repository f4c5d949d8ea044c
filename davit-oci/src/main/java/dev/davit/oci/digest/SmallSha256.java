package dev.davit.oci.digest;

/**
 * SHA-256 (FIPS 180-4) in plain Java, for small content: manifests, configs, indexes. The JDK's SHA-256 is reached
 * through the security provider framework, whose first use in a JVM builds the SUN provider's table of ~200
 * services (~4-6 ms of every one-shot command that hashes a manifest: a {@code run}, a warm pull; measured in
 * docs/reference/benchmarks/CLI-ISSUE13.md, issue 13 part 9). For content that small the JDK's code runs interpreted or in C1 just as this
 * does, so nothing is lost; large content goes to libcrypto or the JDK ({@link NativeHashes}). {@code SmallSha256Test}
 * compares it with the JDK's on the standard vectors and on random inputs of every length around the block edges.
 */
final class SmallSha256 extends java.security.MessageDigest implements Cloneable {
    private static final int[] K = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    };
    private static final int[] H0 = {
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    };

    private int[] h = new int[8];
    private int[] w = new int[64];
    private byte[] block = new byte[64];
    private int buffered;   // bytes waiting in block
    private long length;    // bytes hashed so far

    SmallSha256() {
        super("SHA-256");
        engineReset();
    }

    @Override
    protected void engineUpdate(byte input) {
        block[buffered++] = input;
        length++;
        if (buffered == 64) {
            compress(block, 0);
            buffered = 0;
        }
    }

    @Override
    protected void engineUpdate(byte[] input, int offset, int len) {
        java.util.Objects.checkFromIndexSize(offset, len, input.length);
        length += len;
        if (buffered > 0) {
            int n = Math.min(len, 64 - buffered);
            System.arraycopy(input, offset, block, buffered, n);
            buffered += n;
            offset += n;
            len -= n;
            if (buffered < 64) {
                return;
            }
            compress(block, 0);
            buffered = 0;
        }
        while (len >= 64) {
            compress(input, offset);
            offset += 64;
            len -= 64;
        }
        System.arraycopy(input, offset, block, 0, len);
        buffered = len;
    }

    @Override
    protected byte[] engineDigest() {
        long bits = length << 3;
        block[buffered++] = (byte) 0x80;
        if (buffered > 56) {
            java.util.Arrays.fill(block, buffered, 64, (byte) 0);
            compress(block, 0);
            buffered = 0;
        }
        java.util.Arrays.fill(block, buffered, 56, (byte) 0);
        for (int i = 0; i < 8; i++) {
            block[56 + i] = (byte) (bits >>> (56 - 8 * i));
        }
        compress(block, 0);
        byte[] out = new byte[32];
        for (int i = 0; i < 8; i++) {
            out[4 * i] = (byte) (h[i] >>> 24);
            out[4 * i + 1] = (byte) (h[i] >>> 16);
            out[4 * i + 2] = (byte) (h[i] >>> 8);
            out[4 * i + 3] = (byte) h[i];
        }
        engineReset();
        return out;
    }

    @Override
    protected int engineGetDigestLength() {
        return 32;
    }

    @Override
    protected void engineReset() {
        System.arraycopy(H0, 0, h, 0, 8);
        buffered = 0;
        length = 0;
    }

    private void compress(byte[] b, int off) {
        int[] w = this.w;
        for (int t = 0; t < 16; t++, off += 4) {
            w[t] = (b[off] << 24) | ((b[off + 1] & 0xff) << 16) | ((b[off + 2] & 0xff) << 8) | (b[off + 3] & 0xff);
        }
        for (int t = 16; t < 64; t++) {
            int x = w[t - 15];
            int y = w[t - 2];
            int s0 = Integer.rotateRight(x, 7) ^ Integer.rotateRight(x, 18) ^ (x >>> 3);
            int s1 = Integer.rotateRight(y, 17) ^ Integer.rotateRight(y, 19) ^ (y >>> 10);
            w[t] = w[t - 16] + s0 + w[t - 7] + s1;
        }
        int a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
        for (int t = 0; t < 64; t++) {
            int s1 = Integer.rotateRight(e, 6) ^ Integer.rotateRight(e, 11) ^ Integer.rotateRight(e, 25);
            int ch = (e & f) ^ (~e & g);
            int t1 = hh + s1 + ch + K[t] + w[t];
            int s0 = Integer.rotateRight(a, 2) ^ Integer.rotateRight(a, 13) ^ Integer.rotateRight(a, 22);
            int maj = (a & bb) ^ (a & c) ^ (bb & c);
            int t2 = s0 + maj;
            hh = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = bb;
            bb = a;
            a = t1 + t2;
        }
        h[0] += a;
        h[1] += bb;
        h[2] += c;
        h[3] += d;
        h[4] += e;
        h[5] += f;
        h[6] += g;
        h[7] += hh;
    }

    @Override
    public Object clone() throws CloneNotSupportedException {
        SmallSha256 copy = (SmallSha256) super.clone();
        copy.h = h.clone();
        copy.w = new int[64];
        copy.block = block.clone();
        return copy;
    }
}
