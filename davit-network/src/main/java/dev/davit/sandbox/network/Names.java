package dev.davit.sandbox.network;

/** The limits of a DNS name in text form. */
final class Names {
    /** The longest name in text form (RFC 1035's 255 octets on the wire, less the length bytes and the root). */
    static final int MAX_NAME = 253;
    /** The longest label. */
    static final int MAX_LABEL = 63;

    private Names() {
    }
}
